"""`assign sweep --engine ray` on a real local Ray (one cluster start for the module): the same
table as local processes, inputs in the object store once."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from assigncli.analysis.sweep import (
    TIMING_COLUMNS,
    init_local_ray,
    load_base,
    load_sweep,
    run_sweep,
)
from assigncli.generate import write_dataset

with warnings.catch_warnings():
    # Ray's own imports may warn about its dependencies; that is not this project's warning.
    warnings.simplefilter("ignore")
    ray = pytest.importorskip("ray")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCENARIOS = """
[sweep]
roster = "roster.csv"
cases = "cases.csv"
time_limit = 2
seed = 3

[[scenario]]
name = "today"

[[scenario]]
name = "staffing at 60%"
mode = "staffing"
target = 0.6

[[scenario]]
name = "everyone away a week"
time_away = { days = 7 }

[[series]]
name = "budget"
vary = "max_moves"
values = [0, 1, 2, 4, 8, 16]

[[series]]
name = "handoff"
vary = "handoff_hours"
values = [0.0, 0.5, 3.0, 10.0]

[[series]]
name = "heavier"
vary = "effort_scale"
values = [0.5, 1.25, 2.0]

[[series]]
name = "hires"
vary = "hire_count"
values = [1, 2, 3]
hire = { office = "NYC" }

[[series]]
name = "rotation"
vary = "time_away_days"
values = [3, 14]
time_away = { office = "NYC", days = 1 }
"""


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        init_local_ray(num_cpus=2)
    yield
    ray.shutdown()


def test_ray_and_processes_give_the_same_table(tmp_path: Path, local_ray: None) -> None:
    """Twenty-one tiny scenarios, one solver thread each, seeded: the same rows on a local Ray as
    on two local processes (timings aside), every one a checked plan or staffing answer."""
    write_dataset(tmp_path, n_cases=40, n_officers=5, n_offices=2, seed=4, fmt="csv")
    roster = pl.read_csv(tmp_path / "roster.csv")
    office = roster["office"].str.split(";").list.first()[0]
    path = tmp_path / "scenarios.toml"
    path.write_text(SCENARIOS.replace('"NYC"', f'"{office}"'))
    spec = load_sweep(path)
    assert len(spec.scenarios) >= 20
    base = load_base(spec)
    on_ray = run_sweep(spec, base, tmp_path / "ray.csv", engine="ray", workers=1)
    on_processes = run_sweep(spec, base, tmp_path / "processes.csv", jobs=2, workers=1)
    assert on_ray.engine == "ray" and on_ray.workers == 1
    a = on_ray.table.drop(TIMING_COLUMNS)
    b = on_processes.table.drop(TIMING_COLUMNS)
    assert (a["status"] == "ok").all(), a.filter(pl.col("status") != "ok").to_dicts()
    assert a.equals(b)
    # The file written as the sweep went is the same table.
    assert pl.read_csv(tmp_path / "ray.csv").drop(TIMING_COLUMNS).height == a.height


def test_local_ray_workers_run_at_the_commands_priority(local_ray: None) -> None:
    """Ray's default nice 15 would starve the scenarios on a busy machine (their time limits would
    then bind, and the rows differ from the processes engine's): the workers run at nice 0."""

    def niceness() -> int:
        return os.nice(0)

    assert ray.get(ray.remote(niceness).remote()) == os.nice(0)
