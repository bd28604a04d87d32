"""Synthetic rosters and case lists shaped like the U.S. immigration docket, up to national scale.

The figures that anchor the shares below come from the public oversight reports summarised in the
design ("Why it exists"): a docket of about 7.5 million people, 1.5 million with final orders, about
423,000 with criminal convictions, about 182,000 under GPS or phone-app monitoring, caseloads of
about 7,000 per officer nationally and 10,000 in one field office (kept as a ratio: the absolute
caseload is whatever n_cases / n_officers the caller asks for). Everything else (office sizes,
skill shares, leave, locks, explicit estimates) is a plausible assumption, named in a constant so
that it can be questioned; none of it describes a real office or person.

Randomness is counter-based in spirit: every case attribute has its own stream, and each stream is
cut into fixed blocks of case numbers seeded from (seed, block, stream). Case number k therefore
gets the same attributes however the docket is split into chunks, so `write_dataset` output does not
depend on `chunk_size`, and any chunk can be regenerated alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from assigncli.contract import (
    CASES_OPTIONAL,
    CASES_REQUIRED,
    LIST_SEPARATOR,
    ROSTER_OPTIONAL,
    ROSTER_REQUIRED,
)
from assigncli.errors import UsageError
from assigncli.write import EXCEL_MAX_ROWS, write_all

Format = Literal["parquet", "csv", "xlsx"]

# ICE ERO field offices. The order is an illustrative size rank (largest docket first), used only to
# give offices unequal shares; it is not a sourced ranking.
FIELD_OFFICES: tuple[str, ...] = (
    "NYC", "HOU", "MIA", "LOS", "DAL", "NEW", "SFR", "ATL", "CHI", "SNA", "WAS", "ELP", "SND",
    "PHO", "NOL", "BOS", "SEA", "DEN", "BAL", "PHI", "SLC", "DET", "SPM", "BUF", "HLG",
)  # fmt: skip
OFFICE_RANK_OFFSET = 3.0  # share ∝ 1 / (rank + offset): the largest office ≈ 9 times the smallest

# --- roster assumptions -------------------------------------------------------------------------
CAPACITY_MEAN, CAPACITY_SD = 136.0, 8.0  # casework hours per 28 days, after collateral duties
CAPACITY_MIN, CAPACITY_MAX = 120.0, 150.0
REFERENCE_CYCLE_DAYS = 28.0  # the cycle the capacity figures above are stated for
UNDERSTAFFED_FACTOR = 0.68  # one office's staffing vs. its case share: ≈10,000 vs 7,000 per officer
STAFFING_NOISE_SD = 0.08  # the other offices scatter a little around proportional staffing
MIN_OFFICERS_PER_OFFICE = 3
COVER_SECOND_OFFICE = 0.05  # officers who also hold a neighbouring office's cases
INACTIVE = 0.03  # departed or on long leave, still on the roster
ON_DETAIL = 0.08  # details and 45-day rotations away from the office
DETAIL_WHOLE_CYCLE = 0.35  # of those: away for the entire cycle (no available hours)
LEAVE_DAYS_P = (0.55, 0.18, 0.15, 0.12)  # 0, 1, 2, 3 days of leave
CAPPED = 0.04  # trainees and light duty: a hard max_cases
CAPPED_SHARE_RANGE = (0.15, 0.5)  # their cap as a fraction of the average caseload
DEFAULT_MEAN_CASELOAD = 1250.0  # 7.5M cases / 6,000 officers, when the caller does not say
SKILL_SHARES: dict[str, float] = {
    "gps_monitoring": 0.27,
    "lang:es": 0.40,
    "lang:fr": 0.02,
    "lang:ht": 0.03,
    "lang:pt": 0.02,
    "lang:ru": 0.01,
    "lang:zh": 0.03,
    "national_security": 0.09,
}
# Every office gets at least this many active, available officers with the skill, so that typical
# flagged cases stay assignable even in a tiny roster.
GUARANTEED_SKILLS: dict[str, int] = {"national_security": 2, "gps_monitoring": 3, "lang:es": 2}

# --- case assumptions ---------------------------------------------------------------------------
DETAINED = 0.01  # ≈75k of 7.5M, the order of the detained population; the rest is non-detained
FINAL_ORDER = 1.5 / 7.5
FINAL_ORDER_IF_DETAINED = 0.50
CONVICTION = 0.423 / 7.5
CONVICTION_IF_DETAINED = 0.40
CONVICTION_FINAL_RATIO = 1.8  # a final order makes a conviction this much likelier
COOPERATION_P = (0.85, 0.08, 0.07)  # cooperative, at_risk, uncooperative
TRAVEL_DOC_IF_FINAL, TRAVEL_DOC_OTHER = 0.60, 0.02
GPS, PHONE_APP = 0.005, 0.019  # ≈182k of 7.5M on GPS or phone app (non-detained only)
CHECK_IN_IF_FINAL, CHECK_IN_OTHER = 0.35, 0.04
NATIONAL_SECURITY = 0.002
# Explicit requirements: (skill, share of cases, kept even where no officer of the office has it).
REQUIRED_SKILLS: tuple[tuple[str, float, bool], ...] = (
    ("lang:es", 0.030, False),
    ("lang:zh", 0.003, False),
    ("lang:ht", 0.003, False),
    ("lang:pt", 0.002, False),
    # Kept regardless, so that national data contains a few genuinely unassignable cases.
    ("lang:ru", 0.0005, True),
)
NEW_CASE = 0.05  # no officer yet
DEPARTED_OFFICER = 0.01  # officer of record no longer on the roster
DEPARTED_PER_OFFICER = 0.02  # size of each office's pool of departed officer ids
CASELOAD_SIGMA = 1.0  # lognormal spread of the status quo's "arbitrary" shares within an office
CAPPED_CASELOAD_WEIGHT = 0.3  # supervisors do give trainees fewer cases
COVER_CASELOAD_WEIGHT = 0.3  # and officers fewer cases of the office they only cover
# Status quo routes flagged cases to a qualified officer this often; the rest violate skill rules.
ROUTED_NATIONAL_SECURITY, ROUTED_GPS, ROUTED_LANGUAGE = 0.80, 0.75, 0.85
LOCKED = 0.022  # of cases with an active officer on the roster → ≈2 % of all cases
LOCKED_AWAY_FACTOR = 0.25  # an officer away all cycle rarely keeps a lock, but sometimes does
EXPLICIT_EFFORT = 0.01
EXPLICIT_EFFORT_RANGE = (0.5, 12.0)  # hours, log-uniform, rounded to a quarter hour

# Streams are fixed blocks of case numbers; 2**16 keeps per-block overhead small at national scale
# while a small request draws only the prefix it needs.
_BLOCK = 1 << 16
_TAG_ROSTER, _TAG_CASES, _TAG_WEIGHTS = 0, 1, 2
(
    _S_OFFICE,
    _S_DETAINED,
    _S_FINAL,
    _S_CONVICTION,
    _S_COOPERATION,
    _S_TRAVEL,
    _S_MONITORING,
    _S_NATSEC,
    _S_REQUIRED,
    _S_OWNER_KIND,
    _S_POOL,
    _S_OWNER,
    _S_LOCK,
    _S_EFFORT_FLAG,
    _S_EFFORT_VALUE,
) = range(15)

_DOCKETS = ("non_detained", "detained")
_COOPERATION = ("cooperative", "at_risk", "uncooperative")
_MONITORING = ("none", "check_in", "phone_app", "gps")
_NO_MONITORING, _CHECK_IN, _PHONE_APP, _GPS = range(4)
# Status-quo pools inside an office: anyone, or the officers qualified for a flagged case.
_POOL_ANY, _POOL_NATSEC, _POOL_GPS, _POOL_SPANISH = range(4)
_POOL_SKILL = {
    _POOL_NATSEC: "national_security",
    _POOL_GPS: "gps_monitoring",
    _POOL_SPANISH: "lang:es",
}

ROSTER_COLUMNS = (*ROSTER_REQUIRED, *ROSTER_OPTIONAL)

CASE_ATTRIBUTE_COLUMNS: dict[str, pl.DataType] = {
    "docket": pl.String(),
    "final_order": pl.Boolean(),
    "criminal_conviction": pl.Boolean(),
    "country_cooperation": pl.String(),
    "travel_document_needed": pl.Boolean(),
    "monitoring": pl.String(),
    "national_security_flag": pl.Boolean(),
}


# --- offices ------------------------------------------------------------------------------------


def office_codes(n_offices: int) -> list[str]:
    """The first `n_offices` office codes: real ERO codes up to 25, then generic F026, F027…"""
    real = list(FIELD_OFFICES[:n_offices])
    return real + [f"F{i + 1:03d}" for i in range(len(real), n_offices)]


def _canonical_offices(codes: list[str]) -> list[str]:
    """Offices in size-rank order: the real codes by FIELD_OFFICES, then any others sorted."""
    rank = {code: i for i, code in enumerate(FIELD_OFFICES)}
    known = sorted((c for c in codes if c in rank), key=rank.__getitem__)
    return known + sorted(c for c in codes if c not in rank)


def office_case_shares(codes: list[str]) -> np.ndarray:
    """Share of the docket held by each office of `codes` (given in canonical order); Zipf-like."""
    weights = 1.0 / (np.arange(len(codes), dtype=np.float64) + OFFICE_RANK_OFFSET)
    shares: np.ndarray = weights / weights.sum()
    return shares


# --- roster -------------------------------------------------------------------------------------


def _allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split `total` into integer parts ∝ `weights` (largest remainder), each part ≥ `minimum`."""
    target = total * weights / weights.sum()
    parts: np.ndarray = np.floor(target).astype(np.int64)
    short = total - int(parts.sum())
    # Stable sort: ties go to the larger office, so the split is deterministic.
    parts[np.argsort(-(target - parts), kind="stable")[:short]] += 1
    while (parts < minimum).any():
        needy = int(np.argmin(parts))
        parts[int(np.argmax(parts))] -= 1
        parts[needy] += 1
    return parts


