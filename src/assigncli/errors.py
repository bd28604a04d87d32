"""One exception family for every failure a user can cause; the CLI maps it to exit codes.

Exit codes are part of the interface (documented in README.md). There is no "no plan" code: every
solver path starts from a complete greedy plan, so a plan always exists; cases nobody can take are
rows of the plan with their reason, and a run out of time returns the best plan found (exit 0).

====  ===========================================================
 0    success (warnings may have been printed)
 1    unexpected internal error (a bug: please report it)
 2    usage error: bad option or argument (Typer's own code)
 3    invalid input data: a roster or case file breaks the contract
 4    invalid configuration: the TOML model or a rule is wrong
 5    output could not be written (nothing was written)
130   interrupted (Ctrl-C)
====  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_CONFIG = 4
EXIT_OUTPUT = 5


@dataclass(frozen=True)
class InputIssue:
    """One thing wrong (or suspicious) with an input, precise enough to fix without guessing."""

    severity: Literal["error", "warning"]
    file: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = ()  # 1-based data rows (header excluded), first few only
    row_count: int = 0  # how many rows in total have this problem
    code: str = ""  # stable machine-readable identifier, e.g. "duplicate_id"
    sheet: str | None = None  # the worksheet read, for an Excel file

    def render(self) -> str:
        where = self.file
        if self.sheet is not None:
            where += f", sheet {self.sheet!r}"
        if self.column is not None:
            where += f", column '{self.column}'"
        if self.row_count:
            shown = ", ".join(str(r) for r in self.rows)
            more = (
                f" and {self.row_count - len(self.rows)} more"
                if self.row_count > len(self.rows)
                else ""
            )
            noun = "row" if self.row_count == 1 else "rows"
            where += f", {noun} {shown}{more}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "file": self.file,
            "sheet": self.sheet,
            "column": self.column,
            "rows": list(self.rows),
            "row_count": self.row_count,
            "message": self.message,
        }


class AssignError(Exception):
    """Base of every expected failure; carries the exit code the CLI returns."""

    exit_code: int = EXIT_INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(AssignError):
    exit_code = EXIT_USAGE


class InputError(AssignError):
    """The inputs break the data contract. `problems` lists every error found (and warnings)."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str, problems: list[InputIssue] | None = None) -> None:
        super().__init__(message)
        self.problems: list[InputIssue] = list(problems or [])


class ConfigError(AssignError):
    exit_code = EXIT_CONFIG


class OutputError(AssignError):
    exit_code = EXIT_OUTPUT


@dataclass
class IssueLog:
    """Collects problems across files so that one run reports all of them at once."""

    problems: list[InputIssue] = field(default_factory=list)

    def add(self, problem: InputIssue) -> None:
        self.problems.append(problem)

    @property
    def errors(self) -> list[InputIssue]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[InputIssue]:
        return [p for p in self.problems if p.severity == "warning"]

    def raise_if_errors(self, what: str) -> None:
        errors = self.errors
        if errors:
            noun = "problem" if len(errors) == 1 else "problems"
            raise InputError(f"{what}: {len(errors)} {noun} found", self.problems)
