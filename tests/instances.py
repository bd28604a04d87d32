"""Random small instances in the normalized contract dtypes, effort already estimated.

Used by solver, checker and property tests; each instance exercises every feature of the contract
(offices, skills, locks, current officers, unavailable days, caps, inactive officers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from assigncli.config import Config
from assigncli.contract import CASES_OPTIONAL, CASES_REQUIRED, ROSTER_OPTIONAL, ROSTER_REQUIRED

SKILLS = ("national_security", "gps_monitoring", "lang:es")

# The validated (normalized) dtypes, exactly as the data contract states them.
ROSTER_SCHEMA = {**ROSTER_REQUIRED, **ROSTER_OPTIONAL}
CASES_SCHEMA = {**CASES_REQUIRED, **CASES_OPTIONAL}


@dataclass(frozen=True)
class Instance:
    roster: pl.DataFrame
    cases: pl.DataFrame  # with final effort_hours and required_skills
    config: Config


def random_instance(
    seed: int,
    n_cases: int = 40,
    n_officers: int = 6,
    n_offices: int = 2,
    *,
    caps: bool = True,
    locks: bool = True,
    handoff: float = 1.5,
    efforts: tuple[float, ...] = (0.5, 1.0, 2.5, 6.0),
    continuous_effort: bool = False,
) -> Instance:
    rng = np.random.default_rng(seed)
    offices = [f"O{k}" for k in range(n_offices)]
    officer_ids = [f"P{k:03d}" for k in range(n_officers)]
    home = rng.integers(0, n_offices, n_officers)
    office_lists = []
    for k in range(n_officers):
        lst = [offices[home[k]]]
        if n_offices > 1 and rng.random() < 0.15:
            lst.append(offices[(home[k] + 1) % n_offices])
        office_lists.append(lst)
    skills = [[s for s in SKILLS if rng.random() < 0.4] for _ in range(n_officers)]
    unavailable = np.where(
        rng.random(n_officers) < 0.2, rng.choice([7.0, 14.0, 28.0], n_officers), 0.0
    )
    max_cases = [
        int(rng.integers(0, n_cases // max(1, n_officers) + 3))
        if caps and rng.random() < 0.25
        else None
        for _ in range(n_officers)
    ]
    active = rng.random(n_officers) > 0.1
    roster = pl.DataFrame(
        {
            "officer_id": officer_ids,
            "office": office_lists,
            "capacity_hours": rng.uniform(20, 60, n_officers).round(1),
            "skills": skills,
            "unavailable_days": unavailable,
            "max_cases": pl.Series(max_cases, dtype=pl.Int64),
            "active": active,
        },
        schema=ROSTER_SCHEMA,
    )
    case_office = rng.integers(0, n_offices, n_cases)
    current: list[str | None] = []
    for _ in range(n_cases):
        r = rng.random()
        if r < 0.15:
            current.append(None)
        elif r < 0.2:
            current.append("GONE")
        else:
            current.append(officer_ids[int(rng.integers(0, n_officers))])
    req = [[s for s in SKILLS if rng.random() < 0.08] for _ in range(n_cases)]
    if continuous_effort:
        effort = rng.uniform(0.2, 8.0, n_cases).round(3)
    else:
        effort = rng.choice(np.array(efforts), n_cases)
    locked = [bool(locks and c is not None and c != "GONE" and rng.random() < 0.1) for c in current]
    cases = pl.DataFrame(
        {
            "case_id": [f"C{k:05d}" for k in range(n_cases)],
            "office": [offices[o] for o in case_office],
            "current_officer_id": current,
            "locked": locked,
            "required_skills": req,
            "effort_hours": effort,
        },
        schema=CASES_SCHEMA,
    )
    return Instance(roster, cases, Config(handoff_hours=handoff))