def _round_cap(value: np.ndarray) -> np.ndarray:
    """Round caps to two significant figures, as a supervisor would set them (e.g. 350, 1,200)."""
    value = np.maximum(value, 1.0)
    scale = 10.0 ** np.maximum(np.floor(np.log10(value)) - 1, 0)
    rounded: np.ndarray = np.maximum(np.round(value / scale) * scale, 1).astype(np.int64)
    return rounded


def generate_roster(
    n_officers: int,
    n_offices: int,
    seed: int,
    *,
    cycle_days: float = REFERENCE_CYCLE_DAYS,
    mean_caseload: float = DEFAULT_MEAN_CASELOAD,
) -> pl.DataFrame:
    """A roster of `n_officers` spread unevenly over `n_offices` field offices, in contract dtypes.

    `mean_caseload` (cases per officer in the case list that will go with this roster) only scales
    the `max_cases` of trainees. Officers are grouped by home office, ids OFF00001, OFF00002, …
    """
    _check_counts(n_officers=n_officers, n_offices=n_offices, seed=seed)
    if n_officers < n_offices:
        raise UsageError(
            f"need at least one officer per office: {n_officers} officers, {n_offices} offices"
        )
    if cycle_days <= 0:
        raise UsageError(f"cycle_days must be > 0, got {cycle_days:g}")
    rng = np.random.default_rng([seed, _TAG_ROSTER])
    codes = office_codes(n_offices)
    shares = office_case_shares(codes)

    # Staffing is roughly proportional to the docket, with one office clearly short of officers.
    staffing = np.exp(rng.normal(0.0, STAFFING_NOISE_SD, n_offices))
    if n_offices > 1:
        staffing[int(rng.integers(0, max(1, n_offices // 2)))] = UNDERSTAFFED_FACTOR
    per_office = _allocate(
        n_officers, shares * staffing, min(MIN_OFFICERS_PER_OFFICE, n_officers // n_offices)
    )
    home = np.repeat(np.arange(n_offices), per_office)

    n = n_officers
    capacity = np.clip(rng.normal(CAPACITY_MEAN, CAPACITY_SD, n), CAPACITY_MIN, CAPACITY_MAX)
    capacity = np.round(capacity * (cycle_days / REFERENCE_CYCLE_DAYS) * 2.0) / 2.0

    leave = rng.choice(len(LEAVE_DAYS_P), size=n, p=LEAVE_DAYS_P).astype(np.float64)
    on_detail = rng.random(n) < ON_DETAIL
    detail_days = np.where(
        rng.random(n) < DETAIL_WHOLE_CYCLE,
        cycle_days,
        np.round(cycle_days * rng.uniform(0.5, 1.0, n)),
    )
    unavailable = np.minimum(np.where(on_detail, detail_days, leave), cycle_days)

    active = rng.random(n) >= INACTIVE
    # Half of the inactive officers are on long leave (away all cycle), half simply gone.
    unavailable = np.where(~active & (rng.random(n) < 0.5), cycle_days, unavailable)

    capped = rng.random(n) < CAPPED
    cap_values = _round_cap(mean_caseload * rng.uniform(*CAPPED_SHARE_RANGE, n))

    skills = {skill: rng.random(n) < share for skill, share in SKILL_SHARES.items()}
    # Trainees do not yet hold the clearances and certifications.
    skills["national_security"] &= ~capped
    skills["gps_monitoring"] &= ~capped

    # Guarantee each office a few available holders of the skills typical cases need.
    starts = np.concatenate([[0], np.cumsum(per_office)[:-1]])
    for start, size in zip(starts, per_office, strict=True):
        order = start + rng.permutation(size)
        for offset, (skill, count) in enumerate(GUARANTEED_SKILLS.items()):
            chosen = np.roll(order, -offset)[: min(count, size)]
            skills[skill][chosen] = True
            active[chosen] = True
            capped[chosen] = False
            unavailable[chosen] = np.minimum(unavailable[chosen], min(3.0, cycle_days / 2))

    # A few officers also cover a second office, chosen in proportion to office size.
    cover = (rng.random(n) < COVER_SECOND_OFFICE) if n_offices > 1 else np.zeros(n, dtype=bool)
    second = rng.choice(n_offices, size=n, p=shares)
    clash = second == home
    shift = rng.integers(1, max(2, n_offices), int(clash.sum()))
    second[clash] = (second[clash] + shift) % n_offices

    skill_names = sorted(SKILL_SHARES)
    codes_s = pl.Series(codes, dtype=pl.String)
    width = max(5, len(str(n_officers)))
    table = pl.DataFrame(
        {
            "number": np.arange(1, n + 1),
            "home": codes_s.gather(home),
            "second": codes_s.gather(second),
            "cover": cover,
            "capacity_hours": capacity,
            "unavailable_days": unavailable,
            "capped": capped,
            "cap": cap_values,
            "active": active,
            **{f"has:{name}": skills[name] for name in skill_names},
        }
    )
    no_skill = pl.lit(None, dtype=pl.String)
    return table.select(
        ("OFF" + pl.col("number").cast(pl.String).str.zfill(width)).alias("officer_id"),
        pl.when("cover")
        .then(pl.concat_list("home", "second"))
        .otherwise(pl.concat_list("home"))
        .alias("office"),
        pl.col("capacity_hours").cast(pl.Float64),
        pl.concat_list(
            pl.when(f"has:{name}").then(pl.lit(name)).otherwise(no_skill) for name in skill_names
        )
        .list.drop_nulls()
        .alias("skills"),
        pl.col("unavailable_days").cast(pl.Float64),
        pl.when("capped").then(pl.col("cap")).cast(pl.Int64).alias("max_cases"),
        pl.col("active").cast(pl.Boolean),
    )


# --- cases --------------------------------------------------------------------------------------


def _uniform(seed: int, stream: int, start: int, n: int) -> np.ndarray:
    """Uniforms for case numbers [start, start + n) of one stream, independent of chunking."""
    out = np.empty(n, dtype=np.float64)
    end = start + n
    pos = start
    while pos < end:
        block = pos // _BLOCK
        lo = pos - block * _BLOCK
        hi = min(end, (block + 1) * _BLOCK) - block * _BLOCK
        draws = np.random.default_rng([seed, _TAG_CASES, block, stream]).random(hi)
        out[pos - start : pos - start + hi - lo] = draws[lo:]
        pos += hi - lo
    return out


def _pick(u: np.ndarray, probabilities: tuple[float, ...]) -> np.ndarray:
    """Category index for each uniform, by inverse CDF."""
    cdf = np.cumsum(probabilities)
    index: np.ndarray = np.minimum(
        np.searchsorted(cdf / cdf[-1], u, side="right"), len(probabilities) - 1
    )
    return index


class _RosterIndex:
    """What case generation needs to know about the roster, per office, derived once."""

    def __init__(self, roster: pl.DataFrame, seed: int, cycle_days: float) -> None:
        missing = [c for c in ROSTER_COLUMNS if c not in roster.columns]
        if missing:
            raise UsageError(f"roster lacks column(s) {', '.join(missing)}")
        self.officer_ids = roster.get_column("officer_id")
        n = roster.height
        memberships = (
            roster.select(
                pl.int_range(pl.len()).alias("row"),
                pl.col("office").list.eval(pl.element().str.strip_chars()),
            )
            .explode("office")
            .drop_nulls()
        )
        self.codes = _canonical_offices(memberships.get_column("office").unique().to_list())
        if not self.codes:
            raise UsageError("the roster names no office, so no case can be generated")
        self.shares = office_case_shares(self.codes)
        code_index = {code: i for i, code in enumerate(self.codes)}
        # The first office listed is the officer's home; any other is an office they only cover.
        memberships = memberships.with_columns(
            pl.col("office").replace_strict(code_index, return_dtype=pl.Int64).alias("office_idx"),
            (pl.int_range(pl.len()).over("row") > 0).alias("covering"),
        )

        active = roster.get_column("active").fill_null(True).to_numpy().astype(bool)
        away = roster.get_column("unavailable_days").fill_null(0.0).to_numpy().astype(np.float64)
        self.capped = roster.get_column("max_cases").is_not_null().to_numpy().astype(bool)
        skills = roster.get_column("skills").fill_null([])
        self.lockable = active & ~self.capped
        self.away_all_cycle = away >= cycle_days
        available = active & ~self.away_all_cycle
        has = {
            skill: skills.list.contains(skill).to_numpy().astype(bool)
            for skill in sorted({s for s, _, _ in REQUIRED_SKILLS} | set(_POOL_SKILL.values()))
        }

        # Status quo shares: lognormal per officer, ignoring capacity and availability.
        weights_rng = np.random.default_rng([seed, _TAG_WEIGHTS])
        weight = np.exp(weights_rng.normal(0.0, CASELOAD_SIGMA, n))
        weight = np.where(self.capped, weight * CAPPED_CASELOAD_WEIGHT, weight)

        rows = memberships.get_column("row").to_numpy()
        offices = memberships.get_column("office_idx").to_numpy()
        covering = memberships.get_column("covering").to_numpy()
        n_offices = len(self.codes)
        self.office_skill = {
            skill: np.array(
                [(mask[rows] & available[rows])[offices == o].any() for o in range(n_offices)]
            )
            for skill, mask in has.items()
        }
        # One concatenated cumulative-weight array over every (office, pool) group lets a single
        # searchsorted pick all officers of a chunk at once.
        members: list[np.ndarray] = []
        group_weights: list[np.ndarray] = []
        n_groups = n_offices * 4
        self.group_start = np.zeros(n_groups, dtype=np.int64)
        self.group_size = np.zeros(n_groups, dtype=np.int64)
        filled = 0
        for office in range(n_offices):
            here = offices == office
            for pool in range(4):
                mask = here if pool == _POOL_ANY else here & has[_POOL_SKILL[pool]][rows]
                g = office * 4 + pool
                if not mask.any():  # nobody qualified: fall back to the whole office
                    self.group_start[g] = self.group_start[office * 4]
                    self.group_size[g] = self.group_size[office * 4]
                    continue
                members.append(rows[mask])
                group_weights.append(
                    np.where(covering[mask], COVER_CASELOAD_WEIGHT, 1.0) * weight[rows[mask]]
                )
                self.group_start[g] = filled
                self.group_size[g] = int(mask.sum())
                filled += int(mask.sum())
        self.members = np.concatenate(members)
        all_weights = np.concatenate(group_weights)
        self.cumulative = np.cumsum(all_weights)
        before = np.concatenate([[0.0], self.cumulative])
        self.group_base = before[self.group_start]
        self.group_total = before[self.group_start + self.group_size] - self.group_base

        # Departed officers: a small pool of ids per office, none of them on the roster.
        per_office = np.bincount(offices[~covering], minlength=n_offices)
        self.departed_count = np.maximum(1, np.round(per_office * DEPARTED_PER_OFFICER)).astype(
            np.int64
        )
        self.departed_start = np.concatenate([[0], np.cumsum(self.departed_count)[:-1]])
        n_departed = int(self.departed_count.sum())
        numbers = pl.int_range(1, n_departed + 1, eager=True).cast(pl.String)
        self.departed_ids = ("X-OFF" + numbers.str.zfill(max(5, len(str(n_departed))))).alias("id")

    def pick_officers(self, office: np.ndarray, pool: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Roster row of each case's status-quo officer, drawn by weight within (office, pool)."""
        g = office * 4 + pool
        target = self.group_base[g] + u * self.group_total[g]
        pos = np.searchsorted(self.cumulative, target, side="right")
        pos = np.clip(pos, self.group_start[g], self.group_start[g] + self.group_size[g] - 1)
        rows: np.ndarray = self.members[pos]
        return rows


def generate_cases(
    roster: pl.DataFrame,
    n_cases: int,
    seed: int,
    *,
    cycle_days: float = REFERENCE_CYCLE_DAYS,
    start: int = 0,
    id_width: int | None = None,
) -> pl.DataFrame:
    """Cases number start+1 … start+n_cases of a docket for `roster` (ids C0000001, …).

    Case k has the same content whichever chunk it is generated in, provided `seed`, `roster`,
    `cycle_days` and `id_width` (default: 7 digits, or more when the ids need them) are the same.
    """
    _check_counts(n_cases=n_cases, seed=seed)
    if start < 0:
        raise UsageError(f"start must be >= 0, got {start}")
    offices = _RosterIndex(roster, seed, cycle_days)
    return _cases(offices, n_cases, seed, start, id_width or max(7, len(str(start + n_cases))))


def _cases(offices: _RosterIndex, n: int, seed: int, start: int, width: int) -> pl.DataFrame:
    def u(stream: int) -> np.ndarray:
        return _uniform(seed, stream, start, n)

    office = np.minimum(
        np.searchsorted(np.cumsum(offices.shares), u(_S_OFFICE), side="right"),
        len(offices.codes) - 1,
    )

    detained = u(_S_DETAINED) < DETAINED
    final_nd = (FINAL_ORDER - DETAINED * FINAL_ORDER_IF_DETAINED) / (1 - DETAINED)
    final = u(_S_FINAL) < np.where(detained, FINAL_ORDER_IF_DETAINED, final_nd)
    # Solve for the non-detained conviction rates so the overall share stays CONVICTION.
    conv_nd = (CONVICTION - DETAINED * CONVICTION_IF_DETAINED) / (1 - DETAINED)
    conv_other = conv_nd / (final_nd * CONVICTION_FINAL_RATIO + (1 - final_nd))
    conviction = u(_S_CONVICTION) < np.where(
        detained,
        CONVICTION_IF_DETAINED,
        np.where(final, conv_other * CONVICTION_FINAL_RATIO, conv_other),
    )
    cooperation = _pick(u(_S_COOPERATION), COOPERATION_P)
    travel = u(_S_TRAVEL) < np.where(final, TRAVEL_DOC_IF_FINAL, TRAVEL_DOC_OTHER)
    # Alternatives to detention apply only to the non-detained docket.
    gps = GPS / (1 - DETAINED)
    app = PHONE_APP / (1 - DETAINED)
    check_in = np.where(final, CHECK_IN_IF_FINAL, CHECK_IN_OTHER)
    um = u(_S_MONITORING)
    monitoring = np.select(
        [detained, um < gps, um < gps + app, um < gps + app + check_in],
        [_NO_MONITORING, _GPS, _PHONE_APP, _CHECK_IN],
        default=_NO_MONITORING,
    )
    natsec = u(_S_NATSEC) < NATIONAL_SECURITY

    # Code 0: no explicit requirement; code i: REQUIRED_SKILLS[i - 1].
    required_shares = tuple(share for _, share, _ in REQUIRED_SKILLS)
    required_code = _pick(u(_S_REQUIRED), (1 - sum(required_shares), *required_shares))
    for i, (skill, _, keep) in enumerate(REQUIRED_SKILLS, start=1):
        if not keep:
            required_code[(required_code == i) & ~offices.office_skill[skill][office]] = 0

    # Status quo: a flagged case usually goes to a qualified officer, otherwise to anyone.
    up = u(_S_POOL)
    pool = np.select(
        [
            natsec & (up < ROUTED_NATIONAL_SECURITY),
            (monitoring == _GPS) & (up < ROUTED_GPS),
            (required_code == 1) & (up < ROUTED_LANGUAGE),
        ],
        [_POOL_NATSEC, _POOL_GPS, _POOL_SPANISH],
        default=_POOL_ANY,
    )
    uo = u(_S_OWNER)
    officer_row = offices.pick_officers(office, pool, uo)
    kind = u(_S_OWNER_KIND)
    new = kind < NEW_CASE
    departed = (kind >= NEW_CASE) & (kind < NEW_CASE + DEPARTED_OFFICER)
    departed_row = offices.departed_start[office] + np.minimum(
        (uo * offices.departed_count[office]).astype(np.int64), offices.departed_count[office] - 1
    )
    n_roster = len(offices.officer_ids)
    owner = np.where(departed, n_roster + departed_row, officer_row)

    on_roster = ~new & ~departed
    p_lock = np.where(offices.away_all_cycle[officer_row], LOCKED * LOCKED_AWAY_FACTOR, LOCKED)
    locked = on_roster & offices.lockable[officer_row] & (u(_S_LOCK) < p_lock)

    explicit = u(_S_EFFORT_FLAG) < EXPLICIT_EFFORT
    lo, hi = EXPLICIT_EFFORT_RANGE
    hours = np.round(np.exp(math.log(lo) + u(_S_EFFORT_VALUE) * math.log(hi / lo)) * 4.0) / 4.0

    owner_ids = pl.concat([offices.officer_ids.alias("x"), offices.departed_ids.alias("x")])
    owner_s = pl.Series(owner, dtype=pl.Int64)
    required_lists = pl.Series(
        [[], *([s] for s, _, _ in REQUIRED_SKILLS)], dtype=pl.List(pl.String)
    )
    return pl.DataFrame(
        [
            (
                "C"
                + pl.int_range(start + 1, start + n + 1, eager=True)
                .cast(pl.String)
                .str.zfill(width)
            ).alias("case_id"),
            pl.Series(offices.codes, dtype=pl.String).gather(office).alias("office"),
            owner_ids.gather(pl.select(pl.when(pl.Series(~new)).then(owner_s)).to_series()).alias(
                "current_officer_id"
            ),
            pl.Series("locked", locked, dtype=pl.Boolean),
            required_lists.gather(required_code).alias("required_skills"),
            pl.select(pl.when(pl.Series(explicit)).then(pl.Series(hours)))
            .to_series()
            .alias("effort_hours"),
            pl.Series(_DOCKETS).gather(detained.astype(np.int64)).alias("docket"),
            pl.Series("final_order", final, dtype=pl.Boolean),
            pl.Series("criminal_conviction", conviction, dtype=pl.Boolean),
            pl.Series(_COOPERATION).gather(cooperation).alias("country_cooperation"),
            pl.Series("travel_document_needed", travel, dtype=pl.Boolean),
            pl.Series(_MONITORING).gather(monitoring).alias("monitoring"),
            pl.Series("national_security_flag", natsec, dtype=pl.Boolean),
        ]
    )


def _check_counts(*, seed: int, **counts: int) -> None:
    for name, value in counts.items():
        minimum = 0 if name == "n_cases" else 1
        if value < minimum:
            raise UsageError(f"{name} must be >= {minimum}, got {value}")
    if seed < 0:
        raise UsageError(f"seed must be >= 0, got {seed}")


# --- writing ------------------------------------------------------------------------------------


def _flatten_lists(df: pl.DataFrame) -> pl.DataFrame:
    """List columns as ';'-joined strings, the CSV/Excel form of the contract.

    An empty list becomes an empty cell rather than a quoted "" so spreadsheets show it as blank.
    """
    return df.with_columns(
        pl.when(pl.col(name).list.len() > 0).then(pl.col(name).list.join(LIST_SEPARATOR))
        for name, dtype in df.schema.items()
        if dtype == pl.List(pl.String)
    )


def _chunks(
    offices: _RosterIndex, n_cases: int, seed: int, chunk_size: int, width: int
) -> Iterator[pl.DataFrame]:
    for start in range(0, n_cases, chunk_size):
        yield _cases(offices, min(chunk_size, n_cases - start), seed, start, width)


def _write_cases(
    path: Path,
    fmt: Format,
    chunks: Iterator[pl.DataFrame],
    n_cases: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    done = 0

    def advance(chunk: pl.DataFrame) -> None:
        nonlocal done
        done += chunk.height
        if progress is not None:
            progress(done, n_cases)

    if fmt == "parquet":
        import pyarrow.parquet as pq

        writer = None
        try:
            for chunk in chunks:
                table = chunk.to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table)
                advance(chunk)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # no cases at all: still a valid file with the contract's columns
            _empty_cases().write_parquet(path)
    elif fmt == "csv":
        with path.open("wb") as handle:
            header = True
            for chunk in chunks:
                _flatten_lists(chunk).write_csv(handle, include_header=header)
                header = False
                advance(chunk)
            if header:
                _flatten_lists(_empty_cases()).write_csv(handle)
    else:
        frames = list(chunks)
        whole = pl.concat(frames) if frames else _empty_cases()
        _flatten_lists(whole).write_excel(path, worksheet="cases")
        for chunk in frames:
            advance(chunk)


def _empty_cases() -> pl.DataFrame:
    return pl.DataFrame(schema={**CASES_REQUIRED, **CASES_OPTIONAL, **CASE_ATTRIBUTE_COLUMNS})


def _write_roster(path: Path, fmt: Format, roster: pl.DataFrame) -> None:
    if fmt == "parquet":
        roster.write_parquet(path, compression="zstd")
    elif fmt == "csv":
        _flatten_lists(roster).write_csv(path)
    else:
        _flatten_lists(roster).write_excel(path, worksheet="roster")


def write_dataset(
    out_dir: Path,
    *,
    n_cases: int,
    n_officers: int,
    n_offices: int,
    seed: int,
    fmt: Format = "parquet",
    chunk_size: int = 500_000,
    progress: Callable[[int, int], None] | None = None,
    cycle_days: float = REFERENCE_CYCLE_DAYS,
) -> tuple[Path, Path]:
    """Write roster.<fmt> and cases.<fmt> into `out_dir`; return (roster path, cases path).

    Cases are generated and written `chunk_size` at a time, so memory stays bounded at any scale;
    the content does not depend on `chunk_size`. Both files appear only when both are complete.
    `progress(done, total)` is called after each chunk of cases.
    """
    if fmt not in ("parquet", "csv", "xlsx"):
        raise UsageError(f"unknown format {fmt!r}; expected parquet, csv or xlsx")
    if chunk_size < 1:
        raise UsageError(f"chunk_size must be >= 1, got {chunk_size}")
    _check_counts(n_cases=n_cases, n_officers=n_officers, n_offices=n_offices, seed=seed)
    if fmt == "xlsx" and max(n_cases, n_officers) + 1 > EXCEL_MAX_ROWS:
        raise UsageError(
            f"Excel holds at most {EXCEL_MAX_ROWS - 1:,} data rows per sheet; "
            f"{max(n_cases, n_officers):,} requested: use parquet or csv"
        )
    roster = generate_roster(
        n_officers,
        n_offices,
        seed,
        cycle_days=cycle_days,
        mean_caseload=max(1.0, n_cases / n_officers),
    )
    offices = _RosterIndex(roster, seed, cycle_days)
    width = max(7, len(str(n_cases)))

    targets = (out_dir / f"roster.{fmt}", out_dir / f"cases.{fmt}")
    chunks = _chunks(offices, n_cases, seed, chunk_size, width)
    write_all(
        [
            (targets[0], lambda temp: _write_roster(temp, fmt, roster)),
            (targets[1], lambda temp: _write_cases(temp, fmt, chunks, n_cases, progress)),
        ],
        make_dirs=True,
    )
    return targets
