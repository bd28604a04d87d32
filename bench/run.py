"""Benchmarks: `assign plan` on generated instances, side by side with baselines, as ratios.

Protocol (sizes, seeds, limits, workers) is in bench/README.md. Each plan runs in a fresh process
(`assign plan --json`), so time and peak memory are those of one real run; every plan passes the
independent checker inside that run (the `check` phase) or the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import mid
from generated import generate

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
RESULTS = ROOT / "results"
ASSIGN = Path(sys.executable).parent / "assign"


@dataclass(frozen=True)
class Size:
    cases: int
    officers: int
    offices: int
    time_limit: float

    @property
    def name(self) -> str:
        return f"{self.cases // 1000}k" if self.cases < 1_000_000 else f"{self.cases / 1e6:g}M"


# Issue 2's instances: a few thousand cases, tens of officers (the exact path's home ground).
QUICK = [Size(1_000, 12, 3, 20), Size(5_000, 50, 3, 30), Size(20_000, 160, 5, 30)]
# Issue 3's scaling series: ~1,250 cases per officer as on the national docket.
# The national docket runs with --time-limit 30: the limit bounds the whole run (read to write),
# which is the 30 s end-to-end target;
# the doubled roster (12,000 officers) is the same cases with twice the officers.
SCALE = [
    Size(10_000, 40, 3, 30),
    Size(100_000, 80, 10, 60),
    Size(1_000_000, 800, 25, 60),
    Size(7_500_000, 6_000, 25, 30),
    Size(7_500_000, 12_000, 25, 30),
]
SEED = 11


def dataset(size: Size) -> tuple[Path, Path]:
    folder = DATA / f"{size.name}-{size.officers}-{size.offices}-s{SEED}"
    roster, cases = folder / "roster.parquet", folder / "cases.parquet"
    if not cases.exists():
        generate(ASSIGN, folder, size.cases, size.officers, size.offices, SEED)
    return roster, cases


def run_plan(
    roster: Path, cases: Path, solver: str, time_limit: float, workers: int
) -> dict[str, object]:
    out = roster.parent / f"plan-{solver}.parquet"
    start = time.perf_counter()
    proc = subprocess.run(
        [
            str(ASSIGN),
            "plan",
            str(roster),
            str(cases),
            "--out",
            str(out),
            "--solver",
            solver,
            "--time-limit",
            str(time_limit),
            "--workers",
            str(workers),
            "--seed",
            str(SEED),
            "--json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"assign plan failed ({proc.returncode}): {proc.stderr[-2000:]}")
    summary: dict[str, object] = json.loads(proc.stdout)
    summary["wall"] = wall
    return summary


IO_FLOOR = """
import sys, time, polars as pl
t = time.perf_counter()
roster = pl.read_parquet(sys.argv[1]); cases = pl.read_parquet(sys.argv[2])
plan = cases.select("case_id", pl.col("current_officer_id").alias("officer_id"),
    pl.col("current_officer_id").alias("previous_officer_id"), pl.lit(False).alias("moved"),
    pl.lit(1.0).alias("effort_hours"), "locked", pl.lit("kept").alias("reason"))
plan.write_parquet(sys.argv[3])
print(time.perf_counter() - t)
"""


def io_floor(roster: Path, cases: Path, repeats: int = 3) -> float:
    """Read both inputs and write a plan of the same size with polars and nothing else (the
    fastest of a few runs: one run varies by a factor of two with the page cache and the load)."""
    out = roster.parent / "floor.parquet"
    times = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, "-c", IO_FLOOR, str(roster), str(cases), str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(proc.stdout.strip()))
    return min(times)


GREEDY = """
import sys, json
from pathlib import Path
from assigncli.config import default_config
from assigncli.validate import load_inputs
from assigncli.effort import estimate_effort
from assigncli.problem import build_problem
from assigncli.solvers.component import build_component, evaluate
from assigncli.solvers.heuristics import greedy, lpt
cfg = default_config()
inputs = load_inputs(Path(sys.argv[1]), Path(sys.argv[2]), cfg)
problem = build_problem(inputs.roster, estimate_effort(inputs.cases, cfg, audit=False), cfg)
peak, lpt_peak = 0.0, 0.0
for part in problem.components():
    comp = build_component(problem, part)
    peak = max(peak, evaluate(comp, greedy(comp)).peak)
    lpt_peak = max(lpt_peak, evaluate(comp, lpt(comp)).peak)
