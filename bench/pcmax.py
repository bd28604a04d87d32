"""Benchmark (a): P‖Cmax classes as caseload teams — identical officers, heavy cases.

Instances follow the published class definitions:

* Lawrinenko (2017): processing times U[1,100], U[20,100], U[50,100], N(100,20), N(100,50)
  (rounded, at least 1), U[n,4n] and N(4n,n) (n the number of jobs);
* Dell'Amico & Martello (1995) / Berndt et al. (2022) E-classes: E1 U[1,100], E2 U[20,100],
  E3 U[50,100] — the same three uniform ranges, with m = 5..25 and n/m in {2.5, 3} as in
  Lawrinenko's and Berndt et al.'s "hard" grid; E4 (m = 3, n = 2m + 1 triplets around 100),
  E5 U[n/2, 2n] is here as U[n,4n]'s neighbour.

Each instance is a roster of m officers (capacity 1,000 h, one office, no caps) and a case list of
n new cases with explicit `effort_hours` (the processing times), so `assign plan` runs on it
unchanged, and the utilization peak is the makespan / 1,000.

Per instance the suite reports, at 1 s and 10 s of deterministic time (`--workers 1`):

* the packing search (`packing.solve_peak`) from LPT, called directly on the component;
* `assign plan` through the normal pipeline (whatever solve.py wires today), checked by the
  independent checker inside the run;
* longest-processing-time greedy (LPT) and a plain per-case CP-SAT model (x[j, i] booleans,
  minimize the makespan) with the same budget;

against a reference: the best proven bound and best plan over all runs (the packing search at a
long budget is among them). Results go to bench/results/pcmax.md.
"""

from __future__ import annotations

import argparse
import heapq
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "pcmax"
RESULTS = ROOT / "results"
ASSIGN = Path(sys.executable).parent / "assign"
CAPACITY = 1000.0


@dataclass(frozen=True)
class Instance:
    name: str
    family: str
    m: int
    times: tuple[int, ...]


def _uniform(rng: np.random.Generator, lo: int, hi: int, n: int) -> list[int]:
    return [int(x) for x in rng.integers(lo, hi + 1, n)]


def _normal(rng: np.random.Generator, mean: float, sd: float, n: int) -> list[int]:
    return [max(1, round(float(x))) for x in rng.normal(mean, sd, n)]


FAMILIES = ("U1-100", "U20-100", "U50-100", "N100-20", "N100-50", "Un-4n", "N4n-n")


def draw(family: str, n: int, rng: np.random.Generator) -> list[int]:
    if family == "U1-100":
        return _uniform(rng, 1, 100, n)
    if family == "U20-100":
        return _uniform(rng, 20, 100, n)
    if family == "U50-100":
        return _uniform(rng, 50, 100, n)
    if family == "N100-20":
        return _normal(rng, 100, 20, n)
    if family == "N100-50":
        return _normal(rng, 100, 50, n)
    if family == "Un-4n":
        return _uniform(rng, n, 4 * n, n)
    if family == "N4n-n":
        return _normal(rng, 4 * n, n, n)
    raise ValueError(family)


def suite(seeds: int = 3, quick: bool = False) -> list[Instance]:
    """The hard region (n/m between 2 and 3) for every family, plus a few easier shapes."""
    shapes = [(5, 2.5), (10, 2.5), (20, 2.5), (10, 2.0), (25, 3.0), (40, 2.5), (120, 2.5)]
    shapes += [(5, 10.0), (20, 5.0)]
    if quick:
        shapes = [(5, 2.5), (10, 2.5), (20, 2.5), (10, 2.0)]
    out = []
    for family in FAMILIES:
        for m, ratio in shapes:
            n = round(m * ratio)
            if n > 400:
                continue
            for seed in range(seeds):
                rng = np.random.default_rng([FAMILIES.index(family), m, n, seed])
                times = tuple(draw(family, n, rng))
                out.append(Instance(f"{family}-m{m}-n{n}-s{seed}", family, m, times))
    # Dell'Amico–Martello E4-style: 2m + 1 jobs built to sit just above a perfect packing.
    for m in (5, 10, 20):
        for seed in range(seeds):
            rng = np.random.default_rng([99, m, seed])
            times = tuple(sorted(_uniform(rng, 60, 80, 2 * m + 1), reverse=True))
            out.append(Instance(f"E4-m{m}-n{2 * m + 1}-s{seed}", "E4", m, times))
    return out


def frames(inst: Instance) -> tuple[pl.DataFrame, pl.DataFrame]:
    roster = pl.DataFrame(
        {
            "officer_id": [f"M{i:03d}" for i in range(inst.m)],
            "office": [["X"]] * inst.m,
            "capacity_hours": [CAPACITY] * inst.m,
        }
    )
    cases = pl.DataFrame(
        {
            "case_id": [f"J{j:04d}" for j in range(len(inst.times))],
            "office": ["X"] * len(inst.times),
            "effort_hours": [float(t) for t in inst.times],
        }
    )
    return roster, cases


