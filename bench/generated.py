"""One way to make a benchmark docket: `assign generate` into a folder, Parquet, quiet."""

from __future__ import annotations

import subprocess
from pathlib import Path


def generate(
    assign: Path, folder: Path, cases: int, officers: int, offices: int, seed: int
) -> None:
    """Write roster.parquet and cases.parquet into `folder` with the real CLI."""
    subprocess.run(
        [
            str(assign),
            "generate",
            "--out-dir",
            str(folder),
            "--cases",
            str(cases),
            "--officers",
            str(officers),
            "--offices",
            str(offices),
            "--seed",
            str(seed),
            "--quiet",
        ],
        check=True,
    )
