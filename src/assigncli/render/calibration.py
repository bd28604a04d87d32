"""What `assign effort fit` shows: fitted figures, their intervals and the held-out error.

Rule names and file names come from the config and the inputs: they are escaped before rich sees
them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from assigncli.analysis.calibrate import Calibration

__all__ = ["render_calibration"]


def render_calibration(result: Calibration, out: Path | None, console: Console) -> None:
    """The fitted figures beside the current ones, the held-out error, and how to read them."""
    level = f"{result.level:.0%} CI"
    table = Table(
        title=f"Effort figures fitted from {escape(str(result.log_file))} ({result.shape.replace('_', '-')} "
        f"log: {result.entries:,} entries, {result.cases:,} cases, {result.periods} period(s))",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("figure", "current", "fitted", level, "cases", "verdict"):
        left = column in ("figure", "verdict")
        table.add_column(column, justify="left" if left else "right", no_wrap=not left)
    notes: list[str] = []
    symbol = {"hours": "h", "default_hours": "h", "multiply": "×", "add": "+"}
    for f in result.figures:
        where = "default" if f.kind == "default_hours" else f"{f.section[7:]} #{f.index} {f.rule}"
        if f.status != "fitted":
            verdict = "[yellow]not fitted[/yellow]"  # the warning above says why
            fitted, interval = "—", "—"
        else:
            fitted = f"{f.fitted:.4g}"
            interval = "—" if f.low != f.low else f"{f.low:.3g}–{f.high:.3g}"
            verdict = "[bold]changed[/bold]" if f.significant else "n.s."
        table.add_row(
            f"{escape(where)} ({symbol[f.kind]})",
            f"{f.current:g}",
            fitted,
            interval,
            f"{f.cases:,}",
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
        names = {
            "current": f"current ({escape(result.original.source)})",
            "gamma": "fitted, gamma (Gamma quasi-likelihood)",
            "nnls": "fitted, nnls (non-negative least squares)",
        }
        for key, scores in result.held_out.items():
            mark = " [green]← used[/green]" if key == result.estimator else ""
            errors.add_row(names[key] + mark, f"{scores.mae:.4g}", f"{scores.mape:.1%}")
        console.print(errors)
    notes.append(
        "(h) hours, (×) multiply, (+) add; changed: the current figure lies outside the "
        "interval; n.s.: not significantly different from the current figure (inside the interval)"
    )
    notes.append(
        f"estimator: {result.estimator}; intervals: percentile bootstrap over "
        f"{result.clusters}s, {result.replicates} replicates"
    )
    notes.append(
        f"fitted model written to {out}"
        if out
        else "use --out fitted.toml to write the fitted model"
    )
    for note in notes:
        console.print(escape(note), highlight=False)
