"""Staffing answers for people: rich tables on the terminal, a chart and an HTML report."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import altair as alt
import polars as pl
from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from assigncli import __version__
from assigncli.analysis.staffing import ALL_SKILLS, StaffingResult, arithmetic
from assigncli.config import Config

__all__ = [
    "needed_chart",
    "render_staffing",
    "render_sweep",
    "staffing_chart_rows",
    "staffing_report_html",
    "sweep_report_html",
]

_ROSTER_COLOR = "#9ca3af"
_NEEDED_COLORS = ("#1d4ed8", "#60a5fa", "#93c5fd")
_OPTIMIZER_COLOR = "#15803d"


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}%}"


def _fte(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def _compact(value: float) -> str:
    if abs(value) >= 100_000:
        return f"{value / 1e6:.3g}M" if abs(value) >= 1e6 else f"{value / 1e3:.0f}k"
    return f"{value:,.0f}"


def _signed(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    text = _fte(abs(value))
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else "0")


# --- chart ---------------------------------------------------------------------------------------


def staffing_chart_rows(
    tables: Mapping[float, pl.DataFrame], result: StaffingResult | None = None
) -> list[dict[str, Any]]:
    """One row per (office, measure): officers on the roster, needed at each target, and the
    roster plus the optimizer's additions."""
    rows: list[dict[str, Any]] = []
    first = next(iter(tables.values()))
    offices = first.filter(pl.col("skill") == ALL_SKILLS)
    for row in offices.iter_rows(named=True):
        rows.append(
            {
                "office": row["office"],
                "measure": "on the roster",
                "officers": row["officers_on_roster"],
            }
        )
    for target, table in tables.items():
        for row in table.filter(pl.col("skill") == ALL_SKILLS).iter_rows(named=True):
            rows.append(
                {
                    "office": row["office"],
                    "measure": f"needed at {target:.0%} (arithmetic)",
                    "officers": row["officers_needed"],
                }
            )
    if result is not None:
        on_roster = dict(
            zip(offices["office"].to_list(), offices["officers_on_roster"].to_list(), strict=True)
        )
        for a in result.answers:
            if a.officers_to_add is None:
                continue
            rows.append(
                {
                    "office": a.office,
                    "measure": f"roster + optimizer's additions at {result.target:.0%}",
                    "officers": on_roster.get(a.office, 0.0) + a.officers_to_add,
                }
            )
    return rows


def _chart(rows: list[dict[str, Any]]) -> alt.TopLevelMixin:
    measures = list(dict.fromkeys(r["measure"] for r in rows))
    colors = []
    needed = iter(_NEEDED_COLORS * 3)
    for m in measures:
        if m == "on the roster":
            colors.append(_ROSTER_COLOR)
        elif m.startswith("roster +"):
            colors.append(_OPTIMIZER_COLOR)
        else:
            colors.append(next(needed))
    chart = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar(size=9)
        .encode(
            y=alt.Y("office:N", title=None),
            yOffset=alt.YOffset("measure:N", sort=measures),
            x=alt.X("officers:Q", title="officers"),
            color=alt.Color(
                "measure:N",
                sort=measures,
                scale=alt.Scale(domain=measures, range=colors),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=[
                alt.Tooltip("office:N"),
                alt.Tooltip("measure:N"),
                alt.Tooltip("officers:Q", format=",.1f"),
            ],
        )
        .properties(width=880, height=alt.Step(11 * len(measures)))
    )
    return cast(alt.TopLevelMixin, chart)


def needed_chart(
    roster: pl.DataFrame, cases: pl.DataFrame, config: Config, targets: Sequence[float]
) -> alt.TopLevelMixin:
    """Officers needed at each target (the arithmetic) against officers on the roster."""
    tables = {t: arithmetic(roster, cases, config, t) for t in targets}
    return _chart(staffing_chart_rows(tables))


# --- terminal ------------------------------------------------------------------------------------


