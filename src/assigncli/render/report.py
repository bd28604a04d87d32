"""The HTML report: one self-contained file a supervisor can open offline.

Headline numbers first (the optimized plan against the status quo), then charts — utilization per
plan, each office's work against its available hours, the officers most over capacity before and
after, moves — then the metric table and the definitions. Charts are Altair (Vega-Lite) specs drawn
in the browser by the Vega libraries, which are embedded in the file (from ``vl-convert-python``):
nothing is fetched from the network. User text (ids, office names, file names) is escaped, in the
HTML and in the embedded JSON alike.

`assign compare --report` renders a `Comparison`; `assign plan --report` renders the same page for
one plan against the status quo. Rendering happens before anything is written: the writers returned
here only put text into the temporary file that `write.write_all` gives them.
"""

from __future__ import annotations

import functools
import html
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import altair as alt
import polars as pl

from assigncli import __version__
from assigncli.analysis.compare import (
    OPTIMIZED,
    STATUS_QUO,
    ComparedPlan,
    Comparison,
    compare_with_baselines,
)
from assigncli.analysis.metrics import METRICS
from assigncli.pipeline import PlanRun
from assigncli.write import write_all

__all__ = [
    "CHART_IDS",
    "compare_report_html",
    "html_writer",
    "page_html",
    "plan_report_html",
    "prepare_report",
    "render_report",
    "styled",
    "write_compare_report",
]

CHART_IDS: tuple[str, ...] = ("utilization", "offices", "over-capacity", "moves", "staffing")
TOP_OFFICERS = 15  # most utilized officers before, shown in the before/after chart
TOP_STILL_OVER = 5  # and at most this many more who are still over 100% after

_WIDTH = 880
DEFAULT_STAFFING_TARGET = 0.85  # the staffing chart's second level (assign staffing's default)
_OPTIMIZED_COLOR = "#1d4ed8"
_STATUS_QUO_COLOR = "#c2410c"
_BASELINE_COLORS = ("#78716c", "#a8a29e", "#57534e", "#d6d3d1", "#44403c")
_OVER_COLOR = "#dc2626"


# --- embedded Vega ------------------------------------------------------------------------------


# The bundle's own entry point: the three libraries as globals for the page script.
_GLOBALS = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"


def prepare_report() -> None:
    """Build what every report embeds (the Vega libraries) now rather than at the first report,
    so that a caller can account for its time before the run."""
    _vega_bundle()


@functools.cache
def _vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (built once per process: a few seconds)."""
    import vl_convert as vlc

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    versions = list(vlc.get_vegalite_versions())
    version = wanted if wanted in versions else versions[-1]
    bundle = vlc.javascript_bundle(_GLOBALS, vl_version="v" + version.replace(".", "_"))
    # Inside a <script> element only "</script" could end it early; none is expected.
    return bundle.replace("</script", "<\\/script")


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element, whatever strings it carries."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _finite(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NaN and infinity are not JSON: they become null (no value) in chart data."""
    return [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in rows
    ]


# --- charts -------------------------------------------------------------------------------------


def _colors(comparison: Comparison) -> tuple[list[str], list[str]]:
    labels, colors = [], []
    others = iter(_BASELINE_COLORS * 4)
    for p in comparison.plans:
        labels.append(p.label)
        if p.name == OPTIMIZED:
            colors.append(_OPTIMIZED_COLOR)
        elif p.name == STATUS_QUO:
            colors.append(_STATUS_QUO_COLOR)
        else:
            colors.append(next(others))
    return labels, colors


def _hundred_percent() -> alt.Chart:
    rule = alt.Chart(alt.InlineData(values=[{"level": 1.0}])).mark_rule(
        color=_OVER_COLOR, strokeDash=[5, 4], strokeWidth=1.5
    )
    return cast(alt.Chart, rule.encode(x="level:Q"))