print(json.dumps({"peak": peak, "lpt": lpt_peak}))
"""


def greedy_peaks(roster: Path, cases: Path) -> tuple[float, float]:
    """Peaks of two greedy plans: the current assignment repaired, heaviest pools first to the
    least-utilized eligible officer (`heuristics.greedy`); and longest effort first over every
    movable case (`heuristics.lpt`, the plan `assign plan` must never be worse than)."""
    proc = subprocess.run(
        [sys.executable, "-c", GREEDY, str(roster), str(cases)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(proc.stdout)
    return float(found["peak"]), float(found["lpt"])


def phases(summary: dict[str, object]) -> str:
    items = summary.get("phases", [])
    assert isinstance(items, list)
    return ", ".join(f"{p['phase']} {p['seconds']:.1f}s/{p['peak_mb']:.0f}MB" for p in items)


def mid_suite(workers: int, max_cases: int | None) -> list[str]:
    """Benchmark (b): see bench/mid.py."""
    lines = [
        "",
        "## (b) mid-size dockets, continuous effort, every constraint",
        "",
        f"auto with --workers {workers} and with --workers 1 (deterministic budget); LPT and a "
        "per-case HiGHS MIP (1 thread) with the same time. Gaps to the plan's proven bound; "
        "ratios = baseline peak / plan peak (> 1: the baseline is worse).",
        "",
        "| size | officers | offices | limit s | gap | gap (1 worker) | wall s | lowest util "
        "| LPT gap | LPT lowest | MIP gap | vs LPT (LPT / plan) | MIP / plan | MIP vars, build s "
        "| unassigned plan / MIP |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in mid.MID:
        if max_cases and size.cases > max_cases:
            continue
        roster, cases = mid.mid_dataset(ASSIGN, size)
        auto = run_plan(roster, cases, "auto", size.time_limit, workers)
        single = run_plan(roster, cases, "auto", size.time_limit, 1)
        cert, one = auto["certificate"], single["certificate"]
        assert isinstance(cert, dict) and isinstance(one, dict)
        base = mid.baselines(roster, cases, size.time_limit)
        bound = max(float(cert["lower_bound"]), float(one["lower_bound"]))
        plan_peak = float(cert["objective"])
        line = (
            f"| {size.name} | {size.officers} | {size.offices} | {size.time_limit:g} "
            f"| {mid.gap(plan_peak, bound)} | {mid.gap(float(one['objective']), bound)} "
            f"| {auto['wall']:.1f} | {float(cert['min_utilization']):.1%} "
            f"| {mid.gap(base['lpt_peak'], bound)} | {float(base['lpt_floor'] or 0):.1%} "
            f"| {mid.gap(base['mip_peak'], bound)} | {mid.ratio(base['lpt_peak'], plan_peak)} "
            f"| {mid.ratio(base['mip_peak'], plan_peak)} "
            f"| {int(base['mip_vars'] or 0):,}, {float(base['mip_build'] or 0):.1f} "
            f"| {cert['unassigned']} / {base.get('mip_unassigned')} |"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


# Issue 17's national target: 7.5M × 6,000 at --time-limit 15 (≤ 16.5 s wall, gap ≤ 1e-4, lowest
# utilization within 2% of a 60 s run, ≤ 3 GB), beside the I/O floor measured in the same run.
NATIONAL = Size(7_500_000, 6_000, 25, 15)
NATIONAL_REFERENCE_LIMIT = 60.0


def uptime() -> str:
    """The load averages (1, 5, 15 min), quoted beside every timing on a shared machine."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def bench_national(workers: int) -> list[str]:
    """The national docket at its target limit and at 60 s; phases as multiples of the floor."""
    roster, cases = dataset(NATIONAL)
    floor = io_floor(roster, cases)
    lines = [
        "",
        "## national docket: 7.5M cases × 6,000 officers",
        "",
        f"I/O floor (read both inputs, write a plan-sized Parquet file; fastest of 3): {floor:.2f} s "
        f"(load {uptime()}). Phases are seconds / floor.",
        "",
        "| limit s | wall s | counted s | gap | lowest util | peak MB | load before | load after "
        "| phases / floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for limit in (NATIONAL.time_limit, NATIONAL_REFERENCE_LIMIT):
        before = uptime()
        run = run_plan(roster, cases, "auto", limit, workers)
        cert = run["certificate"]
        assert isinstance(cert, dict)
        items = run.get("phases", [])
        assert isinstance(items, list)
        peak_mb = max(p["peak_mb"] for p in items)
        ratios = ", ".join(f"{p['phase']} {p['seconds'] / floor:.2f}" for p in items)
        counted = run["elapsed_seconds"]  # the run's time as --time-limit counts it
        assert isinstance(counted, int | float)
        line = (
            f"| {limit:g} | {run['wall']:.1f} | {counted:.1f} "
            f"| {cert['gap']:.2e} | {float(cert['min_utilization']):.1%} | {peak_mb:.0f} "
            f"| {before} | {uptime()} | {ratios} |"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


# `assign staffing` against one `assign plan` of the same docket (issue 11: < 5× at 1M, < 2 min
# at 7.5M).
STAFFING_SIZES = [Size(1_000_000, 800, 25, 60), Size(7_500_000, 6_000, 25, 20)]
STAFFING_TARGET = 0.85
STAFFING_TIME_LIMIT = 20.0  # per solve of one office
SWEEP_SCENARIOS = 50
SWEEP_TIME_LIMIT = 2.0  # per scenario, and for the one plan it is compared with
EXAMPLES = ROOT.parent / "examples"


def _timed(args: list[str]) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{args[1]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, json.loads(proc.stdout)


def load_note() -> str:
    """The machine's load while the benchmark ran (it is shared): timings scale with it."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def bench_staffing(sizes: list[Size], workers: int) -> list[str]:
    lines = [
        "",
        f"## assign staffing (target {STAFFING_TARGET:.0%}, {STAFFING_TIME_LIMIT:g} s per solve) "
        "against one assign plan",
        "",
        "| size | officers | plan wall s | staffing wall s | staffing / plan | officers to add "
        "| offices minimal | probes | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        roster, cases = dataset(size)
        plan = run_plan(roster, cases, "auto", size.time_limit, workers)
        wall, summary = _timed(
            [
                str(ASSIGN),
                "staffing",
                str(roster),
                str(cases),
                "--target",
                str(STAFFING_TARGET),
                "--time-limit",
                str(STAFFING_TIME_LIMIT),
                "--workers",
                str(workers),
                "--seed",
                str(SEED),
                "--json",
                "--quiet",
            ]
        )
        offices = summary["offices"]
        assert isinstance(offices, list)
        minimal = sum(1 for o in offices if o["minimal"])
        probes = sum(len(o["probes"]) for o in offices)
        plan_wall = float(plan["wall"])  # type: ignore[arg-type]
        line = (
            f"| {size.name} | {size.officers} | {plan_wall:.1f} | {wall:.1f} "
            f"| {wall / plan_wall:.2f}× | {summary['officers_to_add']} "
            f"| {minimal}/{len(offices)} | {probes} | {load_note()} |"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


def sweep_file(folder: Path, n: int) -> Path:
    """`n` scenarios of the bundled example: move budgets, hires, time away, effort, handoffs."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sweep{n}.toml"
    head = (
        f'[sweep]\nroster = "{EXAMPLES / "roster.csv"}"\ncases = "{EXAMPLES / "cases.csv"}"\n'
        f'config = "{EXAMPLES / "assign.toml"}"\ntime_limit = {SWEEP_TIME_LIMIT}\nseed = {SEED}\n'
    )
    kinds = [
        lambda k: f"max_moves = {25 * k}",
        lambda k: f'hire = {{ office = "NYC", count = {1 + k % 8} }}',
        lambda k: f'time_away = {{ office = "MIA", days = {1 + k % 14} }}',
        lambda k: f"effort_scale = {0.8 + 0.05 * (k % 10):.2f}",
        lambda k: f"handoff_hours = {0.5 * (k % 10):.1f}",
    ]
    body = [
        f'[[scenario]]\nname = "s{k:02d}"\n{kinds[k % len(kinds)](k // len(kinds))}\n'
        for k in range(n)
    ]
    path.write_text(head + "\n" + "\n".join(body))
    return path


def bench_sweep(n: int) -> list[str]:
    cores = os.cpu_count() or 1
    folder = DATA / "sweep"
    spec = sweep_file(folder, n)
    one, _ = _timed(
        [
            str(ASSIGN),
            "plan",
            str(EXAMPLES / "roster.csv"),
            str(EXAMPLES / "cases.csv"),
            "--config",
            str(EXAMPLES / "assign.toml"),
            "--out",
            str(folder / "one.csv"),
            "--time-limit",
            str(SWEEP_TIME_LIMIT),
            "--workers",
            "1",
            "--seed",
            str(SEED),
            "--json",
            "--quiet",
        ]
    )
    ideal = n * one / cores
    lines = [
        "",
        f"## assign sweep: {n} scenarios of the bundled example ({SWEEP_TIME_LIMIT:g} s per solve)",
        "",
        f"One `assign plan` of the example (1 solver thread): {one:.1f} s; ideal = {n} × that ÷ "
        f"{cores} cores = {ideal:.1f} s (target: wall ≤ 1.3× ideal).",
        "",
        "| engine | wall s | wall / ideal | failed | jobs × workers | load |",
        "|---|---|---|---|---|---|",
    ]
    for engine in ("processes", "ray"):
        wall, summary = _timed(
            [
                str(ASSIGN),
                "sweep",
                str(spec),
                "--engine",
                engine,
                "--out",
                str(folder / f"sweep-{engine}.csv"),
                "--json",
                "--quiet",
            ]
        )
        line = (
            f"| {engine} | {wall:.1f} | {wall / ideal:.2f}× | {summary['failed']} "
            f"| {summary['jobs']} × {summary['workers']} | {load_note()} |"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="issue-2 sizes only (1k, 5k, 20k)")
    parser.add_argument("--max-cases", type=int, default=None, help="skip sizes above this")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--suite",
        choices=("all", "scale", "mid", "pcmax"),
        default="all",
        help="scale: the scaling series (c); mid: mid-size continuous-effort dockets (b); "
        "pcmax: benchmark (a), P‖Cmax classes (see pcmax.py); all: the three",
    )
    parser.add_argument(
        "--only",
        choices=("plan", "staffing", "sweep", "national"),
        default=None,
        help="scale suite: run one part (plans, staffing, sweeps, the national docket at 15 s "
        "and 60 s; default: all)",
    )
    args, rest = parser.parse_known_args()
    if args.suite == "pcmax":
        import pcmax

        pcmax.main(rest + (["--quick"] if args.quick else []))
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    sizes = QUICK if args.quick else QUICK + SCALE
    if args.max_cases:
        sizes = [s for s in sizes if s.cases <= args.max_cases]
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# assign plan benchmark — {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: {platform.machine()}, {platform.python_version()}, workers={args.workers}, seed={SEED}."
        " Gap = (highest utilization − proven LP bound) / bound. Ratios > 1 mean the baseline is worse.",
        "",
        "| size | officers | offices | path | status | wall s | peak MB | gap | exact gap | greedy peak / plan peak | vs LPT (LPT peak / plan peak) | plan / I/O floor | phases |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    if args.suite == "mid" or args.only not in (None, "plan"):
        sizes = []
    for size in sizes:
        roster, cases = dataset(size)
        auto = run_plan(roster, cases, "auto", size.time_limit, args.workers)
        cert = auto["certificate"]
        assert isinstance(cert, dict)
        exact_gap = "–"
        if size.cases <= 100_000:
            exact = run_plan(roster, cases, "exact", size.time_limit, args.workers)
            exact_cert = exact["certificate"]
            assert isinstance(exact_cert, dict)
            exact_gap = f"{exact_cert['gap']:.3%} ({exact['wall']:.0f}s)"
        floor = io_floor(roster, cases)
        greedy, lpt_peak = greedy_peaks(roster, cases)
        peak_mb = max(p["peak_mb"] for p in auto["phases"])  # type: ignore[union-attr]
        line = (
            f"| {size.name} | {size.officers} | {size.offices} | {cert['method']} | {cert['status']} "
            f"| {auto['wall']:.1f} | {peak_mb:.0f} | {cert['gap']:.3%} | {exact_gap} "
            f"| {greedy / cert['objective']:.3f} | {lpt_peak / cert['objective']:.4f} "
            f"| {auto['wall'] / floor:.1f}× | {phases(auto)} |"
        )
        print(line, flush=True)
        lines.append(line)
    if args.suite in ("all", "scale") and args.only in (None, "staffing") and not args.quick:
        staffing_sizes = [
            s for s in STAFFING_SIZES if args.max_cases is None or s.cases <= args.max_cases
        ]
        lines += bench_staffing(staffing_sizes, args.workers)
    if args.suite in ("all", "scale") and args.only in (None, "national") and not args.quick:
        lines += bench_national(args.workers)
    if args.suite in ("all", "scale") and args.only in (None, "sweep"):
        lines += bench_sweep(SWEEP_SCENARIOS)
    if args.suite in ("all", "mid") and not args.quick and args.only is None:
        lines += mid_suite(args.workers, args.max_cases)
    report = "\n".join(lines) + "\n"
    (RESULTS / "latest.md").write_text(report)
    print(report)
    if args.suite == "all":
        import pcmax

        pcmax.main(["--quick"] if args.quick else [])


if __name__ == "__main__":
    main()
