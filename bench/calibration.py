"""Calibration study: does `assign effort fit` recover known figures, with honest intervals?

Every log is drawn with the generator of `assign generate --time-log` from the built-in model, so
the truth is the current figures. Per seed s: a docket (`write_dataset`, seed s) and its time
logs (`generate_time_logs`, seed s), both shapes, each fitted with the defaults of
`assign effort fit` (5 folds, level 0.9, seed 0). Measured:

- coverage: the share of reported intervals that hold the true figure (nominal: --level);
- per-case logs: figures flagged `changed` per log, and per multiplier with >= --min-cases cases
  the worst relative error;
- both shapes: how often the fit is judged better than the current figures (it cannot be: they
  are the truth), so how often the command would write the model without --force;
- --scale N: one fit of a per-case and a per-officer log of N cases, timed by phase.

    python bench/calibration.py [--logs 40] [--cases 3000] [--officers 40] [--offices 3]
        [--periods 3] [--first-seed 0] [--scale 0] [--out bench/results/calibration.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from assigncli.analysis.calibrate import Calibration, calibrate
from assigncli.config import Config, default_config
from assigncli.generate import write_dataset
from assigncli.timelog import TimeLog, generate_time_logs
from assigncli.validate import load_inputs


def _study_one(config: Config, folder: Path, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    roster_path, cases_path = write_dataset(
        folder,
        n_cases=args.cases,
        n_officers=args.officers,
        n_offices=args.offices,
        seed=seed,
        fmt="parquet",
    )
    inputs = load_inputs(roster_path, cases_path, config)
    logs = generate_time_logs(inputs.cases, inputs.roster, config, periods=args.periods, seed=seed)
    row: dict[str, Any] = {"seed": seed}
    shapes = {
        "per_case": TimeLog("per_case", logs.per_case, None, "timelog_cases"),
        "per_officer": TimeLog("per_officer", logs.per_officer, logs.held, "timelog_officers"),
    }
    for shape, log in shapes.items():
        result = calibrate(inputs.cases, log, config, level=args.level)
        row[shape] = _summary(result, args.min_cases)
    return row


def _summary(result: Calibration, min_cases: int) -> dict[str, Any]:
    with_interval = [f for f in result.figures if f.status == "fitted" and math.isfinite(f.low)]
    multipliers = [
        abs(f.fitted / f.current - 1.0)
        for f in result.figures
        if f.kind == "multiply" and f.status == "fitted" and f.cases >= min_cases
    ]
    return {
        "intervals": len(with_interval),
        "covered": sum(f.low <= f.current <= f.high for f in with_interval),
        "figures": sum(f.status in ("fitted", "at_bound") for f in result.figures),
        "at_bound": sum(f.status == "at_bound" for f in result.figures),
        "changed": sum(f.changed for f in result.figures),
        "borderline": sum(f.verdict == "borderline" for f in result.figures),
        "worst_multiplier_error": max(multipliers, default=math.nan),
        "verdict": result.comparison.verdict,
        "mae_current": result.held_out["current"].mae,
        "mae_fitted": result.held_out[result.estimator].mae,
        "uncovered": [
            f"{f.rule} {f.kind} {f.fitted:.4g} [{f.low:.4g}, {f.high:.4g}] n={f.cases}"
            for f in with_interval
            if not f.low <= f.current <= f.high
        ],
    }


VERDICTS = ("better", "no_better", "worse", "unchecked")


def _report(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for shape in ("per_case", "per_officer"):
        parts = [r[shape] for r in rows]
        intervals = sum(p["intervals"] for p in parts)
        covered = sum(p["covered"] for p in parts)
        changed = [p["changed"] for p in parts]
        worst = [p["worst_multiplier_error"] for p in parts]
        report[shape] = {
            "logs": len(parts),
            "intervals": intervals,
            "coverage": covered / intervals if intervals else math.nan,
            "figures_at_bound": sum(p["at_bound"] for p in parts),
            "changed_per_log": changed,
            "logs_with_at_most_one_changed": sum(c <= 1 for c in changed),
            "worst_multiplier_error": max((w for w in worst if math.isfinite(w)), default=None),
            "verdicts": {v: sum(p["verdict"] == v for p in parts) for v in VERDICTS},
            "written_although_worse": sum(
                p["verdict"] == "better" and p["mae_fitted"] > p["mae_current"] for p in parts
            ),
        }
    return report


def _scale(config: Config, n_cases: int, folder: Path) -> dict[str, Any]:
    """One fit per shape of a log of `n_cases` cases (~125 per officer, 3 periods), by phase."""
    n_officers = max(n_cases // 125, 10)
    started = time.perf_counter()
    roster_path, cases_path = write_dataset(
        folder, n_cases=n_cases, n_officers=n_officers, n_offices=10, seed=1, fmt="parquet"
    )
    inputs = load_inputs(roster_path, cases_path, config)
    logs = generate_time_logs(inputs.cases, inputs.roster, config, periods=3, seed=1)
    generated = time.perf_counter() - started
    out: dict[str, Any] = {"cases": n_cases, "officers": n_officers, "generate_s": generated}
    for shape, log in {
        "per_case": TimeLog("per_case", logs.per_case, None, "timelog_cases"),
        "per_officer": TimeLog("per_officer", logs.per_officer, logs.held, "timelog_officers"),
    }.items():
        cpu, wall = time.process_time(), time.perf_counter()
        result = calibrate(inputs.cases, log, config)
        out[shape] = {
            "entries": result.entries,
            "fit_wall_s": time.perf_counter() - wall,
            "fit_cpu_s": time.process_time() - cpu,
            "verdict": result.comparison.verdict,
        }
    out["load_after"] = os.getloadavg()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=40)
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--officers", type=int, default=40)
    parser.add_argument("--offices", type=int, default=3)
    parser.add_argument("--periods", type=int, default=3)
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--min-cases", type=int, default=30)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--scale", type=int, default=0, help="cases of the timed fit (0: none)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/calibration.json"))
    args = parser.parse_args()
    config = default_config()
    output: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    output["load_before"] = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for seed in range(args.first_seed, args.first_seed + args.logs):
            rows.append(_study_one(config, Path(tmp) / f"s{seed}", seed, args))
            print(json.dumps({"seed": seed, **{k: {m: v for m, v in rows[-1][k].items()
                  if m != "uncovered"} for k in ("per_case", "per_officer")}}), flush=True)  # fmt: skip
        output["study"] = _report(rows, args) if rows else {}
        output["rows"] = rows
        if args.scale:
            output["scale"] = _scale(config, args.scale, Path(tmp) / "scale")
    output["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2, default=float))
    print(json.dumps({k: v for k, v in output.items() if k != "rows"}, indent=2, default=float))
    if rows:
        shares = [output["study"][s]["coverage"] for s in ("per_case", "per_officer")]
        print("coverage per-case {:.1%}, per-officer {:.1%}".format(*shares))


if __name__ == "__main__":
    main()