def utilization_chart(comparison: Comparison) -> alt.TopLevelMixin:
    """Each officer's utilization under each plan: a box per plan, a tick per officer."""
    frames = [
        p.evaluation.officers.filter(pl.col("available_hours") > 0)
        .select("officer_id", "office", "utilization", "load", "available_hours")
        .with_columns(pl.lit(p.label).alias("plan"))
        for p in comparison.plans
    ]
    rows = _finite(pl.concat(frames).to_dicts())
    labels, colors = _colors(comparison)
    color = alt.Color("plan:N", scale=alt.Scale(domain=labels, range=colors), legend=None)
    y = alt.Y("plan:N", sort=labels, title=None, axis=alt.Axis(labelFontSize=13, labelLimit=200))
    x = alt.X(
        "utilization:Q",
        title="utilization: load ÷ available hours (dashed line: 100%)",
        axis=alt.Axis(format="%"),
    )
    base = alt.Chart(alt.InlineData(values=rows))
    box = base.mark_boxplot(extent="min-max", size=22, opacity=0.35, median={"color": "#111"})
    ticks = base.mark_tick(thickness=1.2, opacity=0.55, size=18).encode(
        x=x,
        y=y,
        color=color,
        tooltip=[
            alt.Tooltip("plan:N"),
            alt.Tooltip("officer_id:N", title="officer"),
            alt.Tooltip("office:N"),
            alt.Tooltip("utilization:Q", format=".0%"),
            alt.Tooltip("load:Q", format=",.1f", title="load (h)"),
            alt.Tooltip("available_hours:Q", format=",.1f", title="available (h)"),
        ],
    )
    return alt.layer(box.encode(x=x, y=y, color=color), ticks, _hundred_percent()).properties(
        width=_WIDTH, height=alt.Step(44)
    )


def office_chart(comparison: Comparison) -> alt.TopLevelMixin:
    """Per office: hours of work under the optimized plan against available hours."""
    offices = comparison.plan(comparison.names[-1]).evaluation.offices
    rows = _finite(
        offices.with_columns(
            (pl.col("work_hours") > pl.col("available_hours")).alias("over")
        ).to_dicts()
    )
    order = offices.sort("work_hours", descending=True)["office"].to_list()
    y = alt.Y("office:N", sort=order, title=None)
    tooltip = [
        alt.Tooltip("office:N"),
        alt.Tooltip("cases:Q", format=","),
        alt.Tooltip("work_hours:Q", format=",.0f", title="steady-state work (h)"),
        alt.Tooltip("transition_hours:Q", format=",.0f", title="one-time transition (h)"),
        alt.Tooltip("available_hours:Q", format=",.0f", title="available (h)"),
        alt.Tooltip("utilization:Q", format=".0%"),
        alt.Tooltip("officers:Q", title="officers on roster"),
        alt.Tooltip("officers_needed:Q", title="officers needed at 100%"),
    ]
    base = alt.Chart(alt.InlineData(values=rows))
    capacity = base.mark_bar(color="#d1d5db", size=18).encode(
        x=alt.X("available_hours:Q", title="hours per cycle"), y=y, tooltip=tooltip
    )
    work = base.mark_bar(size=8).encode(
        x="work_hours:Q",
        y=y,
        color=alt.Color(
            "over:N",
            scale=alt.Scale(domain=[False, True], range=[_OPTIMIZED_COLOR, _OVER_COLOR]),
            legend=None,
        ),
        tooltip=tooltip,
    )
    return alt.layer(capacity, work).properties(width=_WIDTH, height=alt.Step(24))


