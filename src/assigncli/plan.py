"""Turn a class-level solution into the per-case plan (vectorized: ranks and as-of joins).

Within a held class the first cases (in input order) stay and the rest are released; within a pool,
members are handed to officers in blocks following the cumulative flows. Every case of a class
is interchangeable, so any such order realizes the same loads.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from assigncli.contract import PLAN_COLUMNS
from assigncli.problem import HELD, LOCKED, NEW, ORPHAN, Problem
from assigncli.solve import Solution


def build_plan(problem: Problem, solution: Solution) -> pl.DataFrame:
    """The plan table (contract.PLAN_COLUMNS), one row per input case in input order."""
    cases = problem.cases
    officer_ids = pl.Series("officer_ids", problem.officer_ids, dtype=pl.String)

    held_keep = pl.DataFrame(
        {
            "held": np.arange(problem.n_held, dtype=np.int64),
            "keep": (problem.held_count - solution.released).astype(np.int64),
        }
    )
    frame = (
        cases.join(held_keep, on="held", how="left")
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("held").alias("held_rank"))
        .with_columns(
            ((pl.col("status") == HELD) & (pl.col("held_rank") < pl.col("keep"))).alias("kept")
        )
    )
    in_pool = pl.col("status").is_in([ORPHAN, NEW]) | ((pl.col("status") == HELD) & ~pl.col("kept"))
    frame = frame.with_columns(
        pl.when(in_pool).then(pl.col("pool")).alias("member_pool"),
    ).with_columns(
        pl.when(pl.col("member_pool").is_not_null())
        .then(pl.int_range(pl.len(), dtype=pl.Int64).over("member_pool"))
        .alias("pool_rank")
    )

    flows = (
        pl.DataFrame(
            {
                "member_pool": solution.flow_pool.astype(np.int64),
                "to_officer": solution.flow_officer.astype(np.int64),
                "count": solution.flow_count.astype(np.int64),
            }
        )
        .filter(pl.col("count") > 0)
        .sort("member_pool", "to_officer")
        .with_columns(pl.col("count").cum_sum().over("member_pool").alias("end"))
        .with_columns((pl.col("end") - pl.col("count")).alias("pool_rank"))
    )
    members = (
        frame.filter(pl.col("member_pool").is_not_null())
        .select("row", "member_pool", "pool_rank")
        .sort("member_pool", "pool_rank")
    )
    matched = members.join_asof(
        flows.select("member_pool", "pool_rank", "to_officer", "end"),
        on="pool_rank",
        by="member_pool",
        strategy="backward",
        check_sortedness=False,  # both sides are sorted by (member_pool, pool_rank) above
    ).with_columns(
        pl.when(pl.col("pool_rank") < pl.col("end")).then(pl.col("to_officer")).alias("to_officer")
    )
    frame = frame.join(matched.select("row", "to_officer"), on="row", how="left").sort("row")

    frame = frame.with_columns(
        pl.when(pl.col("status").is_in([LOCKED]) | pl.col("kept"))
        .then(pl.col("officer"))
        .otherwise(pl.col("to_officer"))
        .alias("final_officer")
    )
    frame = frame.with_columns(
        pl.col("final_officer")
        .map_batches(lambda s: _ids(officer_ids, s), return_dtype=pl.String)
        .alias("officer_id")
    )
    moved = (
        pl.col("officer_id").is_not_null()
        & pl.col("current_officer_id").is_not_null()
        & (pl.col("officer_id") != pl.col("current_officer_id"))
    )
    reason = (
        pl.when(pl.col("status") == LOCKED)
        .then(pl.lit("locked: stays with its officer"))
        .when(pl.col("kept"))
        .then(pl.lit("kept: stays with its current officer"))
        .when(pl.col("officer_id").is_null() & (pl.col("status") == "unassignable"))
        .then(pl.format("unassignable: {}", pl.col("reason")))
        .when(pl.col("officer_id").is_null())
        .then(pl.lit("unassigned: every eligible officer is at max_cases"))
        .when(pl.col("status") == ORPHAN)
        .then(pl.format("moved: {}", pl.col("reason")))
        .when(pl.col("status") == NEW)
        .then(pl.lit("new case: assigned where it balances load"))
        .when(pl.col("officer_id") == pl.col("current_officer_id"))
        .then(pl.lit("kept: stays with its current officer"))
        .otherwise(pl.format("moved to balance load from {}", pl.col("current_officer_id")))
    )
    plan = frame.select(
        "case_id",
        "officer_id",
        pl.col("current_officer_id").alias("previous_officer_id"),
        moved.fill_null(False).alias("moved"),
        "effort_hours",
        "locked",
        reason.alias("reason"),
    )
    return plan.cast(dict(PLAN_COLUMNS))  # type: ignore[arg-type]


def _ids(officer_ids: pl.Series, index: pl.Series) -> pl.Series:
    """Officer index → officer id, keeping nulls (a gather, not a Python loop)."""
    return (
        officer_ids.gather(index.cast(pl.Int64)).alias(index.name)
        if index.len()
        else index.cast(pl.String)
    )
