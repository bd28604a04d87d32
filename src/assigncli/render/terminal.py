"""Everything the terminal shows: plan summary, comparison, effort rules, phases, problems, and the
live status line of a running solve; plus the plan summary as a dict (for --json).

Values from the inputs and the config (ids, office names, rule names, messages) are never read as
rich markup or emoji codes: they go into `Text` objects, or through `markup.escape`, and every
console is made by `console()` (emoji off, no highlighting). Tables that do not fit the terminal
switch to a narrower layout instead of breaking cells into fragments.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.measure import Measurement
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from assigncli.errors import InputIssue

if TYPE_CHECKING:
    from assigncli.analysis.compare import ComparedPlan, Comparison
    from assigncli.pipeline import Phase, PlanRun
    from assigncli.result import ComponentReport

__all__ = [
    "SolveStatus",
    "comparison_table",
    "comparison_tables",
    "console",
    "effort_rules_table",
    "office_table",
    "phase_table",
    "problem_text",
    "render",
    "render_comparison",
    "render_effort_rules",
    "summary_dict",
]


def console(*, stderr: bool = False, quiet: bool = False) -> Console:
    """A console that prints text as given: no markup from data, no emoji, no highlighting."""
    return Console(stderr=stderr, quiet=quiet, emoji=False, highlight=False)


def problem_text(problem: InputIssue) -> Text:
    """`error: file, column 'x', rows 1, 2: message`, the severity coloured, the rest verbatim."""
    style = "red" if problem.severity == "error" else "yellow"
    return Text.assemble((problem.severity, style), ": ", problem.render())


def _fits(table: RenderableType, out: Console) -> bool:
    """Whether `table` fits the console's width without wrapping or folding any cell."""
    unbounded = out.options.update(max_width=100_000)
    return Measurement.get(out, unbounded, table).maximum <= out.width


# --- plan ------------------------------------------------------------------------------------