def over_capacity_chart(comparison: Comparison) -> alt.TopLevelMixin:
    """The officers most utilized before (status quo), and any still over 100% after (optimized)."""
    before = comparison.plan(STATUS_QUO).evaluation.officers
    after = comparison.plan(OPTIMIZED).evaluation.officers
    both = (
        before.filter(pl.col("available_hours") > 0)
        .select("officer_id", "office", pl.col("utilization").alias("before"))
        .join(
            after.select("officer_id", pl.col("utilization").alias("after")),
            on="officer_id",
            how="left",
        )
        .sort("before", "officer_id", descending=[True, False], nulls_last=True)
    )
    top = both.head(TOP_OFFICERS)
    still_over = (
        both.filter(pl.col("after") > 1.0)
        .join(top, on="officer_id", how="anti")
        .sort("after", descending=True)
        .head(TOP_STILL_OVER)
    )
    both = pl.concat([top, still_over])
    order = both["officer_id"].to_list()
    before_label = comparison.plan(STATUS_QUO).label
    after_label = comparison.plan(OPTIMIZED).label
    long = both.unpivot(
        index=["officer_id", "office"], on=["before", "after"], variable_name="when"
    ).with_columns(
        pl.col("when").replace_strict({"before": before_label, "after": after_label}),
        pl.col("value").alias("utilization"),
    )
    y = alt.Y("officer_id:N", sort=order, title=None)
    link = (
        alt.Chart(alt.InlineData(values=_finite(both.to_dicts())))
        .mark_rule(color="#9ca3af", strokeWidth=2)
        .encode(x="before:Q", x2="after:Q", y=y)
    )
    points = (
        alt.Chart(alt.InlineData(values=_finite(long.to_dicts())))
        .mark_circle(size=110, opacity=1)
        .encode(
            x=alt.X(
                "utilization:Q",
                title="utilization (dashed line: 100%)",
                axis=alt.Axis(format="%"),
            ),
            y=y,
            color=alt.Color(
                "when:N",
                scale=alt.Scale(
                    domain=[before_label, after_label],
                    range=[_STATUS_QUO_COLOR, _OPTIMIZED_COLOR],
                ),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("officer_id:N", title="officer"),
                alt.Tooltip("office:N"),
                alt.Tooltip("when:N", title="plan"),
                alt.Tooltip("utilization:Q", format=".0%"),
            ],
        )
    )
    return alt.layer(link, points, _hundred_percent()).properties(width=_WIDTH, height=alt.Step(22))


def moves_chart(comparison: Comparison) -> alt.TopLevelMixin:
    """Moves per plan, split into forced (the officer cannot keep the case) and chosen."""
    rows = []
    for p in comparison.plans:
        rows.append({"plan": p.label, "cause": "forced", "moves": p.forced_moves, "order": 0})
        rows.append({"plan": p.label, "cause": "chosen", "moves": p.other_moves, "order": 1})
    labels, _ = _colors(comparison)
    chart = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar(size=22)
        .encode(
            x=alt.X("moves:Q", stack="zero", title="cases that change officer"),
            y=alt.Y("plan:N", sort=labels, title=None, axis=alt.Axis(labelFontSize=13)),
            color=alt.Color(
                "cause:N",
                scale=alt.Scale(domain=["forced", "chosen"], range=["#9ca3af", "#f59e0b"]),
                legend=alt.Legend(
                    title=None,
                    orient="top",
                    labelExpr="datum.label == 'forced' ? 'forced: the officer cannot keep the "
                    "case' : 'chosen by the plan'",
                    labelLimit=400,
                ),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("plan:N"),
                alt.Tooltip("cause:N"),
                alt.Tooltip("moves:Q", format=","),
            ],
        )
        .properties(width=_WIDTH, height=alt.Step(34))
    )
    return cast(alt.TopLevelMixin, chart)


def staffing_chart_of(comparison: Comparison) -> alt.TopLevelMixin:
    """Officers on the roster against officers needed (the arithmetic at 100% and at 85%)."""
    from assigncli.render.staffing import needed_chart

    run = comparison.run
    return needed_chart(run.inputs.roster, run.cases, run.config, (1.0, DEFAULT_STAFFING_TARGET))