def _office_table(result: StaffingResult) -> Table:
    t = result.target
    table = Table(
        title=f"Staffing at {t:.0%} utilization, per office",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="need: steady-state hours / (target × h/off, an officer's mean available "
        "hours); now: today's optimal peak; add: fewest new officers of the profile for an optimal "
        "peak ≤ target (?: minimality not proven); plan: that plan's peak; k−1 bd: proven bound "
        "with one fewer",
        caption_justify="left",
    )
    # Short headers: the table must stay readable at 80 columns.
    for column in (
        "office",
        "hours",
        "h/off",
        "roster",
        "need",
        "gap",
        "now",
        "add",
        "plan",
        "k−1 bd",
    ):
        table.add_column(column, justify="left" if column == "office" else "right", no_wrap=True)
    offices = result.table.filter(pl.col("skill") == ALL_SKILLS)
    for row in offices.iter_rows(named=True):
        a = result.answer(row["office"])
        if a is None:
            adds, peak, fewer, now = "", "", "", ""
        else:
            adds = "not reached" if a.officers_to_add is None else f"{a.officers_to_add:,}"
            if a.officers_to_add and not a.minimal:
                adds += " (?)"
            peak = _pct(a.plan_peak)
            fewer = _pct(a.fewer_bound) if a.officers_to_add else ""
            # Without today's solve (clearly over the target), its proven floor.
            now = _pct(a.peak_now) if a.peak_now is not None else "≥" + _pct(a.bound_now, 0)
        table.add_row(
            row["office"],
            _compact(row["hours"]),
            f"{row['hours_per_officer']:,.0f}" if row["hours_per_officer"] else "–",
            _fte(row["officers_on_roster"]),
            f"{row['officers_needed']:,}" if row["officers_needed"] is not None else "–",
            _signed(row["gap"]),
            now,
            adds,
            peak,
            fewer,
        )
    return table


