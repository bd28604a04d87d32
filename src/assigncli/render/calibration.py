"""What `assign effort fit` shows: fitted figures, their intervals and evidence, the held-out
error of the current and the fitted figures, and whether the fit beats them.

Two forms: the terminal (rich) and an analyst's report, one self-contained HTML file (no script,
no external resource: it opens offline). Rule names and file names come from the config and the
inputs: they are escaped before rich or the HTML sees them.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

if TYPE_CHECKING:
    from assigncli.analysis.calibrate import Calibration, Figure

__all__ = ["calibration_html", "render_calibration"]

_SYMBOL = {"hours": "h", "default_hours": "h", "multiply": "×", "add": "+"}
_VERDICT_STYLE = {
    "changed": "bold",
    "borderline": "cyan",
    "n.s.": "",
    "at bound": "yellow",
    "not fitted": "yellow",
}
_ESTIMATOR_NAMES = {
    "gamma": "fitted, gamma (Gamma quasi-likelihood)",
    "nnls": "fitted, nnls (non-negative least squares)",
}


def _where(f: Figure) -> str:
    return "default" if f.kind == "default_hours" else f"{f.section[7:]} #{f.index} {f.rule}"


def _cells(f: Figure) -> tuple[str, str]:
    """The fitted value and interval as shown: a figure kept at its current value has none."""
    if f.status == "fitted":
        interval = "—" if math.isnan(f.low) else f"{f.low:.3g}–{f.high:.3g}"
        return f"{f.fitted:.4g}", interval
    if f.status == "at_bound":
        return f"{f.current:g} (kept)", f"fit → {f.estimate:.3g}"
    return "—", "—"


def _verdict_line(result: Calibration) -> str:
    from assigncli.analysis.calibrate import comparison_text

    return comparison_text(result.comparison)


def _notes(result: Calibration) -> list[str]:
    q = 1.0 - result.level
    return [
        "(h) hours, (×) multiply, (+) add. changed: the current figure lies outside the interval "
        f"and that survives a false-discovery-rate control at {q:.0%} over the figures tested; "
        "borderline: outside the interval, but among this many figures chance alone would put "
        "one there; n.s.: inside the interval; at bound: the fit went to the edge of the "
        "figure's range (0) without evidence to rule out the current value, which it keeps.",
        f"intervals: {result.level:.0%}, Wald (log scale for hours and multipliers), standard "
        f"errors the larger of model-based and cluster-robust (jackknife by {result.clusters}, "
        f"{result.n_clusters:,} clusters); hours are {result.hours_basis} hours of the rule's "
        "cases.",
    ]


def render_calibration(
    result: Calibration,
    out: Path | None,
    console: Console,
    *,
    refused: bool = False,
    report: Path | None = None,
) -> None:
    """The fitted figures beside the current ones, the held-out error, and how to read them."""
    level = f"{result.level:.0%} CI"
    table = Table(
        title=f"Effort figures fitted from {escape(str(result.log_file))} ({result.shape.replace('_', '-')} "
        f"log: {result.entries:,} entries, {result.cases:,} cases, {result.periods} period(s))",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("figure", "current", "fitted", level, "cases", "hours", "verdict"):
        left = column in ("figure", "verdict")
        table.add_column(
            column, justify="left" if left else "right", no_wrap=not left, overflow="fold"
        )
    for f in result.figures:
        fitted, interval = _cells(f)
        style = _VERDICT_STYLE[f.verdict]
        verdict = f"[{style}]{f.verdict}[/{style}]" if style else f.verdict
        table.add_row(
            f"{escape(_where(f))} ({_SYMBOL[f.kind]})",
            f"{f.current:g}",
            escape(fitted),
            interval,
            f"{f.cases:,}",
            f"{f.hours:,.0f}",
            verdict,
        )
    console.print(table)
    if result.held_out:
        errors = Table(
            title=f"Held-out error ({result.folds}-fold, grouped by {result.clusters})",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for column in ("figures", "MAE (h)", "MAPE"):
            errors.add_column(column, justify="left" if column == "figures" else "right")
        for key, scores in result.held_out.items():
            name = (
                f"current ({escape(result.original.source)})"
                if key == "current"
                else _ESTIMATOR_NAMES[key]
            )
            mark = " [green]← used[/green]" if key == result.estimator else ""
            errors.add_row(name + mark, f"{scores.mae:.4g}", f"{scores.mape:.1%}")
        console.print(errors)
    verdict = escape(_verdict_line(result))
    if result.comparison.better:
        console.print(f"[green]{verdict}[/green]", highlight=False)
    elif refused:
        console.print(
            Panel(
                f"[bold]{verdict}.[/bold]\nThe fitted model is not written: the current figures "
                "predict held-out hours at least as well. --force writes it anyway.",
                title="[bold red]not better than the current figures[/bold red]",
                border_style="red",
            ),
            highlight=False,
        )
    else:
        console.print(f"[bold red]{verdict}; written anyway (--force)[/bold red]", highlight=False)
    for note in _notes(result):
        console.print(escape(note), highlight=False)
    if out:
        console.print(escape(f"fitted model written to {out}"), highlight=False)
    elif not refused:
        console.print("use --out fitted.toml to write the fitted model", highlight=False)
    if report:
        console.print(escape(f"report written to {report}"), highlight=False)


# --------------------------------------------------------------------------------------------
# The analyst's report (HTML)
# --------------------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
.meta { color: #555; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f3f3f3; }
td.text, th.text { text-align: left; }
.verdict { font-weight: 600; }
.v-changed { color: #a40000; }
.v-borderline { color: #005f87; }
.v-at-bound, .v-not-fitted { color: #8a6d00; }
.banner { padding: 0.8em 1em; border-radius: 4px; margin: 1em 0; }
.better { background: #e7f5e7; border: 1px solid #3c8d3c; }
.refused { background: #fbe9e9; border: 2px solid #a40000; }
.forced { background: #fff4e0; border: 2px solid #c77700; }
.bar { position: relative; width: 16em; height: 1em; background: #f7f7f7; }
.bar span { position: absolute; top: 0.2em; height: 0.6em; background: #7aa6d6; }
.bar i { position: absolute; top: 0; width: 2px; height: 1em; background: #a40000; }
.bar b { position: absolute; top: 0.05em; width: 0.5em; height: 0.9em; margin-left: -0.25em;
         background: #1f4e8c; border-radius: 50%; }
.note { color: #555; font-size: 0.92em; }
ul.notes li { margin: 0.3em 0; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _bar(f: Figure) -> str:
    """Interval (blue), estimate (dot) and current figure (red line) on one scale per row."""
    if f.status != "fitted" or not math.isfinite(f.low) or not math.isfinite(f.high):
        return ""
    top = max(f.high, f.current, f.fitted) * 1.1 or 1.0
    bottom = min(0.0, f.low, f.current)

    def pct(value: float) -> float:
        return 100.0 * (value - bottom) / (top - bottom)

    return (
        '<div class="bar" role="img" aria-label="interval and current figure">'
        f'<span style="left:{pct(f.low):.1f}%;width:{max(pct(f.high) - pct(f.low), 0.5):.1f}%">'
        f'</span><b style="left:{pct(f.fitted):.1f}%"></b>'
        f'<i style="left:{pct(f.current):.1f}%"></i></div>'
    )


def calibration_html(result: Calibration, out: Path | None) -> str:
    """The analyst's report: one HTML page with everything the terminal shows, and the notes
    behind each figure. Nothing loads from elsewhere: it opens offline."""
    comparison = result.comparison
    if comparison.better:
        banner = ("better", "The fitted model beats the current figures on held-out data.")
    elif out is not None:
        banner = (
            "forced",
            "The fitted model does NOT beat the current figures; written with --force.",
        )
    else:
        banner = ("refused", "The fitted model does NOT beat the current figures: not written.")
    rows = []
    for f in result.figures:
        fitted, interval = _cells(f)
        verdict_class = "v-" + f.verdict.replace(" ", "-").replace(".", "")
        se = f"{f.se:.3g}" if math.isfinite(f.se) else "—"
        p = f"{f.adjusted_p:.3g}" if math.isfinite(f.adjusted_p) else "—"
        rows.append(
            "<tr>"
            f'<td class="text">{_e(_where(f))} ({_e(_SYMBOL[f.kind])})</td>'
            f"<td>{f.current:g}</td><td>{_e(fitted)}</td><td>{_e(interval)}</td>"
            f"<td>{se}</td><td>{p}</td><td>{f.cases:,}</td><td>{f.hours:,.1f}</td>"
            f'<td class="text">{_bar(f)}</td>'
            f'<td class="text verdict {verdict_class}">{_e(f.verdict)}</td>'
            f'<td class="text note">{_e(f.note)}</td>'
            "</tr>"
        )
    held = []
    for key, scores in result.held_out.items():
        name = f"current ({result.original.source})" if key == "current" else _ESTIMATOR_NAMES[key]
        used = " ← used" if key == result.estimator else ""
        held.append(
            f'<tr><td class="text">{_e(name + used)}</td><td>{scores.mae:.4g}</td>'
            f"<td>{scores.mape:.1%}</td></tr>"
        )
    folds = "".join(
        f"<tr><td>{i}</td><td>{c:.4g}</td><td>{fit:.4g}</td><td>{c - fit:+.4g}</td></tr>"
        for i, (c, fit) in enumerate(
            zip(comparison.current_mae, comparison.fitted_mae, strict=True), start=1
        )
    )
    warnings = "".join(f"<li>{_e(w)}</li>" for w in result.warnings)
    notes = "".join(f"<li>{_e(n)}</li>" for n in _notes(result))
    shape = result.shape.replace("_", "-")
    written = f"fitted model written to {out}" if out else "no fitted model written"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Effort model calibration — {_e(result.log_file)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Effort model calibration</h1>
<p class="meta">{_e(result.log_file)}: {shape} log, {result.entries:,} entries, {result.cases:,}
cases, {result.periods} period(s); model from {_e(result.original.source)};
{result.estimator} estimator; {_e(written)}.</p>
<div class="banner {banner[0]}" id="verdict"><strong>{_e(banner[1])}</strong><br>
{_e(_verdict_line(result))}.</div>
<h2>Figures</h2>
<table id="figures"><thead><tr><th class="text">figure</th><th>current</th><th>fitted</th>
<th>{result.level:.0%} CI</th><th>se</th><th>FDR p</th><th>cases</th>
<th>{_e(result.hours_basis)} hours</th><th class="text">interval ▬, estimate ●, current ❘</th>
<th class="text">verdict</th><th class="text">evidence and notes</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2>Held-out error ({result.folds}-fold, grouped by {_e(result.clusters)})</h2>
<table id="held-out"><thead><tr><th class="text">figures</th><th>MAE (h)</th><th>MAPE</th></tr>
</thead><tbody>{"".join(held)}</tbody></table>
<table id="folds"><thead><tr><th>fold</th><th>MAE current</th><th>MAE fitted</th>
<th>current − fitted</th></tr></thead><tbody>{folds}</tbody></table>
<h2>Warnings</h2><ul class="notes">{warnings or "<li>none</li>"}</ul>
<h2>How to read this</h2><ul class="notes">{notes}</ul>
</body></html>
"""