def chart_specs(comparison: Comparison) -> dict[str, dict[str, Any]]:
    """Vega-Lite specs by element id (see CHART_IDS)."""
    charts: dict[str, Callable[[Comparison], alt.TopLevelMixin]] = {
        "utilization": utilization_chart,
        "offices": office_chart,
        "over-capacity": over_capacity_chart,
        "moves": moves_chart,
        "staffing": staffing_chart_of,
    }
    specs: dict[str, dict[str, Any]] = {}
    for name, build in charts.items():
        spec = (
            build(comparison)
            .configure_view(stroke=None)
            .configure_axis(labelFontSize=12, titleFontSize=12, titleFontWeight="normal")
        )
        specs[name] = spec.to_dict()
    return specs


# --- page ---------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.0%}"


def _num(value: float | None, unit: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:,.0f}{unit}"


def _card(title: str, value: str, detail: str, tone: str = "") -> str:
    return (
        f'<div class="card {tone}"><div class="card-title">{_e(title)}</div>'
        f'<div class="card-value">{_e(value)}</div><div class="card-detail">{detail}</div></div>'
    )


def _best_baseline(comparison: Comparison) -> ComparedPlan | None:
    """The baseline with the lowest peak utilization (status quo excluded)."""
    others = [
        p
        for p in comparison.plans
        if p.kind == "baseline"
        and p.name != STATUS_QUO
        and p.metrics.highest_utilization is not None
    ]
    return min(others, key=lambda p: p.metrics.highest_utilization or 0.0) if others else None


def _headline(comparison: Comparison) -> str:
    before = comparison.plan(STATUS_QUO)
    after = comparison.plan(OPTIMIZED)
    b, a = before.metrics, after.metrics
    cert = comparison.run.solution.certificate
    sq = _e(before.label)
    cards = [
        _card(
            "Busiest officer",
            _pct(a.highest_utilization),
            f"of available hours; {sq}: {_e(_pct(b.highest_utilization))}",
            "good" if (a.highest_utilization or 0) <= 1 else "bad",
        ),
        _card(
            "Officers over 100%",
            _num(a.officers_over_capacity),
            f"{sq}: {_e(_num(b.officers_over_capacity))} of {_e(_num(a.officers_on_roster))}",
            "good" if a.officers_over_capacity == 0 else "bad",
        ),
        _card(
            "Overtime needed",
            _num(a.overtime_hours, " h"),
            f"hours above capacity per cycle; {sq}: {_e(_num(b.overtime_hours, ' h'))}",
        ),
        _card(
            "Moves",
            _num(a.moves),
            f"{_e(_num(after.forced_moves))} forced (officer cannot keep the case); "
            f"{sq}: {_e(_num(b.moves))}",
        ),
        _card(
            "Unassigned cases",
            _num(a.unassigned),
            "no eligible officer, or all at their case cap",
            "bad" if a.unassigned else "good",
        ),
        _card(
            "Officers needed at 100%",
            _num(a.officers_needed),
            _e(_staffing_words(a.officers_on_roster, a.staffing_gap)),
            "bad" if (a.staffing_gap or 0) > 0 else "good",
        ),
    ]
    gap = "∞" if math.isinf(cert.gap) else f"{cert.gap:.2%}"
    summary = (
        f"The optimized plan puts the busiest officer at <b>{_e(_pct(a.highest_utilization))}</b> "
        f"of available hours ({sq}: {_e(_pct(b.highest_utilization))}); no plan can do better "
        f"than <b>{_e(_pct(cert.lower_bound))}</b> (proven lower bound, gap {_e(gap)}, "
        f"solver status <b>{_e(cert.status)}</b>)."
    )
    best = _best_baseline(comparison)
    if best is not None:
        summary += (
            f" The best of the baselines, <b>{_e(best.label)}</b>, peaks at "
            f"{_e(_pct(best.metrics.highest_utilization))}."
        )
    breaks = before.evaluation.breaks
    if breaks:
        summary += (
            f" Today's assignment already has {_e(_num(sum(breaks.values())))} rule break(s): "
            + _e(_describe_breaks(breaks))
            + "."
        )
    return f'<p class="lead">{summary}</p><div class="cards">{"".join(cards)}</div>'