def _skill_table(result: StaffingResult) -> Table | None:
    skills = result.table.filter(pl.col("skill") != ALL_SKILLS)
    if not skills.height:
        return None
    table = Table(
        title=f"Skill-restricted work at {result.target:.0%}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("office", "skill", "cases", "hours", "holders on roster", "needed", "gap"):
        table.add_column(column, justify="left" if column in ("office", "skill") else "right")
    for row in skills.iter_rows(named=True):
        table.add_row(
            row["office"],
            row["skill"],
            f"{row['cases']:,}",
            f"{row['hours']:,.1f}",
            _fte(row["officers_on_roster"]),
            f"{row['officers_needed']:,}" if row["officers_needed"] is not None else "–",
            _signed(row["gap"]),
            style="red" if (row["gap"] or 0) > 0 else "",
        )
    return table


def _caseload_table(result: StaffingResult, limit: int = 6) -> Table:
    table = Table(
        title=f"Achievable caseload at {result.target:.0%}: cases one officer can carry",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="(all): the office's own mix; a type: a caseload of that type only. "
        "now: the office's cases per officer on the roster",
        caption_justify="left",
    )
    for column in ("office", "case type", "cases", "h/case", "h/officer", "caseload", "now"):
        table.add_column(column, justify="left" if column in ("office", "case type") else "right")
    shown: dict[str, int] = {}
    for row in result.caseload.iter_rows(named=True):
        n = shown.get(row["office"], 0)
        if n > limit:
            continue
        shown[row["office"]] = n + 1
        table.add_row(
            row["office"],
            row["case_type"],
            f"{row['cases']:,}",
            f"{row['hours_per_case']:,.2f}" if row["hours_per_case"] is not None else "–",
            f"{row['hours_per_officer_at_target']:,.0f}"
            if row["hours_per_officer_at_target"] is not None
            else "–",
            f"{row['cases_per_officer_at_target']:,.0f}"
            if row["cases_per_officer_at_target"] is not None
            else "–",
            f"{row['cases_per_officer_now']:,.0f}"
            if row["cases_per_officer_now"] is not None
            else "–",
            style="bold" if row["case_type"] == "(all)" else "",
        )
    return table


def _allocation_table(result: StaffingResult) -> Table | None:
    alloc = result.allocation
    if alloc is None:
        return None
    table = Table(
        title=f"Where {alloc.officers:,} new officers do the most good",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption=f"highest utilization {_pct(alloc.peak_before)} → {_pct(alloc.peak_after)} "
        f"(bound {_pct(alloc.bound_after)})"
        + (f"; {alloc.unplaced} could not lower any peak" if alloc.unplaced else ""),
        caption_justify="left",
    )
    for column in ("office", "skills", "h/cycle", "officers", "office peak before", "after"):
        table.add_column(column, justify="left" if column in ("office", "skills") else "right")
    for row in alloc.table.iter_rows(named=True):
        table.add_row(
            row["office"],
            row["skills"] or "(none)",
            f"{row['capacity_hours']:,.0f}",
            f"{row['officers']:,}",
            _pct(row["peak_before"]),
            _pct(row["peak_after"]),
        )
    return table


def render_staffing(result: StaffingResult, files: Mapping[str, str], console: Console) -> None:
    console.print(_office_table(result))
    skills = _skill_table(result)
    if skills is not None:
        console.print(skills)
    console.print(_caseload_table(result))
    allocation = _allocation_table(result)
    if allocation is not None:
        console.print(allocation)
    notes = []
    for a in result.answers:
        profile = (
            f"{a.profile.capacity_hours:,.0f} h, skills {a.profile.label} ({a.profile.source})"
        )
        lines = [f"[bold]{a.office}[/bold]: {a.sentence}", f"  profile: {profile}"]
        lines += [f"  · {r}" for r in a.reasons]
        notes.append("\n".join(lines))
    total = result.officers_to_add
    if result.answers:
        head = (
            f"optimizer: {total:,} officer(s) to add in all"
            if total is not None
            else "optimizer: some office cannot reach the target with this profile"
        )
        notes.insert(0, head + f" ({result.seconds:.1f} s)")
    notes += [f"{name}: {path}" for name, path in files.items()]
    if notes:
        console.print(Panel("\n".join(notes), expand=False), markup=True, highlight=False)


# --- HTML ----------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _html_table(frame: pl.DataFrame, formats: Mapping[str, str]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            fmt = formats.get(column)
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                text = "–"
            elif fmt == "pct":
                text = _pct(float(value))
            elif fmt == "fte":
                text = _fte(float(value))
            elif isinstance(value, float):
                text = f"{value:,.1f}"
            elif isinstance(value, int) and not isinstance(value, bool):
                text = f"{value:,}"
            else:
                text = str(value)
            cells.append(f"<td>{_e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="metrics"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def staffing_section(
    result: StaffingResult, roster: pl.DataFrame, cases: pl.DataFrame, config: Config
) -> tuple[str, dict[str, Any]]:
    """The staffing section (HTML and chart specs): needed against on-roster per office, the
    optimizer's answers with their proof and reasons, the tables."""
    from assigncli.render.report import styled

    targets = sorted({1.0, result.target}, reverse=True)
    tables = {
        t: (result.table if t == result.target else arithmetic(roster, cases, config, t))
        for t in targets
    }
    rows = staffing_chart_rows(tables, result)
    specs = {"staffing": styled(_chart(rows))}
    answers = "".join(
        f"<dt>{_e(a.office)}</dt><dd><b>{_e(a.sentence)}</b><br>profile: "
        f"{_e(f'{a.profile.capacity_hours:,.0f} h, skills {a.profile.label} ({a.profile.source})')}"
        + "".join(f"<br>· {_e(r)}" for r in a.reasons)
        + "</dd>"
        for a in result.answers
    )
    offices = result.table.filter(pl.col("skill") == ALL_SKILLS).drop("skill")
    skills = result.table.filter(pl.col("skill") != ALL_SKILLS)
    formats = {"utilization": "pct", "officers_on_roster": "fte", "gap": "fte"}
    parts = [
        "<h2>Officers needed against officers on the roster</h2>",
        f"<p class='caption'>Arithmetic: steady-state hours of each office's cases over one "
        f"officer's available hours at the target (100% and {result.target:.0%}). Green: the "
        "roster plus the optimizer's additions, where it was run.</p>",
        '<div class="chart" id="staffing" role="img" aria-label="officers needed"></div>',
    ]
    if answers:
        parts += ["<h2>The optimizer's answer, per office</h2>", f'<dl class="defs">{answers}</dl>']
    parts += ["<h2>Per office</h2>", _html_table(offices, formats)]
    if skills.height:
        parts += ["<h2>Skill-restricted work</h2>", _html_table(skills, formats)]
    parts += [
        f"<h2>Achievable caseload at {result.target:.0%}</h2>",
        "<p class='caption'>Cases one officer can carry at the target: (all) is the office's mix, "
        "a type row a caseload of that type only.</p>",
        _html_table(result.caseload, {"share_of_hours": "pct"}),
    ]
    if result.allocation is not None:
        alloc = result.allocation
        parts += [
            f"<h2>Where {alloc.officers:,} new officers do the most good</h2>",
            f"<p class='caption'>Highest utilization {_pct(alloc.peak_before)} → "
            f"{_pct(alloc.peak_after)} (bound {_pct(alloc.bound_after)}).</p>",
            _html_table(
                alloc.table, {"peak_before": "pct", "peak_after": "pct", "bound_after": "pct"}
            ),
        ]
    return "\n".join(parts), specs


def staffing_report_html(
    result: StaffingResult,
    roster: pl.DataFrame,
    cases: pl.DataFrame,
    config: Config,
    *,
    roster_file: str,
    cases_file: str,
) -> str:
    from assigncli.render.report import page_html

    body, specs = staffing_section(result, roster, cases, config)
    footer = (
        f"assigncli {_e(__version__)} · roster {_e(roster_file)} · cases {_e(cases_file)} · "
        f"{cases.height:,} cases, {roster.height:,} officers · target {result.target:.0%} · "
        f"{result.seconds:.1f} s · generated {_e(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))}"
    )
    return page_html(
        f"Staffing at {result.target:.0%} utilization",
        "How many officers each office needs: the workload arithmetic and the optimizer's proven answer.",
        body,
        specs,
        footer,
    )


# --- sweep ---------------------------------------------------------------------------------------


def _tradeoff(rows: list[dict[str, Any]], x: str, x_title: str, vary: str) -> alt.TopLevelMixin:
    """Every scenario as a point; the scenarios of a series that varies `vary` joined by a line."""
    tooltip = [
        alt.Tooltip("scenario:N"),
        alt.Tooltip(f"{x}:Q", format=","),
        alt.Tooltip("peak:Q", format=".1%", title="highest utilization"),
        alt.Tooltip("bound:Q", format=".1%", title="proven bound"),
    ]
    enc_x = alt.X(f"{x}:Q", title=x_title)
    enc_y = alt.Y(
        "peak:Q",
        title="highest utilization",
        axis=alt.Axis(format="%"),
        scale=alt.Scale(zero=False),
    )
    points = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_point(filled=True, size=60, color="#1d4ed8")
        .encode(x=enc_x, y=enc_y, tooltip=tooltip)
    )
    curve = [r for r in rows if r["vary"] == vary]
    line = (
        alt.Chart(alt.InlineData(values=curve))
        .mark_line(color="#1d4ed8")
        .encode(x=enc_x, y=enc_y, detail="series:N", tooltip=tooltip)
    )
    bound = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_tick(color="#9ca3af", thickness=2, size=14)
        .encode(x=f"{x}:Q", y="bound:Q", tooltip=tooltip)
    )
    return cast(alt.TopLevelMixin, alt.layer(bound, line, points).properties(width=860, height=300))