# Every case carries explicit effort_hours: the model only needs its cycle and handoff.
CONFIG = """cycle_days = 28
handoff_hours = 0.0

[effort]
default_hours = 1.0
"""


def write(inst: Instance) -> tuple[Path, Path]:
    folder = DATA / inst.name
    folder.mkdir(parents=True, exist_ok=True)
    roster_path, cases_path = folder / "roster.csv", folder / "cases.csv"
    if not cases_path.exists():
        roster, cases = frames(inst)
        roster.with_columns(pl.col("office").list.join(";")).write_csv(roster_path)
        cases.write_csv(cases_path)
    config = DATA / "assign.toml"
    if not config.exists():
        config.write_text(CONFIG)
    return roster_path, cases_path


def lpt(times: tuple[int, ...], m: int) -> int:
    heap = [0] * m
    for t in sorted(times, reverse=True):
        heapq.heapreplace(heap, heap[0] + t)
    return max(heap)


def plain_cpsat(times: tuple[int, ...], m: int, work: float) -> tuple[int, int]:
    """Per-case booleans, minimize the makespan: (best makespan, proven bound)."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    n = len(times)
    x = [[model.new_bool_var("") for _ in range(m)] for _ in range(n)]
    span = model.new_int_var(0, sum(times), "span")
    for j in range(n):
        model.add_exactly_one(x[j])
    for i in range(m):
        model.add(cp_model.LinearExpr.weighted_sum([x[j][i] for j in range(n)], times) <= span)
    model.minimize(span)
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = work
    solver.parameters.max_time_in_seconds = 10 * work + 5
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return lpt(times, m), 0
    return round(solver.objective_value), round(solver.best_objective_bound)


def component_of(inst: Instance):  # type: ignore[no-untyped-def]
    from assigncli.config import Config
    from assigncli.problem import build_problem
    from assigncli.solvers.component import build_component

    roster, cases = frames(inst)
    roster = roster.with_columns(
        skills=pl.lit([], dtype=pl.List(pl.String)),
        unavailable_days=pl.lit(0.0),
        max_cases=pl.lit(None, dtype=pl.Int64),
        active=pl.lit(True),
    )
    cases = cases.with_columns(
        current_officer_id=pl.lit(None, dtype=pl.String),
        locked=pl.lit(False),
        required_skills=pl.lit([], dtype=pl.List(pl.String)),
    )
    problem = build_problem(roster, cases, Config(handoff_hours=0.0))
    (part,) = problem.components()
    return build_component(problem, part)


def packing_run(inst: Instance, work: float) -> dict[str, float]:
    """`packing.solve_peak` from the LPT plan, on the component built by the real pipeline."""
    from assigncli.solvers.component import evaluate
    from assigncli.solvers.heuristics import greedy
    from assigncli.solvers.packing import solve_peak

    comp = component_of(inst)
    start = time.perf_counter()
    result = solve_peak(
        comp,
        greedy(comp),
        work=work,
        workers=1,
        seed=0,
        deadline=start + 20 * work + 10,
        max_moves=None,
    )
    return {
        "span": round(evaluate(comp, result.state).peak * CAPACITY, 6),
        "bound": result.bound * CAPACITY,
        "optimal": float(result.optimal),
        "seconds": time.perf_counter() - start,
    }


def plan_run(inst: Instance, time_limit: float) -> dict[str, float]:
    roster, cases = write(inst)
    out = roster.parent / "plan.csv"
    proc = subprocess.run(
        [
            str(ASSIGN),
            "plan",
            str(roster),
            str(cases),
            "--out",
            str(out),
            "--config",
            str(DATA / "assign.toml"),
            "--time-limit",
            str(time_limit),
            "--workers",
            "1",
            "--seed",
            "0",
            "--json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"assign plan failed on {inst.name}: {proc.stderr[-1500:]}")
    cert = json.loads(proc.stdout)["certificate"]
    return {
        "span": cert["objective"] * CAPACITY,
        "bound": cert["lower_bound"] * CAPACITY,
        "optimal": float(cert["status"] == "optimal"),
    }


def _ceil_span(value: float) -> int:
    """Makespans are integers: a bound of 123.0000001 or 122.99999999 is 123."""
    return int(np.ceil(value - 1e-6))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--budgets", default="1,10", help="deterministic seconds, comma-separated")
    parser.add_argument("--reference-work", type=float, default=60.0)
    parser.add_argument("--no-plan", action="store_true", help="skip the `assign plan` runs")
    parser.add_argument("--limit", type=int, default=0, help="first N instances only")
    parser.add_argument(
        "--summarize", type=Path, default=None, help="only summarize rows of an earlier run (jsonl)"
    )
    args = parser.parse_args(argv)
    budgets = [float(b) for b in args.budgets.split(",")]
    if args.summarize is not None:
        old = [json.loads(line) for line in args.summarize.read_text().splitlines() if line]
        print(summarize(old, budgets, not args.no_plan))
        return
    instances = suite(args.seeds, args.quick)
    if args.limit:
        instances = instances[: args.limit]
    rows = []
    for inst in instances:
        row: dict[str, object] = {"name": inst.name, "family": inst.family, "m": inst.m}
        row["n"] = len(inst.times)
        row["lpt"] = lpt(inst.times, inst.m)
        spans: list[int] = [int(row["lpt"])]  # type: ignore[call-overload]
        bounds: list[int] = []
        for work in budgets:
            pk = packing_run(inst, work)
            row[f"pack{work:g}"] = pk
            spans.append(round(pk["span"]))
            bounds.append(_ceil_span(pk["bound"]))
            cp_span, cp_bound = plain_cpsat(inst.times, inst.m, work)
            row[f"cp{work:g}"] = {"span": cp_span, "bound": cp_bound}
            spans.append(cp_span)
            bounds.append(cp_bound)
            if not args.no_plan:
                pl_run = plan_run(inst, work)
                row[f"plan{work:g}"] = pl_run
                spans.append(round(pl_run["span"]))
                bounds.append(_ceil_span(pl_run["bound"]))
        best_span, best_bound = min(spans), max(bounds)
        if best_span > best_bound and args.reference_work > max(budgets):
            ref = packing_run(inst, args.reference_work)
            best_span = min(best_span, round(ref["span"]))
            best_bound = max(best_bound, _ceil_span(ref["bound"]))
        row["best_span"], row["best_bound"] = best_span, best_bound
        rows.append(row)
        print(json.dumps(row), flush=True)
    report = summarize(rows, budgets, not args.no_plan)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pcmax.md").write_text(report)
    (RESULTS / "pcmax.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    print(report)


def summarize(rows: list[dict[str, object]], budgets: list[float], with_plan: bool) -> str:
    lines = [
        f"# P‖Cmax suite — {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        f"{len(rows)} instances; budgets in CP-SAT deterministic seconds, one worker. "
        "*proven*: plan = own proven bound; *at ref*: plan = best known bound (reference); "
        "*bound = ref*: own bound = best known bound; gaps are (makespan − best known bound) / "
        "best known bound. *ref closed*: best plan = best bound over every run.",
        "",
        "| method | budget | proven | at ref | bound = ref | mean gap | worst gap | ratio to LPT |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def gap(span: float, ref: float) -> float:
        return (span - ref) / ref

    ref = [float(r["best_bound"]) for r in rows]  # type: ignore[arg-type]
    lpt_gaps = [gap(float(r["lpt"]), b) for r, b in zip(rows, ref, strict=True)]  # type: ignore[arg-type]
    lines.append(
        f"| LPT | – | – | {sum(g <= 0 for g in lpt_gaps) / len(rows):.0%} | – "
        f"| {np.mean(lpt_gaps):.3%} | {max(lpt_gaps):.3%} | 1.000 |"
    )
    methods = ["pack", "cp"] + (["plan"] if with_plan else [])
    label = {"pack": "packing.solve_peak", "cp": "plain CP-SAT", "plan": "assign plan"}
    for work in budgets:
        for method in methods:
            key = f"{method}{work:g}"
            spans = np.array([float(r[key]["span"]) for r in rows])  # type: ignore[index]
            own = np.array([float(r[key]["bound"]) for r in rows])  # type: ignore[index]
            b = np.array(ref)
            lp = np.array([float(r["lpt"]) for r in rows])  # type: ignore[arg-type]
            proven = np.mean(np.round(spans) <= np.ceil(own - 1e-6))
            at_ref = np.mean(np.round(spans) <= b)
            bound_ref = np.mean(np.ceil(own - 1e-6) >= b)
            gaps = (spans - b) / b
            lines.append(
                f"| {label[method]} | {work:g} | {proven:.0%} | {at_ref:.0%} | {bound_ref:.0%} "
                f"| {gaps.mean():.3%} | {gaps.max():.3%} | {np.mean(lp / spans):.4f} |"
            )
    closed = np.mean([float(r["best_span"]) <= float(r["best_bound"]) for r in rows])  # type: ignore[arg-type]
    lines += ["", f"Reference closed (best plan = best bound) on {closed:.0%} of instances.", ""]
    fam_lines = [
        "| family | instances | packing proven @max budget | worst gap |",
        "|---|---|---|---|",
    ]
    top = f"pack{max(budgets):g}"
    for family in sorted({str(r["family"]) for r in rows}):
        sub = [r for r in rows if r["family"] == family]
        proven = np.mean(
            [
                round(float(r[top]["span"])) <= np.ceil(float(r[top]["bound"]) - 1e-6)  # type: ignore[index]
                for r in sub
            ]
        )
        worst = max(
            (float(r[top]["span"]) - float(r["best_bound"])) / float(r["best_bound"])  # type: ignore[index, arg-type]
            for r in sub
        )
        fam_lines.append(f"| {family} | {len(sub)} | {proven:.0%} | {worst:.3%} |")
    return "\n".join(lines + fam_lines) + "\n"


if __name__ == "__main__":
    main()
