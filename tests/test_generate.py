"""Synthetic data: contract shape, determinism, chunking, realistic shares, file round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assigncli import contract
from assigncli.errors import UsageError
from assigncli.generate import (
    CASE_ATTRIBUTE_COLUMNS,
    FIELD_OFFICES,
    office_case_shares,
    write_dataset,
)
from assigncli.generate import generate_cases as cases_for
from assigncli.generate import generate_roster as roster_of

ROSTER_SCHEMA = {**contract.ROSTER_REQUIRED, **contract.ROSTER_OPTIONAL}
CASES_SCHEMA = {**contract.CASES_REQUIRED, **contract.CASES_OPTIONAL, **CASE_ATTRIBUTE_COLUMNS}


@pytest.fixture(scope="module")
def national_roster() -> pl.DataFrame:
    return roster_of(6000, 25, seed=11)


@pytest.fixture(scope="module")
def sample(national_roster: pl.DataFrame) -> pl.DataFrame:
    """50k cases joined to their status-quo officer."""
    cases = cases_for(national_roster, 50_000, seed=11)
    return cases.join(
        national_roster.rename({"office": "officer_office"}),
        left_on="current_officer_id",
        right_on="officer_id",
        how="left",
    )


def test_roster_has_exactly_the_contract_columns_and_dtypes() -> None:
    assert roster_of(40, 4, seed=1).schema == pl.Schema(ROSTER_SCHEMA)


def test_cases_have_the_contract_and_effort_model_columns_and_dtypes() -> None:
    cases = cases_for(roster_of(40, 4, seed=1), 500, seed=1)
    assert cases.schema == pl.Schema(CASES_SCHEMA)


def test_same_seed_gives_identical_frames_and_another_seed_does_not() -> None:
    first = roster_of(200, 6, seed=5)
    assert_frame_equal(first, roster_of(200, 6, seed=5))
    assert not first.equals(roster_of(200, 6, seed=6))
    assert_frame_equal(cases_for(first, 3000, seed=5), cases_for(first, 3000, seed=5))
    assert not cases_for(first, 3000, seed=5).equals(cases_for(first, 3000, seed=6))


def test_chunks_continue_ids_and_concatenate_to_the_whole_across_block_boundaries() -> None:
    roster = roster_of(60, 5, seed=3)
    whole = cases_for(roster, 65_700, seed=3)
    parts = [cases_for(roster, 65_500, seed=3), cases_for(roster, 200, seed=3, start=65_500)]
    assert parts[1].get_column("case_id")[0] == "C0065501"
    assert_frame_equal(pl.concat(parts), whole)


def test_case_ids_are_one_based_and_zero_padded_to_fit_the_largest_id() -> None:
    roster = roster_of(10, 2, seed=1)
    assert cases_for(roster, 2, seed=1).get_column("case_id").to_list() == ["C0000001", "C0000002"]
    wide = cases_for(roster, 2, seed=1, start=9_999_999).get_column("case_id").to_list()
    assert wide == ["C10000000", "C10000001"]


def test_offices_use_real_field_office_codes_up_to_25_then_generic_codes() -> None:
    small = set(roster_of(100, 25, seed=1).get_column("office").explode())
    assert small == set(FIELD_OFFICES)
    large = set(roster_of(100, 30, seed=1).get_column("office").explode())
    assert large == set(FIELD_OFFICES) | {"F026", "F027", "F028", "F029", "F030"}


def test_roster_shares_are_realistic(national_roster: pl.DataFrame) -> None:
    """Capacity 120-150 h; ~3 % inactive, ~8 % on rotation, ~5 % cover two offices; skill shares."""
    r = national_roster
    assert r.get_column("officer_id").is_unique().all()
    assert r.get_column("capacity_hours").is_between(120, 150).all()
    assert r.get_column("unavailable_days").is_between(0, 28).all()
    shares = r.select(
        inactive=(~pl.col("active")).mean(),
        rotation=(pl.col("unavailable_days") >= 14).mean(),
        whole_cycle=(pl.col("unavailable_days") >= 28).mean(),
        capped=pl.col("max_cases").is_not_null().mean(),
        two_offices=(pl.col("office").list.len() == 2).mean(),
        natsec=pl.col("skills").list.contains("national_security").mean(),
        gps=pl.col("skills").list.contains("gps_monitoring").mean(),
        spanish=pl.col("skills").list.contains("lang:es").mean(),
    ).row(0, named=True)
    assert 0.02 <= shares["inactive"] <= 0.04
    assert 0.07 <= shares["rotation"] <= 0.12
    assert 0.02 <= shares["whole_cycle"] <= 0.06
    assert 0.03 <= shares["capped"] <= 0.06
    assert 0.04 <= shares["two_offices"] <= 0.06
    assert 0.08 <= shares["natsec"] <= 0.10
    assert 0.25 <= shares["gps"] <= 0.30
    assert 0.37 <= shares["spanish"] <= 0.43


@pytest.mark.parametrize(("n_officers", "n_offices"), [(6000, 25), (30, 5), (12, 4)])
def test_every_office_has_available_national_security_and_gps_officers(
    n_officers: int, n_offices: int
) -> None:
    roster = roster_of(n_officers, n_offices, seed=2)
    available = pl.col("active") & (pl.col("unavailable_days") < 28)
    per_office = (
        roster.explode("office")
        .filter(available)
        .group_by("office")
        .agg(
            natsec=pl.col("skills").list.contains("national_security").sum(),
            gps=pl.col("skills").list.contains("gps_monitoring").sum(),
        )
    )
    assert per_office.height == n_offices
    minimum = min(2, n_officers // n_offices)
    assert per_office.get_column("natsec").min() >= minimum  # type: ignore[operator]
    assert per_office.get_column("gps").min() >= minimum  # type: ignore[operator]


def test_one_office_is_understaffed_at_about_ten_thousand_per_seven_thousand(
    national_roster: pl.DataFrame,
) -> None:
    officers = national_roster.group_by(pl.col("office").list.first()).len().sort("office")
    codes = list(FIELD_OFFICES)  # already in size order
    expected = dict(zip(codes, office_case_shares(codes), strict=True))
    ratio = np.array([expected[o] / k for o, k in officers.iter_rows()]) * national_roster.height
    assert 1.25 <= ratio.max() <= 1.6
    assert np.median(ratio) == pytest.approx(1.0, abs=0.1)


def test_office_case_shares_are_skewed(sample: pl.DataFrame) -> None:
    counts = sample.get_column("office").value_counts().get_column("count")
    assert counts.max() / counts.min() > 5  # type: ignore[operator]


def test_case_attribute_shares_match_the_docket_figures(sample: pl.DataFrame) -> None:
    """Shares from the design: 1.5M/7.5M final orders, 423k convictions, 182k on GPS/app."""
    s = sample.select(
        detained=(pl.col("docket") == "detained").mean(),
        final=pl.col("final_order").mean(),
        conviction=pl.col("criminal_conviction").mean(),
        uncooperative=(pl.col("country_cooperation") == "uncooperative").mean(),
        travel=pl.col("travel_document_needed").mean(),
        travel_if_final=pl.col("travel_document_needed").filter("final_order").mean(),
        gps_or_app=pl.col("monitoring").is_in(["gps", "phone_app"]).mean(),
        check_in=(pl.col("monitoring") == "check_in").mean(),
        natsec=pl.col("national_security_flag").mean(),
    ).row(0, named=True)
    assert 0.005 <= s["detained"] <= 0.03
    assert 0.18 <= s["final"] <= 0.22
    assert 0.048 <= s["conviction"] <= 0.064
    assert 0.05 <= s["uncooperative"] <= 0.10
    assert s["travel_if_final"] > 4 * s["travel"] / 2
    assert 0.019 <= s["gps_or_app"] <= 0.029
    assert 0.05 <= s["check_in"] <= 0.15
    assert 0.0 < s["natsec"] < 0.01
    assert set(sample.get_column("docket")) == {"detained", "non_detained"}
    assert set(sample.get_column("country_cooperation")) == {
        "cooperative",
        "at_risk",
        "uncooperative",
    }
    assert set(sample.get_column("monitoring")) == {"none", "check_in", "phone_app", "gps"}
    detained_monitoring = sample.filter(pl.col("docket") == "detained").get_column("monitoring")
    assert set(detained_monitoring) == {"none"}


def test_contract_column_shares(sample: pl.DataFrame) -> None:
    """~5 % new, ~1 % departed officer, ~2 % locked, ~1 % explicit effort, few required skills."""
    s = sample.select(
        new=pl.col("current_officer_id").is_null().mean(),
        departed=pl.col("current_officer_id").str.starts_with("X-OFF").mean(),
        locked=pl.col("locked").mean(),
        explicit=pl.col("effort_hours").is_not_null().mean(),
        required=(pl.col("required_skills").list.len() > 0).mean(),
    ).row(0, named=True)
    assert 0.04 <= s["new"] <= 0.06
    assert 0.007 <= s["departed"] <= 0.013
    assert 0.015 <= s["locked"] <= 0.025
    assert 0.007 <= s["explicit"] <= 0.013
    assert 0.01 <= s["required"] <= 0.06
    hours = sample.get_column("effort_hours").drop_nulls()
    assert hours.is_between(0.5, 12).all()
    assert ((hours * 4).round(0) == hours * 4).all()


def test_departed_officer_ids_are_not_on_the_roster(
    sample: pl.DataFrame, national_roster: pl.DataFrame
) -> None:
    departed = sample.filter(pl.col("current_officer_id").str.starts_with("X-OFF"))
    assert departed.height > 0
    assert departed.get_column("current_officer_id").is_in(national_roster["officer_id"]).sum() == 0


def test_locked_cases_have_an_active_current_officer_on_the_roster(sample: pl.DataFrame) -> None:
    locked = sample.filter("locked")
    assert locked.height > 0
    assert locked.get_column("current_officer_id").null_count() == 0
    assert locked.get_column("active").fill_null(False).all()  # joined: null = not on the roster


def test_status_quo_respects_office_membership_but_not_always_skills(sample: pl.DataFrame) -> None:
    held = sample.filter(pl.col("current_officer_id").str.starts_with("OFF"))
    assert held.select(pl.col("officer_office").list.contains(pl.col("office")).all()).item()
    natsec = held.filter("national_security_flag")
    qualified = natsec.select(pl.col("skills").list.contains("national_security").mean()).item()
    assert 0.6 < qualified < 1.0  # mostly routed to a cleared officer, some violations


def test_status_quo_caseloads_vary_a_lot_within_an_office(sample: pl.DataFrame) -> None:
    per_officer = (
        sample.filter(
            pl.col("current_officer_id").str.starts_with("OFF"), pl.col("office") == "NYC"
        )
        .group_by("current_officer_id")
        .len()
        .get_column("len")
    )
    q90, q10 = per_officer.quantile(0.9), per_officer.quantile(0.1)
    assert q90 is not None and q10 is not None and q90 > 4 * q10


def test_required_skills_exist_among_the_office_officers(
    sample: pl.DataFrame, national_roster: pl.DataFrame
) -> None:
    """Except lang:ru, deliberately kept so that a few cases are genuinely unassignable."""
    offered = (
        national_roster.explode("office").explode("skills").select("office", "skills").unique()
    )
    needed = (
        sample.select("office", "required_skills")
        .explode("required_skills")
        .drop_nulls()
        .filter(pl.col("required_skills") != "lang:ru")
        .unique()
    )
    missing = needed.join(
        offered, left_on=["office", "required_skills"], right_on=["office", "skills"], how="anti"
    )
    assert needed.height > 0
    assert missing.height == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_officers": 3, "n_offices": 4}, "one officer per office"),
        ({"n_officers": 3, "n_offices": 0}, "n_offices"),
        ({"n_officers": 3, "n_offices": 1, "seed": -1}, "seed"),
    ],
)
def test_impossible_sizes_are_usage_errors(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        roster_of(**{"seed": 1, **kwargs})


def _expected(n_cases: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What write_dataset(n_officers=150, n_offices=5, seed=9) should contain."""
    roster = roster_of(150, 5, seed=9, mean_caseload=n_cases / 150)
    assert roster.get_column("max_cases").null_count() < roster.height  # caps are exercised too
    return roster, cases_for(roster, n_cases, seed=9)