_BREAK_WORDS = {
    "inactive_officer": "with an inactive officer",
    "unavailable_officer": "with an officer away all cycle",
    "office_mismatch": "with an officer outside the case's office",
    "skill_mismatch": "with an officer lacking a required skill",
    "zero_max_cases": "with an officer whose case cap is 0",
    "over_max_cases": "beyond an officer's case cap",
}


def _describe_breaks(breaks: dict[str, int]) -> str:
    return "; ".join(f"{n:,} case(s) {_BREAK_WORDS.get(code, code)}" for code, n in breaks.items())


def _staffing_words(on_roster: int, gap: int | None) -> str:
    if gap is None:
        return f"{on_roster:,} active on the roster"
    if gap > 0:
        return f"{gap:,} more than the {on_roster:,} active on the roster"
    if gap < 0:
        return f"{on_roster:,} active on the roster: {-gap:,} to spare"
    return f"exactly the {on_roster:,} active on the roster"


def _metric_table(comparison: Comparison) -> str:
    head = "".join(
        f'<th class="{"opt" if p.name == OPTIMIZED else ""}">{_e(p.label)}</th>'
        for p in comparison.plans
    )
    rows = []
    for spec in METRICS:
        best = set(comparison.best(spec))
        cells = []
        for p in comparison.plans:
            value = comparison.value(p.name, spec.key)
            mark = p.name in best
            cls = " ".join(
                c for c in ("best" if mark else "", "opt" if p.name == OPTIMIZED else "") if c
            )
            cells.append(f'<td class="{cls}">{_e(spec.format(value))}{" ✓" if mark else ""}</td>')
        rows.append(
            f'<tr><th scope="row" title="{_e(spec.help)}">{_e(spec.label)}</th>{"".join(cells)}</tr>'
        )
    return (
        '<table class="metrics"><thead><tr><th>metric</th>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _definitions() -> str:
    items = "".join(f"<dt>{_e(s.label)}</dt><dd>{_e(s.help)}</dd>" for s in METRICS)
    return f'<dl class="defs">{items}</dl>'


def _plan_notes(comparison: Comparison) -> str:
    notes = {
        "status_quo": "every case stays with its officer of record when that officer is on the "
        "roster and active, rule breaks included; new and orphaned cases are dealt round-robin",
        "round_robin": "every case that is not locked is dealt in turn to the eligible officers, "
        "in case order",
        "equal_count": "case counts as even as eligibility allows, effort ignored; officers keep "
        "their own cases up to their share",
        "arbitrary": "each case goes to an eligible officer drawn at random (seeded)",
        "greedy_effort": "longest effort first, each case to the eligible officer least utilized "
        "after taking it (handoff hours counted for a move)",
        OPTIMIZED: "minimizes the highest utilization, then balances the rest, then keeps moves "
        "few (CP-SAT / linear programming, with a proven lower bound)",
    }
    items = "".join(
        f"<dt>{_e(p.label)}</dt><dd>{_e(notes.get(p.name, ''))}</dd>" for p in comparison.plans
    )
    return f'<dl class="defs">{items}</dl>'


_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  margin: 0; color: #1f2937; background: #f8fafc; line-height: 1.45; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 6px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
.sub { color: #6b7280; margin: 0 0 18px; font-size: 14px; }
.lead { font-size: 16px; background: #fff; border-left: 4px solid #1d4ed8; padding: 12px 16px;
  margin: 0 0 16px; border-radius: 4px; }
.cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px 14px; }
.card-title { font-size: 13px; color: #6b7280; text-transform: uppercase; letter-spacing: .04em; }
.card-value { font-size: 30px; font-weight: 700; margin: 2px 0; }
.card.good .card-value { color: #15803d; }
.card.bad .card-value { color: #b91c1c; }
.card-detail { font-size: 13px; color: #4b5563; }
.chart { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px;
  overflow-x: auto; }
.caption { font-size: 14px; color: #4b5563; margin: 0 0 8px; }
.chart-error { color: #b91c1c; font-weight: 600; }
table.metrics { border-collapse: collapse; background: #fff; font-size: 14px; width: 100%; }
table.metrics th, table.metrics td { border: 1px solid #e5e7eb; padding: 6px 10px; }
table.metrics td { text-align: right; font-variant-numeric: tabular-nums; }
table.metrics th[scope=row] { text-align: left; font-weight: 500; cursor: help; }
table.metrics thead th { background: #f1f5f9; }
table.metrics .opt { background: #eff6ff; }
table.metrics td.best { font-weight: 700; color: #15803d; }
.defs { display: grid; grid-template-columns: 220px 1fr; gap: 4px 16px; font-size: 14px; }
.defs dt { font-weight: 600; } .defs dd { margin: 0; color: #4b5563; }
.violations { font-size: 13px; color: #7c2d12; background: #fff7ed; padding: 8px 12px;
  border-radius: 6px; }
footer { margin-top: 36px; font-size: 12px; color: #6b7280; }
"""

_SCRIPT = """
(function () {
  const specs = JSON.parse(document.getElementById("chart-specs").textContent);
  const jobs = Object.keys(specs).map(function (id) {
    const el = document.getElementById(id);
    return vegaEmbed(el, specs[id], {renderer: "svg", actions: false, mode: "vega-lite"})
      .then(function () { el.dataset.drawn = "yes"; return 1; })
      .catch(function (err) {
        el.innerHTML = "";
        const p = document.createElement("p");
        p.className = "chart-error";
        p.textContent = "This chart could not be drawn: " + err;
        el.appendChild(p);
        return 0;
      });
  });
  Promise.all(jobs).then(function (done) {
    document.body.dataset.chartsDrawn = String(done.reduce(function (a, b) { return a + b; }, 0));
  });
})();
"""

_CAPTIONS = {
    "utilization": (
        "Utilization of every officer under each plan",
        "One tick per officer, the box spans the middle half, whiskers reach the extremes. "
        "A tight box left of the dashed 100% line means work is shared in proportion to time.",
    ),
    "offices": (
        "Work against available hours, per office (optimized plan)",
        "Grey: available hours of the office's active officers this cycle. Bar: steady-state hours "
        "of work on the office's cases (red when it exceeds the grey); the plan's one-time handoff "
        "hours are the transition hours, in the tooltip.",
    ),
    "over-capacity": (
        "Officers most over capacity, before and after",
        "The most utilized officers today, and any still over 100% after; a line joins each "
        "officer's two values.",
    ),
    "staffing": (
        "Staffing: officers needed against officers on the roster, per office",
        "The workload arithmetic: steady-state hours of the office's cases over one officer's "
        "available hours at 100% and at 85% utilization, beside the officers on the roster (an "
        "officer covering several offices counts as a share of one in each). `assign staffing` "
        "adds the optimizer's answer, which accounts for skills, locks, caps and time away.",
    ),
    "moves": (
        "Moves",
        "Cases that change officer. Forced moves cannot be avoided: the officer left, is inactive, "
        "or may not hold the case; every other move is the plan's choice and costs handoff hours.",
    ),
}


def _scale_text(value: float | None) -> str:
    if value is None:
        return "already over"
    return "∞" if math.isinf(value) else f"×{value:.3g}"


def robustness_chart(run: PlanRun) -> alt.TopLevelMixin | None:
    """Histogram of the Monte Carlo peaks, with the plan's own peak and 100% marked."""
    r = run.robustness
    if r is None or r.monte_carlo is None:
        return None
    rows = [{"peak": float(p)} for p in r.monte_carlo.peaks]
    bars = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar(color=_OPTIMIZED_COLOR, opacity=0.8)
        .encode(
            x=alt.X(
                "peak:Q",
                bin=alt.Bin(maxbins=40),
                title="peak utilization in a draw",
                axis=alt.Axis(format="%"),
            ),
            y=alt.Y("count():Q", title="draws"),
        )
    )
    nominal = (
        alt.Chart(alt.InlineData(values=[{"level": r.nominal_peak}]))
        .mark_rule(color="#111827", strokeWidth=2)
        .encode(x="level:Q")
    )
    chart = (bars + nominal + _hundred_percent()).properties(width=_WIDTH, height=220)
    return cast(alt.TopLevelMixin, chart)


def _robustness_section(run: PlanRun) -> tuple[str, dict[str, Any]]:
    """The robustness section (empty without --robustness) and its chart spec, if any."""
    r = run.robustness
    if r is None:
        return "", {}
    rows = "".join(
        f"<tr><th scope='row'>{_e(s.kind)}</th><th scope='row'>{_e(s.rule)}"
        f"{' *' if s.approximate else ''}</th><td>{s.cases:,}</td><td>{s.hours:,.0f}</td>"
        f"<td>{_e(_scale_text(s.scale_to_full))}</td><td>{_e(s.officer_to_full or '')}</td>"
        f"<td>{_e(_scale_text(s.scale_to_peak_rise))}</td></tr>"
        for s in r.rules
    )
    b = r.budgeted
    text = [
        f"<p class='caption'>The plan is held fixed and its loads re-evaluated. For each effort "
        f"figure: how many times its hours could be multiplied before any officer passes 100% of "
        f"available hours, and before the peak ({_e(f'{r.nominal_peak:.2%}')}) rises "
        f"{_e(f'{r.peak_rise:.0%}')}. Small numbers mark the estimates that matter.</p>",
        "<table class='metrics'><thead><tr><th>kind</th><th>figure</th><th>cases</th>"
        "<th>hours</th><th>scale to 100%</th><th>first over</th>"
        f"<th>scale to peak +{_e(f'{r.peak_rise:.0%}')}</th></tr></thead><tbody>{rows}</tbody></table>",
        f"<p class='caption'><b>Budgeted uncertainty</b> (Bertsimas–Sim): every case's effort "
        f"within ±{_e(f'{b.deviation:.0%}')}, at most Γ = √(2 n ln(1/ε)) of an officer's n cases "
        f"off at once (confidence {_e(f'{b.confidence:.0%}')}, median Γ {b.median_gamma:.1f}): "
        f"peak <b>{_e(f'{b.peak:.2%}')}</b> ({_e(b.officer or '–')}), "
        f"{b.officers_over:,} officer(s) over 100%.</p>",
    ]
    specs: dict[str, Any] = {}
    mc = r.monte_carlo
    if mc is not None:
        text.append(
            f"<p class='caption'><b>Monte Carlo</b>: {mc.draws:,} draws (seed {mc.seed}), "
            f"per-case lognormal noise CV {_e(f'{mc.case_cv:.0%}')} and per-figure correlated "
            f"error CV {_e(f'{mc.rule_cv:.0%}')}: peak median <b>{_e(f'{mc.peak_p50:.2%}')}</b>, "
            f"90% of draws between {_e(f'{mc.peak_p05:.2%}')} and {_e(f'{mc.peak_p95:.2%}')}; "
            f"P(any officer over 100%) <b>{_e(f'{mc.p_any_over:.1%}')}</b> (95% interval "
            f"{_e(f'{mc.p_any_over_low:.1%}')}–{_e(f'{mc.p_any_over_high:.1%}')}).</p>"
        )
        chart = robustness_chart(run)
        if chart is not None:
            specs["robustness"] = (
                chart.configure_view(stroke=None)
                .configure_axis(labelFontSize=12, titleFontSize=12, titleFontWeight="normal")
                .to_dict()
            )
            text.append(
                '<div class="chart" id="robustness" role="img" '
                'aria-label="Monte Carlo peaks"></div>'
            )
    return "<h2>How robust the plan is to wrong effort figures</h2>" + "".join(text), specs


def render_report(comparison: Comparison, *, title: str, subtitle: str) -> str:
    """The whole report as one HTML document (no external resources)."""
    run = comparison.run
    specs = chart_specs(comparison)
    robustness, robustness_specs = _robustness_section(run)
    specs.update(robustness_specs)
    sections = []
    for chart_id in CHART_IDS:
        heading, caption = _CAPTIONS[chart_id]
        sections.append(
            f"<h2>{_e(heading)}</h2><p class='caption'>{_e(caption)}</p>"
            f'<div class="chart" id="{chart_id}" role="img" aria-label="{_e(heading)}"></div>'
        )
    violations = comparison.plan(STATUS_QUO).violations
    broken = (
        "<p class='violations'><b>The independent checker on the status quo:</b><br>"
        + "<br>".join(_e(v) for v in violations)
        + "</p>"
        if violations
        else ""
    )
    cert = run.solution.certificate
    footer = (
        f"assigncli {_e(__version__)} · roster {_e(run.inputs.roster_file)} · cases "
        f"{_e(run.inputs.cases_file)} · {run.plan.height:,} cases, "
        f"{run.inputs.roster.height:,} officers · cycle {run.config.cycle_days:g} days, handoff "
        f"{run.config.handoff_hours:g} h · solver {_e(cert.method)} {cert.time_seconds:.1f} s, "
        f"seed {run.options.seed} · generated {_e(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))}"
    )
    body = f"""{_headline(comparison)}
{"".join(sections)}
{robustness}
<h2>All metrics</h2>
<p class="caption">Best value in each row marked ✓, among all plans (ties included; the
status quo may break rules, counted in their own row).
Hover a metric for its definition.</p>
{_metric_table(comparison)}
{broken}
<h2>The plans</h2>
{_plan_notes(comparison)}
<h2>Definitions</h2>
{_definitions()}"""
    return page_html(title, subtitle, body, specs, footer)


def page_html(
    title: str, subtitle: str, body: str, specs: dict[str, dict[str, Any]], footer: str
) -> str:
    """A self-contained page in the report's style: `body` HTML, charts drawn from `specs` (by
    element id), the Vega libraries embedded; the plan comparison and the other reports share it."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
<script>{_vega_bundle()}</script>
</head>
<body>
<main>
<h1>{_e(title)}</h1>
<p class="sub">{_e(subtitle)}</p>
{body}
<footer>{footer}</footer>
</main>
<script type="application/json" id="chart-specs">{_script_json(specs)}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def styled(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """A chart's Vega-Lite spec with the report's axis and view style."""
    spec = chart.configure_view(stroke=None).configure_axis(
        labelFontSize=12, titleFontSize=12, titleFontWeight="normal"
    )
    return cast(dict[str, Any], spec.to_dict())


def compare_report_html(comparison: Comparison) -> str:
    names = ", ".join(p.label for p in comparison.plans)
    return render_report(
        comparison,
        title="Caseload assignment: optimized plan against naive assignment",
        subtitle=f"Plans compared: {names}.",
    )


def plan_report_html(run: PlanRun) -> str:
    """The single-plan report: the plan against the status quo (built here, it takes seconds)."""
    comparison = compare_with_baselines(run, baselines=(STATUS_QUO,))
    return render_report(
        comparison,
        title="Caseload assignment plan",
        subtitle="The optimized plan against the status quo (cases left with their officers).",
    )


def html_writer(text: str) -> Callable[[Path], None]:
    """A writer for `write.write_all`: puts already rendered text into the temporary file."""

    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


def write_compare_report(comparison: Comparison, path: Path) -> None:
    """Render and write the comparison report atomically."""
    write_all([(path, html_writer(compare_report_html(comparison)))])