def office_table(officers: pl.DataFrame, plan: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
    """Per office: utilization before → after, cases, moves and unassigned cases.

    An officer covering several offices counts under each of them (their utilization is one
    number, whichever office's cases make it up), so officer counts can add up to more than the
    roster.
    """
    offices = officers["office"]
    as_list = offices if isinstance(offices.dtype, pl.List) else offices.str.split(";")
    measured = (
        officers.filter(pl.col("available_hours") > 0)
        .with_columns(as_list.filter(officers["available_hours"] > 0).alias("office"))
        .explode("office")
    )
    stats = measured.group_by("office").agg(
        pl.len().alias("officers"),
        pl.col("utilization_before").max().alias("highest_before"),
        pl.col("utilization_before").median().alias("median_before"),
        pl.col("utilization_before").min().alias("lowest_before"),
        pl.col("utilization_after").max().alias("highest_after"),
        pl.col("utilization_after").median().alias("median_after"),
        pl.col("utilization_after").min().alias("lowest_after"),
    )
    per_case = (
        plan.select("moved", pl.col("officer_id").is_null().alias("unassigned"))
        .with_columns(cases["office"])
        .group_by("office")
        .agg(
            pl.len().alias("cases"),
            pl.col("moved").sum().alias("moves"),
            pl.col("unassigned").sum().alias("unassigned"),
        )
    )
    return (
        per_case.join(stats, on="office", how="full", coalesce=True)
        .with_columns(pl.col("cases", "moves", "unassigned", "officers").fill_null(0))
        .sort("office")
    )


def _shared_officers(officers: pl.DataFrame) -> int:
    """Measured officers who cover more than one office."""
    offices = officers["office"]
    counts = (
        offices.list.len()
        if isinstance(offices.dtype, pl.List)
        else offices.str.count_matches(";") + 1
    )
    return int(((counts > 1) & (officers["available_hours"] > 0)).sum())


def summary_dict(run: PlanRun, files: Mapping[str, str]) -> dict[str, Any]:
    cert = run.solution.certificate
    offices = office_table(run.officers, run.plan, run.cases)
    return {
        "status": cert.status,
        "certificate": cert.to_dict(),
        "totals": {
            "cases": run.plan.height,
            "assigned": run.check.assigned,
            "unassigned": run.check.unassigned,
            "moves": run.check.moves,
            "officers": run.officers.height,
            "highest_utilization_before": _max(run.officers, "utilization_before"),
            "highest_utilization_after": run.check.max_utilization,
            "lowest_utilization_after": run.check.min_utilization,
        },
        "offices": offices.to_dicts(),
        "files": dict(files),
        "warnings": [p.to_dict() for p in run.warnings],
        "phases": [p.to_dict() for p in run.phases],
    }


def _max(frame: pl.DataFrame, column: str) -> float | None:
    value = frame[column].max()
    return float(value) if isinstance(value, int | float) else None


def _pct(value: object) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else "–"


def _pct_precise(value: object) -> str:
    return f"{value:.2%}" if isinstance(value, int | float) else "–"


def _arrow(before: object, after: object) -> Text:
    return Text.assemble(f"{_pct(before)} → ", (_pct(after), "bold"))


_COUNTS = (("officers", "officers"), ("cases", "cases"), ("moves", "moves"))
_UTILIZATION = (("highest", "highest"), ("median", "median"), ("lowest", "lowest"))


def _office_tables(offices: pl.DataFrame, shared: int, *, split: bool) -> list[Table]:
    """One table, or (`split`) counts and utilization as two narrower tables."""
    caption = (
        f"{shared:,} officer(s) cover several offices and count under each" if shared else None
    )

    def table(title: str, counts: bool, utilization: bool, note: str | None) -> Table:
        t = Table(
            title=title,
            title_justify="left",
            caption=note,
            caption_justify="left",
            box=box.SIMPLE_HEAD,
        )
        longest = max((len(str(o)) for o in offices["office"].to_list()), default=6)
        t.add_column("office", overflow="fold", min_width=min(max(6, longest), 16))
        if counts:
            for label, _ in _COUNTS:
                t.add_column(label, justify="right", no_wrap=True)
            t.add_column("unassignable", justify="right", no_wrap=True)
        if utilization:
            for label, _ in _UTILIZATION:
                t.add_column(label, justify="right", no_wrap=True)
        for row in offices.iter_rows(named=True):
            cells: list[Text | str] = [Text(str(row["office"]))]
            if counts:
                cells += [f"{row['officers']:,}", f"{row['cases']:,}", f"{row['moves']:,}"]
                cells.append(f"{row['unassigned']:,}")
            if utilization:
                cells += [_arrow(row[f"{k}_before"], row[f"{k}_after"]) for _, k in _UTILIZATION]
            t.add_row(*cells)
        return t

    if not split:
        return [table("Utilization by office (before → after)", True, True, caption)]
    return [
        table("Cases by office", True, False, caption),
        table("Utilization by office (before → after)", False, True, None),
    ]


def render(run: PlanRun, files: Mapping[str, str], out: Console) -> None:
    cert = run.solution.certificate
    offices = office_table(run.officers, run.plan, run.cases)
    shared = _shared_officers(run.officers)
    tables = _office_tables(offices, shared, split=False)
    if not _fits(tables[0], out):
        tables = _office_tables(offices, shared, split=True)
    gap = "∞" if cert.gap == float("inf") else f"{cert.gap:.3%}"
    certificate = Text.assemble(
        "status ",
        (str(cert.status), "bold"),
        f" ({cert.method}, {cert.components} component(s), {cert.time_seconds:.1f} s)\n",
        "highest utilization ",
        (_pct_precise(run.check.max_utilization), "bold"),
        f", proven lower bound {_pct_precise(cert.lower_bound)}, gap {gap}\n",
        f"lowest utilization {_pct_precise(run.check.min_utilization)}; "
        f"moves {run.check.moves:,} ({cert.forced_moves:,} forced); "
        f"unassigned {run.check.unassigned:,}",
    )
    parts: list[RenderableType] = [*tables, Panel(certificate, title="certificate", expand=False)]
    if files:
        parts.append(Panel(_written(files), title="written", expand=False))
    out.print(Group(*parts))


def _written(files: Mapping[str, str]) -> Text:
    return Text("\n".join(f"{name}: {path}" for name, path in files.items()), overflow="fold")


# --- compare ---------------------------------------------------------------------------------


def comparison_table(
    comparison: Comparison,
    plans: Sequence[ComparedPlan] | None = None,
    *,
    first: bool = True,
    last: bool = True,
) -> Table:
    """Metrics as rows, plans (all, or `plans`) as columns; `*` marks the best value of a row
    among all plans of the comparison, shown or not."""
    from assigncli.analysis.metrics import METRICS

    shown = tuple(comparison.plans if plans is None else plans)
    table = Table(
        title="Optimized plan against naive assignment" if first else None,
        title_justify="left",
        caption="* best in the row, among all plans (ties included)" if last else None,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("metric", justify="left", no_wrap=True)
    for p in shown:
        # A header may wrap between words; values never wrap.
        longest_word = max((len(word) for word in p.label.split()), default=1)
        table.add_column(
            Text(p.label),
            justify="right",
            style="bold" if p.kind == "optimized" else "",
            min_width=max(6, longest_word),
        )
    for spec in METRICS:
        best = set(comparison.best(spec))
        cells: list[Text] = []
        for p in shown:
            text = spec.format(comparison.value(p.name, spec.key), unit=False, compact=True)
            cells.append(Text("*" + text, style="green") if p.name in best else Text(text))
        table.add_row(spec.label, *cells)
    return table


def comparison_tables(comparison: Comparison, out: Console) -> list[Table]:
    """The comparison as one table, or split into as few tables (plans in order) as fit."""
    plans = comparison.plans
    for per_table in range(len(plans), 0, -1):
        groups = [plans[k : k + per_table] for k in range(0, len(plans), per_table)]
        tables = [
            comparison_table(comparison, group, first=k == 0, last=k == len(groups) - 1)
            for k, group in enumerate(groups)
        ]
        if all(_fits(t, out) for t in tables):
            return tables
    return tables


def render_comparison(comparison: Comparison, files: Mapping[str, str], out: Console) -> None:
    cert = comparison.run.solution.certificate
    gap = "∞" if cert.gap == float("inf") else f"{cert.gap:.2%}"
    notes = Text.assemble(
        "optimized: status ",
        (str(cert.status), "bold"),
        f", highest utilization {cert.objective:.1%}, proven lower bound {cert.lower_bound:.1%}"
        f" (gap {gap}), {cert.time_seconds:.1f} s",
    )
    status_quo = comparison.plan("status_quo") if "status_quo" in comparison.names else None
    if status_quo is not None and status_quo.evaluation.breaks:
        breaks = ", ".join(f"{code} {n:,}" for code, n in status_quo.evaluation.breaks.items())
        notes.append(f"\nstatus quo breaks rules (kept and counted): {breaks}")
    for name, path in files.items():
        notes.append(f"\n{name}: {path}")
    for table in comparison_tables(comparison, out):
        out.print(table)
    out.print(Panel(notes, expand=False))


# --- effort ----------------------------------------------------------------------------------


def effort_rules_table(rules: pl.DataFrame, n_cases: int, *, without: Sequence[str] = ()) -> Table:
    """The rule summary of `assign effort` (columns in `without` left out)."""
    table = Table(title=f"Effort rules over {n_cases:,} cases", title_justify="left")
    shown = [column for column in rules.columns if column not in without]
    for column in shown:
        numeric = rules[column].dtype.is_numeric()
        table.add_column(
            column, justify="right" if numeric else "left", no_wrap=numeric, overflow="fold"
        )
    for row in rules.select(shown).iter_rows():
        table.add_row(*[Text(f"{v:,.2f}" if isinstance(v, float) else str(v)) for v in row])
    return table


def render_effort_rules(rules: pl.DataFrame, n_cases: int, out: Console) -> None:
    """The rule table; on a terminal too narrow for the conditions beside the figures, the
    conditions follow the table, one line per rule, instead of being cut into fragments."""
    table = effort_rules_table(rules, n_cases)
    if "when" not in rules.columns or _fits(table, out):
        out.print(table)
        return
    out.print(effort_rules_table(rules, n_cases, without=("when",)))
    out.print(Text("conditions:", style="bold"))
    for rule, when in rules.select("rule", "when").iter_rows():
        if when:
            out.print(Padding(Text(f"{rule}: {when}"), (0, 0, 0, 2)))


# --- phases and progress ---------------------------------------------------------------------


def phase_table(phases: Sequence[Phase], components: Sequence[ComponentReport] = ()) -> Table:
    """Time and memory per phase; under `solve`, the steps of its longest component."""
    table = Table(title="phases", title_justify="left")
    for column in ("phase", "seconds", "rss MB", "peak MB"):
        table.add_column(column, justify="left" if column == "phase" else "right", no_wrap=True)
    longest = max(components, key=lambda c: c.seconds, default=None)
    for p in phases:
        table.add_row(p.name, f"{p.seconds:.2f}", f"{p.rss_mb:,.0f}", f"{p.peak_mb:,.0f}")
        if p.name == "solve" and longest is not None:
            for step, seconds in longest.steps.items():
                table.add_row(f"  {step}", f"{seconds:.2f}", "", "", style="dim")
    return table


class SolveStatus:
    """The live status line: phase, time used of the limit, and during the solve the incumbent's
    highest utilization and the proven bound as they improve. Re-rendered on every refresh, so
    the clock moves even when the solver is silent."""

    def __init__(self, started: float, time_limit: float | None) -> None:
        self.started = started
        self.time_limit = time_limit
        self.phase = "starting"
        self.message = ""
        self.peak: float | None = None
        self.bound: float | None = None

    def on_phase(self, name: str) -> None:
        self.phase, self.message = name, ""

    def on_progress(
        self, message: str, /, *, peak: float | None = None, bound: float | None = None
    ) -> None:
        self.message = message
        if peak is not None:
            self.peak = peak
        if bound is not None:
            self.bound = bound

    def on_draws(self, done: int, total: int) -> None:
        """Monte Carlo progress of `--robustness`."""
        self.message = f"Monte Carlo {done:,}/{total:,} draws"

    def __rich_console__(self, out: Console, options: ConsoleOptions) -> Any:
        elapsed = time.perf_counter() - self.started
        text = Text.assemble((self.phase, "bold"), f"  {elapsed:.1f} s")
        if self.time_limit is not None:
            text.append(f" of {self.time_limit:g} s")
        if self.phase == "solve":
            if self.peak is not None:
                text.append(f" · peak {self.peak:.2%}")
            if self.bound is not None:
                text.append(f" · bound {self.bound:.2%}")
        if self.message:
            text.append(f" · {self.message}", style="dim")
        text.truncate(max(10, options.max_width - 2), overflow="ellipsis")
        yield text