def _from_text(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The contract's reading of CSV/Excel text; lists: ';'-joined, empty text is an empty list."""

    def parse(name: str, dtype: pl.DataType) -> pl.Expr:
        text = pl.col(name)
        if dtype == pl.List(pl.String):
            return text.fill_null("").str.split(";").list.filter(pl.element() != "")
        if dtype == pl.Boolean:
            return text.str.to_lowercase() == "true"
        if dtype == pl.Int64:  # Excel stores every number as a float
            return text.cast(pl.Float64).cast(pl.Int64)
        return text.cast(dtype)

    return df.with_columns(parse(name, dtype) for name, dtype in schema.items())


def test_parquet_round_trip_keeps_native_lists_and_does_not_depend_on_chunk_size(
    tmp_path: Path,
) -> None:
    roster, cases = _expected(2000)
    seen: list[tuple[int, int]] = []
    paths = write_dataset(
        tmp_path / "a",
        n_cases=2000,
        n_officers=150,
        n_offices=5,
        seed=9,
        chunk_size=700,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [p.name for p in paths] == ["roster.parquet", "cases.parquet"]
    assert_frame_equal(pl.read_parquet(paths[0]), roster)
    assert_frame_equal(pl.read_parquet(paths[1]), cases)
    assert seen == [(700, 2000), (1400, 2000), (2000, 2000)]
    other = write_dataset(tmp_path / "b", n_cases=2000, n_officers=150, n_offices=5, seed=9)
    assert_frame_equal(pl.read_parquet(other[1]), cases)


def test_csv_round_trip_joins_lists_with_semicolons_and_is_byte_identical_per_seed(
    tmp_path: Path,
) -> None:
    roster, cases = _expected(1500)
    kwargs: dict[str, Any] = {"n_cases": 1500, "n_officers": 150, "n_offices": 5, "seed": 9}
    paths = write_dataset(tmp_path / "a", fmt="csv", chunk_size=400, **kwargs)
    text = paths[0].read_text()
    assert "national_security" in text and ";" in text
    read_roster = pl.read_csv(paths[0], infer_schema=False)
    read_cases = pl.read_csv(paths[1], infer_schema=False)
    assert_frame_equal(_from_text(read_roster, ROSTER_SCHEMA), roster)
    assert_frame_equal(_from_text(read_cases, CASES_SCHEMA), cases)
    again = write_dataset(tmp_path / "b", fmt="csv", **kwargs)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


def test_excel_round_trip(tmp_path: Path) -> None:
    roster, cases = _expected(300)
    paths = write_dataset(
        tmp_path, fmt="xlsx", n_cases=300, n_officers=150, n_offices=5, seed=9, chunk_size=128
    )
    assert [p.name for p in paths] == ["roster.xlsx", "cases.xlsx"]
    read_roster = pl.read_excel(paths[0], infer_schema_length=0)
    read_cases = pl.read_excel(paths[1], infer_schema_length=0)
    assert_frame_equal(_from_text(read_roster, ROSTER_SCHEMA), roster)
    assert_frame_equal(_from_text(read_cases, CASES_SCHEMA), cases)


def test_excel_refuses_more_rows_than_a_sheet_holds_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Excel"):
        write_dataset(tmp_path, fmt="xlsx", n_cases=1_100_000, n_officers=50, n_offices=5, seed=1)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_partial_or_temporary_file(tmp_path: Path) -> None:
    def explode(done: int, total: int) -> None:
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_dataset(
            tmp_path,
            n_cases=1000,
            n_officers=20,
            n_offices=2,
            seed=1,
            chunk_size=300,
            progress=explode,
        )
    assert list(tmp_path.iterdir()) == []


def test_an_empty_case_list_is_still_a_readable_file_with_the_columns(tmp_path: Path) -> None:
    paths = write_dataset(tmp_path, n_cases=0, n_officers=5, n_offices=1, seed=1)
    cases = pl.read_parquet(paths[1])
    assert cases.height == 0
    assert cases.schema == pl.Schema(CASES_SCHEMA)