def sweep_report_html(table: pl.DataFrame, *, source: str, engine: str, seconds: float) -> str:
    """The sweep's trade-off curves (moves against peak; officers added against peak) and table."""
    from assigncli.render.report import page_html, styled

    # A series' scenarios are named "<series>: <key>=<value>" (see analysis.sweep).
    parts = pl.col("scenario").str.split(": ")
    ok = table.filter(pl.col("status") == "ok").with_columns(
        parts.list.first().alias("series"),
        pl.when(parts.list.len() > 1)
        .then(parts.list.last().str.split("=").list.first())
        .otherwise(pl.lit(""))
        .alias("vary"),
    )
    rows = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
        for r in ok.to_dicts()
    ]
    plan_rows = [r for r in rows if r["mode"] == "plan" and r["moves"] is not None]
    specs = {
        "moves-peak": styled(
            _tradeoff(plan_rows, "moves", "moves (cases that change officer)", "max_moves")
        ),
        "hires-peak": styled(
            _tradeoff(rows, "officers_added", "officers added (hires)", "hire_count")
        ),
    }
    failed = table.filter(pl.col("status") != "ok")
    shown = table.drop("hash")
    body = "\n".join(
        [
            "<p class='lead'>"
            f"{table.height:,} scenarios, {ok.height:,} ok, {failed.height:,} failed; "
            f"engine {_e(engine)}, {seconds:,.1f} s.</p>",
            "<h2>Moves against the highest utilization</h2>",
            "<p class='caption'>Each point a plan scenario (a line joins a series that varies "
            "max_moves); grey ticks: the proven lower bound. A tighter move budget keeps more cases where they "
            "are, at the price of a higher peak.</p>",
            '<div class="chart" id="moves-peak" role="img" aria-label="moves against peak"></div>',
            "<h2>Officers added against the highest utilization</h2>",
            "<p class='caption'>Hires of each scenario against the peak of its plan (a line joins "
            "a series that varies hire_count; staffing scenarios: today's peak on the scenario's "
            "inputs).</p>",
            '<div class="chart" id="hires-peak" role="img" aria-label="hires against peak"></div>',
            "<h2>Every scenario</h2>",
            _html_table(
                shown,
                {
                    "peak": "pct",
                    "bound": "pct",
                    "gap": "pct",
                    "staffing_gap": "fte",
                    "staffing_peak": "pct",
                },
            ),
        ]
    )
    footer = (
        f"assigncli {_e(__version__)} · scenarios {_e(source)} · generated "
        f"{_e(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))}"
    )
    return page_html("Scenario sweep", f"What-if plans from {source}.", body, specs, footer)


def render_sweep(table: pl.DataFrame, console: Console, notes: Sequence[str]) -> None:
    out = Table(title="Scenarios", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in (
        "#",
        "scenario",
        "peak",
        "bound",
        "moves",
        ">100%",
        "hires",
        "staff gap",
        "status",
    ):
        if column == "scenario":
            out.add_column(column, no_wrap=True, overflow="ellipsis", max_width=30)
        else:
            out.add_column(column, justify="left" if column == "status" else "right")
    for r in table.iter_rows(named=True):
        gap = r["officers_to_add"] if r["mode"] == "staffing" else r["staffing_gap"]
        out.add_row(
            str(r["index"]),
            r["scenario"],
            _pct(r["peak"]),
            _pct(r["bound"]),
            "–" if r["moves"] is None else f"{r['moves']:,}",
            "–" if r["over_100"] is None else f"{r['over_100']:,}",
            f"{r['officers_added'] or 0:,}",
            "–" if gap is None else _fte(float(gap)),
            r["status"] if r["status"] == "ok" else f"[red]failed[/red]: {r['error']}",
        )
    console.print(out)
    if notes:
        console.print(Panel("\n".join(notes), expand=False), highlight=False)
