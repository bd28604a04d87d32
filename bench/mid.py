"""Benchmark (b): mid-size dockets with continuous per-case effort and every constraint.

Each instance is `assign generate` (seed 11: offices, skills, locks, current officers, time away,
case caps) with an explicit `effort_hours` per case: the rule-based effort times a log-normal
factor (σ = 0.35), rounded to 1e-4 h, so that almost every case has an effort of its own and
classes do not aggregate. Per instance, side by side with the same time limit:

* `assign plan --solver auto` with the bench's workers (wall-clock budget), and with
  `--workers 1` (the deterministic budget: the number is the same on an idle and a loaded machine);
* longest effort first (LPT): every movable case, heaviest first, to the eligible officer whose
  utilization after taking it is lowest (`solvers.heuristics.lpt`);
* a plain per-case MIP (one binary per eligible case–officer pair, each case at most once;
  minimize the peak, with every unassigned case weighted 100 peaks above it) in HiGHS
  through OR-Tools' `pywraplp`, one thread, the same time limit for the solve (building it is
  not counted against it).

Gaps are to the plan's proven lower bound; ratios > 1 mean the baseline's peak is higher.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from generated import generate

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
SEED = 11


@dataclass(frozen=True)
class MidSize:
    cases: int
    officers: int
    offices: int
    time_limit: float = 30.0

    @property
    def name(self) -> str:
        return f"{self.cases / 1000:g}k"


MID = [
    MidSize(1_000, 16, 2),
    MidSize(2_500, 40, 3),
    MidSize(10_000, 160, 8),
    MidSize(50_000, 800, 25),
]

CONTINUOUS = """
import sys
from pathlib import Path
import numpy as np, polars as pl
from assigncli.config import default_config
from assigncli.effort import estimate_effort
from assigncli.validate import load_inputs
raw, out, seed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
cfg = default_config()
inputs = load_inputs(raw / "roster.parquet", raw / "cases.parquet", cfg)
hours = estimate_effort(inputs.cases, cfg, audit=False)["effort_hours"].to_numpy()
factor = np.exp(np.random.default_rng(seed).normal(0.0, 0.35, len(hours)))
cases = pl.read_parquet(raw / "cases.parquet")
cases = cases.with_columns(effort_hours=pl.Series(np.round(hours * factor, 4)))
out.mkdir(parents=True, exist_ok=True)
cases.write_parquet(out / "cases.parquet")
pl.read_parquet(raw / "roster.parquet").write_parquet(out / "roster.parquet")
"""


def mid_dataset(assign: Path, size: MidSize) -> tuple[Path, Path]:
    folder = DATA / f"mid-{size.name}-{size.officers}-{size.offices}-s{SEED}"
    roster, cases = folder / "roster.parquet", folder / "cases.parquet"
    if not cases.exists():
        raw = folder / "raw"
        generate(assign, raw, size.cases, size.officers, size.offices, SEED)
        subprocess.run(
            [sys.executable, "-c", CONTINUOUS, str(raw), str(folder), str(SEED)], check=True
        )
    return roster, cases


BASELINES = """
import sys, json, time
from pathlib import Path
import numpy as np
from ortools.linear_solver import pywraplp
from assigncli.config import default_config
from assigncli.validate import load_inputs
from assigncli.effort import estimate_effort
from assigncli.problem import NO_CAP, build_problem
from assigncli.solvers.component import build_component, evaluate
from assigncli.solvers.heuristics import lpt
cfg = default_config()
roster, cases, limit = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
inputs = load_inputs(roster, cases, cfg)
problem = build_problem(inputs.roster, estimate_effort(inputs.cases, cfg, audit=False), cfg)

# LPT, per component.
peak, floor = 0.0, float("inf")
started = time.perf_counter()
for part in problem.components():
    comp = build_component(problem, part)
    ev = evaluate(comp, lpt(comp))
    peak, floor = max(peak, ev.peak), min(floor, ev.floor)
lpt_seconds = time.perf_counter() - started

# The plain per-case MIP: x[c, o] binary over eligible pairs, min U.
frame = problem.cases
status = frame["status"].cast(str).to_numpy()
group = frame["group"].to_numpy()
effort = frame["effort_hours"].to_numpy()
current = frame["officer"].fill_null(-1).to_numpy()
movable = np.isin(status, ["held", "orphan", "new"])
solver = pywraplp.Solver.CreateSolver("HIGHS")
solver.SetNumThreads(1)
solver.SuppressOutput()
build = time.perf_counter()
n_off = problem.n_officers
load_terms = [[] for _ in range(n_off)]
count_terms = [[] for _ in range(n_off)]
peak_var = solver.NumVar(0.0, solver.infinity(), "U")
pairs = []
for c in np.flatnonzero(movable).tolist():
    officers = problem.eligible(int(group[c])).tolist()
    # At most once: caps may leave cases over (level 1, weighted far above the peak below).
    row = solver.Constraint(0.0, 1.0)
    handoff = status[c] != "new"
    for o in officers:
        x = solver.BoolVar("")
        row.SetCoefficient(x, 1.0)
        cost = effort[c] + (problem.handoff_hours if handoff and o != current[c] else 0.0)
        load_terms[o].append((x, cost))
        count_terms[o].append(x)
        pairs.append((c, o, x, cost))
for o in range(n_off):
    if problem.available[o] <= 0:
        continue
    row = solver.Constraint(-solver.infinity(), -problem.locked_hours[o])
    for x, cost in load_terms[o]:
        row.SetCoefficient(x, cost)
    row.SetCoefficient(peak_var, -problem.available[o])
    if problem.max_cases[o] != NO_CAP:
        cap = max(problem.max_cases[o], problem.locked_count[o]) - problem.locked_count[o]
        row = solver.Constraint(-solver.infinity(), float(cap))
        for x in count_terms[o]:
            row.SetCoefficient(x, 1.0)
objective = solver.Objective()
objective.SetCoefficient(peak_var, 1.0)
for _, _, x, _ in pairs:
    objective.SetCoefficient(x, -100.0)
objective.SetMinimization()
build_seconds = time.perf_counter() - build
solver.SetTimeLimit(int(limit * 1000))
result = solver.Solve()
mip_peak = None
mip_unassigned = None
if result in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
    load = problem.locked_hours.copy()
    for c, o, x, cost in pairs:
        if x.solution_value() > 0.5:
            load[o] += cost
    measured = problem.available > 0
    mip_peak = float((load[measured] / problem.available[measured]).max())
    assigned = sum(1 for _, _, x, _ in pairs if x.solution_value() > 0.5)
    # Cases nobody may take count as unassigned for every plan.
    mip_unassigned = int(movable.sum()) - assigned + problem.n_unassignable
print(json.dumps({"lpt_peak": peak, "lpt_floor": floor, "lpt_seconds": lpt_seconds,
                  "mip_peak": mip_peak, "mip_unassigned": mip_unassigned, "mip_build": build_seconds, "mip_vars": len(pairs)}))
"""


def baselines(roster: Path, cases: Path, time_limit: float) -> dict[str, float | None]:
    proc = subprocess.run(
        [sys.executable, "-c", BASELINES, str(roster), str(cases), str(time_limit)],
        capture_output=True,
        text=True,
        check=True,
    )
    # The solver may print a log of its own: the summary is the last line.
    result: dict[str, float | None] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def gap(peak: float | None, bound: float) -> str:
    if peak is None:
        return "none"
    return f"{(peak - bound) / bound:.3%}" if bound > 0 else "–"


def ratio(peak: float | None, plan: float) -> str:
    return "–" if peak is None or plan <= 0 else f"{peak / plan:.4f}"
