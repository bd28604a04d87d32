"""Tests of the per-case data path around the solver: grouping (problem) and disaggregation (plan)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assigncli.problem as problem_module
from assigncli.plan import build_plan
from assigncli.problem import STATUS_DTYPE, Problem, _distinct_pairs, build_problem
from assigncli.read import chunked_like
from assigncli.solvers.solve import SolveOptions, solve
from tests.instances import Instance, random_instance


def _same_problem(a: Problem, b: Problem) -> bool:
    for name in Problem.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not np.array_equal(x, y):
                return False
        elif isinstance(x, pl.DataFrame):
            if not x.equals(y):
                return False
        elif x != y:
            return False
    return True


def _instance(seed: int) -> Instance:
    return random_instance(seed, n_cases=300, n_officers=12, n_offices=3)


def _in_chunks(frame: pl.DataFrame, size: int) -> pl.DataFrame:
    """The same table laid out in chunks of `size` rows, as a Parquet file read back is."""
    parts = [frame.slice(start, size) for start in range(0, frame.height, size)]
    return pl.concat(parts, rechunk=False)


@pytest.mark.parametrize("seed", range(4))
def test_lookup_tables_and_hash_lookups_build_the_same_problem(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dense lookup tables are a speed-up only: without them the problem is identical."""
    inst = _instance(seed)
    fast = build_problem(inst.roster, inst.cases, inst.config)
    monkeypatch.setattr(problem_module, "_DENSE_EDGE_CELLS", 0)
    monkeypatch.setattr(problem_module, "_DENSE_RANK_CELLS", 0)
    assert _same_problem(fast, build_problem(inst.roster, inst.cases, inst.config))


def test_a_hash_collision_falls_back_to_the_exact_join(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cases are matched to their (office, skills) pair by hash; colliding hashes use a join."""
    inst = _instance(0)
    expected = build_problem(inst.roster, inst.cases, inst.config)
    monkeypatch.setattr(pl.Expr, "hash", lambda self, *args, **kwargs: pl.lit(0, pl.UInt64))
    assert _same_problem(expected, build_problem(inst.roster, inst.cases, inst.config))


def test_unsorted_and_repeated_skills_share_a_group() -> None:
    """['b', 'a', 'a'] and ['a', 'b'] are one eligibility group, numbered at first appearance."""
    inst = _instance(1)
    cases = inst.cases.head(3).with_columns(
        office=pl.lit(inst.cases["office"][0]),
        required_skills=pl.Series([["b", "a", "a"], [], ["a", "b"]], dtype=pl.List(pl.String)),
    )
    problem = build_problem(inst.roster, cases, inst.config)
    assert problem.group_skills == (("a", "b"), ())
    assert problem.cases["group"].to_list() == [0, 1, 0]


@pytest.mark.parametrize("seed", range(3))
def test_status_is_an_enum_and_only_orphans_and_unassignable_cases_have_a_reason(
    seed: int,
) -> None:
    """Reasons are built for the cases that need one: every orphan and unassignable case."""
    inst = _instance(seed)
    cases = build_problem(inst.roster, inst.cases, inst.config).cases
    assert cases.schema["status"] == STATUS_DTYPE
    needs_reason = cases["status"].is_in(["orphan", "unassignable"])
    assert (cases["reason"].is_not_null() == needs_reason).all()


@pytest.mark.parametrize("seed", range(3))
def test_chunked_inputs_give_the_same_problem_and_plan(seed: int) -> None:
    """A case table in many chunks (a Parquet file) gives the same problem and plan as one chunk."""
    inst = _instance(seed)
    whole = build_problem(inst.roster, inst.cases, inst.config)
    chunked = build_problem(inst.roster, _in_chunks(inst.cases, 37), inst.config)
    assert _same_problem(whole, chunked)
    solution = solve(whole, SolveOptions(solver="scale", time_limit=5.0, workers=1))
    assert build_plan(whole, solution).equals(build_plan(chunked, solution))


def test_chunked_like_follows_the_chunks_of_its_model() -> None:
    """chunked_like splits a column like another one without changing a value."""
    like = pl.concat([pl.Series([1, 2, 3]), pl.Series([4, 5])], rechunk=False)
    values = pl.Series("v", ["a", None, "c", "d", "e"])
    split = chunked_like(values, like)
    assert split.chunk_lengths() == [3, 2]
    assert split.equals(values)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C", None]),
            st.one_of(st.none(), st.lists(st.sampled_from(["x", "y", "z"]), max_size=3)),
        ),
        max_size=40,
    )
)
def test_distinct_pairs_are_the_unique_rows_in_first_appearance_order(
    rows: list[tuple[str | None, list[str] | None]],
) -> None:
    need = pl.DataFrame(
        {"office": [r[0] for r in rows], "required_skills": [r[1] for r in rows]},
        schema={"office": pl.String, "required_skills": pl.List(pl.String)},
    )
    assert _distinct_pairs(need).equals(need.unique(maintain_order=True))
