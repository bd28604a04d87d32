"""What a plan changed, per office, as a dict (for --json) and as rich tables (for people)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from assigncli.pipeline import PlanRun


def office_table(officers: pl.DataFrame, plan: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
    """Per office (an officer counts toward their first office): utilization before → after."""
    measured = officers.filter(pl.col("available_hours") > 0).with_columns(
        pl.col("office").list.first().alias("office")
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


def _arrow(before: object, after: object) -> str:
    return f"{_pct(before)} → [bold]{_pct(after)}[/bold]"


def render(run: PlanRun, files: Mapping[str, str], console: Console) -> None:
    cert = run.solution.certificate
    offices = office_table(run.officers, run.plan, run.cases)
    table = Table(title="Utilization by office (before → after)", title_justify="left")
    for column in (
        "office",
        "officers",
        "cases",
        "highest",
        "median",
        "lowest",
        "moves",
        "unassignable",
    ):
        table.add_column(column, justify="left" if column == "office" else "right")
    for row in offices.iter_rows(named=True):
        table.add_row(
            str(row["office"]),
            str(row["officers"]),
            f"{row['cases']:,}",
            _arrow(row["highest_before"], row["highest_after"]),
            _arrow(row["median_before"], row["median_after"]),
            _arrow(row["lowest_before"], row["lowest_after"]),
            f"{row['moves']:,}",
            f"{row['unassigned']:,}",
        )
    gap = "∞" if cert.gap == float("inf") else f"{cert.gap:.3%}"
    certificate = (
        f"status [bold]{cert.status}[/bold] ({cert.method}, {cert.components} component(s), "
        f"{cert.time_seconds:.1f} s)\n"
        f"highest utilization [bold]{_pct_precise(run.check.max_utilization)}[/bold], "
        f"proven lower bound {_pct_precise(cert.lower_bound)}, gap {gap}\n"
        f"lowest utilization {_pct_precise(run.check.min_utilization)}; "
        f"moves {run.check.moves:,} ({cert.forced_moves:,} forced); "
        f"unassigned {run.check.unassigned:,}"
    )
    where = "\n".join(f"{name}: {path}" for name, path in files.items())
    parts: list[Any] = [table, Panel(certificate, title="certificate", expand=False)]
    if where:
        parts.append(Panel(where, title="written", expand=False))
    console.print(Group(*parts))


def _pct_precise(value: object) -> str:
    return f"{value:.2%}" if isinstance(value, int | float) else "–"
