"""The `assign` command line: thin commands over the library, one place that maps errors to exits.

Each command parses its options, calls one library function and renders the result (renderers
live in `render/`). Shared option types are declared once, at the top; a new command is one more
function that uses them inside `with failures(ui):`.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.logging import RichHandler
from rich.text import Text
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

from assigncli import __version__, interrupt
from assigncli.config import load_config
from assigncli.errors import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    AssignError,
    InputError,
    InputIssue,
    IssueLog,
    UsageError,
)
from assigncli.render.terminal import SolveStatus, console, problem_text

if TYPE_CHECKING:
    from assigncli.analysis.robustness import RobustnessOptions
    from assigncli.pipeline import PhaseClock


class _Command(TyperCommand):
    """A command whose usage line reads `assign plan [OPTIONS] ROSTER CASES` and whose --help
    option shows no value type (it takes none)."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [
            piece.removeprefix("{").removesuffix("}") for piece in super().collect_usage_pieces(ctx)
        ]

    def get_help_option(self, ctx: click.Context) -> Any:
        return _without_type(super().get_help_option(ctx))


def _flags_without_type(params: Sequence[click.Parameter]) -> None:
    """Flags take no value, so --help shows no value type for them (Typer would say <bool>)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


def _adopt(commands: Iterable[click.Command]) -> None:
    """Give every command, also those of sub-groups (`assign effort fit`), the help fixes above.

    Typer builds the commands before the group; a plain command only gains `_Command`'s two
    methods, which is why swapping its class is safe.
    """
    for command in commands:
        _flags_without_type(command.params)
        if type(command) is TyperCommand:
            command.__class__ = _Command
        elif isinstance(command, TyperGroup):
            _adopt(command.commands.values())


def _without_type(option: Any) -> Any:
    if option is not None:
        option.metavar = ""
    return option


class _App(TyperGroup):
    """The command group: every command is a `_Command`, and with --json a usage error (exit 2)
    also prints its JSON object."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _adopt(self.commands.values())

    def get_help_option(self, ctx: click.Context) -> Any:
        return _without_type(super().get_help_option(ctx))

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        _flags_without_type(params)
        return params

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        wants_json = "--json" in args
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            if wants_json:
                _json_usage_error(exc)
            raise
        ctx.meta["assigncli.json"] = wants_json
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if ctx.meta.get("assigncli.json"):
                _json_usage_error(exc)
            raise


def _json_usage_error(exc: click.ClickException) -> None:
    if exc.__class__.__name__ == "NoArgsIsHelpError":
        return
    _emit_json(
        {
            "status": "error",
            "exit_code": exc.exit_code,
            "message": exc.format_message(),
            "problems": [],
        }
    )


app = typer.Typer(
    name="assign",
    cls=_App,
    help="Caseload assignment that balances case effort against officers' real capacity.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# -- shared option types ----------------------------------------------------------------------


class Solver(StrEnum):
    auto = "auto"
    exact = "exact"
    scale = "scale"


class Estimator(StrEnum):
    auto = "auto"
    gamma = "gamma"
    nnls = "nnls"


class Format(StrEnum):
    parquet = "parquet"
    csv = "csv"
    xlsx = "xlsx"


_TABLE = "(.parquet, .csv, .xlsx)"
RosterArg = Annotated[
    Path, typer.Argument(metavar="ROSTER", help=f"Officer roster {_TABLE}.", show_default=False)
]
CasesArg = Annotated[
    Path, typer.Argument(metavar="CASES", help=f"Case list {_TABLE}.", show_default=False)
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="TOML",
        help="Model file (default: ./assign.toml if present, else the built-in model).",
    ),
]
# Flags show no value type in --help (metavar ""): they take none.
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        metavar="",
        help="Print one JSON object on stdout (also on errors); nothing else goes to stdout.",
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", metavar="", help="No progress, summaries or warnings; errors still show."
    ),
]
VerboseOpt = Annotated[
    int,
    typer.Option(
        "--verbose",
        "-v",
        count=True,
        metavar="",
        show_default=False,
        help="Time and memory per phase; twice (-vv) adds the solver's search log.",
    ),
]
SeedOpt = Annotated[
    int, typer.Option("--seed", metavar="N", help="Random seed (solver and generator).")
]
TimeLimitOpt = Annotated[
    float,
    typer.Option(
        "--time-limit",
        min=0.1,
        metavar="SECONDS",
        help="Limit on the whole run, from reading the inputs to the last file written: the "
        "solver gets what reading, grouping and writing leave (start-up of Python and its "
        "libraries, a second or two, is not counted).",
    ),
]
SheetOpt = Annotated[
    str | None,
    typer.Option(
        "--sheet", metavar="NAME", help="Worksheet to read from Excel inputs (default: the first)."
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report", metavar="HTML", help="Also write a self-contained HTML report (.html) here."
    ),
]


class Ui:
    """Where output goes: data to files or stdout (--json), everything else to stderr.

    `--quiet` silences progress, summaries and warnings; errors always reach stderr.
    """

    def __init__(self, *, quiet: bool, verbose: int, json_mode: bool) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.json_mode = json_mode
        self.err = console(stderr=True)  # errors: never quiet
        self.chatter = console(stderr=True, quiet=quiet)  # progress, summaries, warnings
        handler = RichHandler(
            console=console(stderr=True), show_path=False, show_time=False, markup=False
        )
        logger = logging.getLogger("assigncli")
        logger.handlers[:] = [handler]
        logger.propagate = False
        if quiet:
            level = logging.ERROR
        else:
            level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
        logger.setLevel(level)

    def problems(self, problems: Sequence[InputIssue]) -> None:
        for p in problems:
            target = self.err if p.severity == "error" else self.chatter
            target.print(problem_text(p))

    def error(self, label: str, message: str) -> None:
        self.err.print(Text.assemble((label, "red"), ": ", message))

    def emit_json(self, payload: dict[str, Any]) -> None:
        _emit_json(payload)

    @contextmanager
    def progress(self, started: float, time_limit: float | None) -> Iterator[SolveStatus]:
        """A live status line on stderr (a terminal only), interruptible by Ctrl-C (exit 130)."""
        status = SolveStatus(started, time_limit)

        def on_signal(count: int) -> None:
            more = "" if count == 1 else " (already stopping)"
            self.chatter.print(Text(f"interrupt: stopping, nothing will be written{more}"))

        with interrupt.sigint_stops_run(on_signal):
            if self.quiet or not self.chatter.is_terminal:
                yield status
            else:
                with self.chatter.status(status, spinner="dots"):
                    yield status


def _emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(_finite(payload), default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity (an undefined gap, a median over no officer): null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


@contextmanager
def failures(ui: Ui) -> Iterator[None]:
    """Every expected failure becomes a message and its exit code; never a traceback."""
    try:
        yield
    except AssignError as exc:
        if isinstance(exc, InputError) and exc.problems:
            ui.problems(exc.problems)
        ui.error("error", exc.message)
        if ui.json_mode:
            ui.emit_json(
                {
                    "status": "interrupted"
                    if isinstance(exc, interrupt.InterruptError)
                    else "error",
                    "exit_code": exc.exit_code,
                    "message": exc.message,
                    "problems": [p.to_dict() for p in getattr(exc, "problems", [])],
                }
            )
        raise typer.Exit(exc.exit_code) from None
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        ui.error("interrupted", "nothing was written")
        if ui.json_mode:
            ui.emit_json(
                {
                    "status": "interrupted",
                    "exit_code": interrupt.EXIT_INTERRUPTED,
                    "message": "interrupted",
                }
            )
        raise typer.Exit(interrupt.EXIT_INTERRUPTED) from None
    except Exception as exc:  # a bug: say so plainly, keep the traceback for --verbose
        if ui.verbose:
            ui.err.print_exception()
        ui.error(
            "internal error",
            f"{type(exc).__name__}: {exc} (run with --verbose for details)",
        )
        if ui.json_mode:
            ui.emit_json(
                {
                    "status": "error",
                    "exit_code": EXIT_INTERNAL,
                    "message": f"internal error: {type(exc).__name__}: {exc}",
                    "problems": [],
                }
            )
        raise typer.Exit(EXIT_INTERNAL) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assign {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            metavar="",
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Estimate case effort, assign cases to officers against real capacity, show what changed."""


def _check_report_path(report: Path | None, others: Sequence[Path]) -> None:
    """A report must be .html and must not overwrite another output of the same run."""
    if report is None:
        return
    if report.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--report must name an .html file, not {str(report)!r}")
    if any(report.resolve() == other.resolve() for other in others):
        raise UsageError(f"--report {report} would overwrite another output of this run")


# -- plan -------------------------------------------------------------------------------------

_PLAN_EXAMPLES = """Examples:

assign plan roster.csv cases.csv --out plan.csv --time-limit 30

assign plan roster.parquet cases.parquet --out out/plan.parquet --report out/plan.html

assign plan roster.csv cases.csv --json --quiet > summary.json    (for cron)

Writes PLAN, <stem>.officers.<ext> and <stem>.manifest.json beside it, all or nothing.
Ctrl-C stops the run: exit 130, nothing written."""


@app.command(epilog=_PLAN_EXAMPLES)
def plan(
    roster: RosterArg,
    cases: CasesArg,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", metavar="PLAN", help="Plan file; its extension sets the format."
        ),
    ] = Path("plan.csv"),
    config: ConfigOpt = None,
    solver: Annotated[
        Solver,
        typer.Option(
            "--solver",
            help="exact: CP-SAT; scale: linear program + local search; auto: by size.",
        ),
    ] = Solver.auto,
    time_limit: TimeLimitOpt = 30.0,
    seed: SeedOpt = 0,
    workers: Annotated[
        int,
        typer.Option("--workers", min=0, metavar="N", help="Solver threads (0: every core)."),
    ] = 0,
    max_moves: Annotated[
        int | None,
        typer.Option(
            "--max-moves",
            min=0,
            metavar="N",
            help="Budget of discretionary moves (forced moves do not count).",
        ),
    ] = None,
    report: ReportOpt = None,
    robustness: Annotated[
        bool,
        typer.Option(
            "--robustness",
            help="Also evaluate the plan under wrong effort figures: scaling per rule, "
            "budgeted-uncertainty peak, Monte Carlo (in the summary, manifest and report).",
        ),
    ] = False,
    mc_draws: Annotated[
        int,
        typer.Option(
            "--mc-draws", min=0, metavar="N", help="Monte Carlo draws for --robustness (0: none)."
        ),
    ] = 500,
    case_cv: Annotated[
        float,
        typer.Option(
            "--case-cv",
            min=0.0,
            metavar="CV",
            help="Per-case lognormal noise (coefficient of variation).",
        ),
    ] = 0.30,
    rule_cv: Annotated[
        float,
        typer.Option(
            "--rule-cv",
            min=0.0,
            metavar="CV",
            help="Per-rule correlated error (coefficient of variation).",
        ),
    ] = 0.15,
    deviation: Annotated[
        float,
        typer.Option(
            "--deviation",
            min=0.0,
            metavar="FRACTION",
            help="Budgeted uncertainty: ± relative error per case.",
        ),
    ] = 0.30,
    confidence: Annotated[
        float,
        typer.Option(
            "--confidence",
            min=0.5,
            max=0.999999,
            metavar="P",
            help="Budgeted uncertainty: confidence that sets Γ.",
        ),
    ] = 0.95,
    sheet: SheetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Estimate effort, solve, write the plan with its officer summary and manifest, print a summary."""
    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        from assigncli.pipeline import (
            PhaseClock,
            finish_seconds,
            plan_outputs,
            run_plan,
            write_plan,
        )
        from assigncli.render.terminal import phase_table, render, summary_dict
        from assigncli.solvers.solve import SolveOptions
        from assigncli.write import refuse_overwriting_inputs

        # --time-limit counts from here: start-up (Python, polars, OR-Tools) is behind us.
        started = time.perf_counter()

        paths = plan_outputs(out)  # rejects unknown extensions before any work
        _check_report_path(report, [paths.plan, paths.officers, paths.manifest])
        refuse_overwriting_inputs([*paths.all(), report], _inputs(roster, cases, config))
        cfg = load_config(config)
        options = SolveOptions(
            solver=solver.value,
            time_limit=time_limit,
            seed=seed,
            workers=workers,
            max_moves=max_moves,
        )
        assess = _robustness_options(
            robustness, mc_draws, case_cv, rule_cv, deviation, confidence, seed
        )
        reserve = finish_seconds if report is None else _with_report(finish_seconds)
        if assess is not None:
            reserve = _with_robustness(reserve, assess.draws)
        with ui.progress(started, time_limit) as status:
            clock = PhaseClock(on_start=status.on_phase, started=started)
            _prepare_report(report, clock)
            run = run_plan(
                roster,
                cases,
                cfg,
                options,
                clock=clock,
                progress=status.on_progress,
                on_warnings=ui.problems,
                reserve=reserve,
                sheet=sheet,
                robustness=assess,
                robustness_progress=status.on_draws,
            )
            report_file = None
            if report is not None:
                from assigncli.render.report import html_writer, plan_report_html

                with clock.phase("report"):
                    report_file = (report, html_writer(plan_report_html(run)))
            run, files = write_plan(run, out, report=report_file, clock=clock)
        if verbose:
            ui.chatter.print(phase_table(run.phases, run.solution.components))
        if json_out:
            payload = {**summary_dict(run, files), "elapsed_seconds": clock.elapsed()}
            if run.robustness is not None:
                payload["robustness"] = run.robustness.to_dict()
            ui.emit_json(payload)
        elif not quiet:
            render(run, files, console())
            if run.robustness is not None:
                from assigncli.render.explain import print_robustness

                print_robustness(run.robustness, console())


def _robustness_options(
    wanted: bool,
    draws: int,
    case_cv: float,
    rule_cv: float,
    deviation: float,
    confidence: float,
    seed: int,
) -> RobustnessOptions | None:
    """The --robustness settings, or None when not asked."""
    if not wanted:
        return None
    from assigncli.analysis.robustness import RobustnessOptions

    return RobustnessOptions(
        deviation=deviation,
        confidence=confidence,
        draws=draws,
        case_cv=case_cv,
        rule_cv=rule_cv,
        seed=seed,
    )


# --robustness after the solve: scalings and the budgeted peak, then the Monte Carlo draws
# (measured, README "Robustness": 0.5 s of CPU per million cases, 16 ms per draw at 1M).
_ROBUSTNESS_SECONDS_PER_CASE = 1e-6
_ROBUSTNESS_SECONDS_PER_CASE_DRAW = 2e-8


def _with_robustness(reserve: Callable[[int], float], draws: int) -> Callable[[int], float]:
    def with_robustness(n_cases: int) -> float:
        per_case = _ROBUSTNESS_SECONDS_PER_CASE + draws * _ROBUSTNESS_SECONDS_PER_CASE_DRAW
        return reserve(n_cases) + per_case * n_cases

    return with_robustness


def _inputs(*paths: Path | None) -> list[Path]:
    return [path for path in paths if path is not None]


# The HTML report embeds the Vega libraries, built once per process before the run (their time,
# seconds on a busy machine, then counts before the solver's share is set); what remains after
# the solve is the status quo beside the plan and the charts' data.
_REPORT_SECONDS = 0.5
_REPORT_SECONDS_PER_CASE = 3e-6


def _prepare_report(report: Path | None, clock: PhaseClock) -> None:
    if report is not None:
        from assigncli.render.report import prepare_report

        with clock.phase("report libraries"):
            prepare_report()


def _with_report(reserve: Callable[[int], float]) -> Callable[[int], float]:
    def with_report(n_cases: int) -> float:
        return reserve(n_cases) + _REPORT_SECONDS + _REPORT_SECONDS_PER_CASE * n_cases

    return with_report


# -- validate ---------------------------------------------------------------------------------

_VALIDATE_EXAMPLES = """Examples:

assign validate roster.csv cases.csv

assign validate roster.xlsx cases.xlsx --config assign.toml --json

Exit 0: valid (warnings may be listed); exit 3: at least one error, every problem listed."""


@app.command(epilog=_VALIDATE_EXAMPLES)
def validate(
    roster: RosterArg,
    cases: CasesArg,
    config: ConfigOpt = None,
    sheet: SheetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Check both inputs against the data contract and list every problem (exit 3 if any error)."""
    from assigncli.effort import estimate_effort
    from assigncli.validate import check_inputs

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        cfg = load_config(config)
        result = check_inputs(roster, cases, cfg, sheet=sheet)
        model = IssueLog()
        if result.ok and result.cases is not None:
            # Effort rules are part of the contract too: a rule naming a missing column is an error
            # (and a built-in rule that does not apply, a warning).
            estimate_effort(result.cases, cfg, issues=model, cases_file=str(cases))
        problems = (*result.problems, *model.problems)
        warnings = [p for p in problems if p.severity == "warning"]
        ui.problems(problems)
        if json_out:
            ui.emit_json(
                {
                    "status": "ok" if result.ok else "invalid",
                    "exit_code": 0 if result.ok else EXIT_INPUT,
                    "errors": len(result.errors),
                    "warnings": len(warnings),
                    "problems": [p.to_dict() for p in problems],
                }
            )
        if not result.ok:
            ui.error("invalid", f"{len(result.errors)} error(s), {len(warnings)} warning(s)")
            raise typer.Exit(EXIT_INPUT)
        if not json_out:
            assert result.roster is not None and result.cases is not None
            ui.chatter.print(
                Text.assemble(
                    ("valid", "green"),
                    f": {result.roster.height:,} officers, {result.cases.height:,} cases"
                    f" ({len(warnings)} warning(s))",
                )
            )


# -- effort -----------------------------------------------------------------------------------


class _EffortGroup(TyperGroup):
    """`assign effort CASES` (the audit, as it always was) beside `assign effort fit CASES
    TIMELOG`: a first argument that names no sub-command goes to the audit."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["audit", *args]
        return super().parse_args(ctx, args)

    def get_help_option(self, ctx: click.Context) -> Any:
        return _without_type(super().get_help_option(ctx))


effort_app = typer.Typer(
    cls=_EffortGroup,
    no_args_is_help=True,
    rich_markup_mode="rich",
    help=(
        "Per-case effort and the rules behind it, or calibrate the rules from logged hours.\n\n"
        "[bold]assign effort CASES \\[--out audit.csv][/bold]: per-case effort (same as "
        "[bold]assign effort audit CASES[/bold]).\n\n"
        "[bold]assign effort fit CASES TIMELOG \\[--out fitted.toml][/bold]: fit the rules' "
        "figures to a time log."
    ),
)
_EFFORT_EXAMPLES = """Examples:

assign effort cases.csv

assign effort cases.parquet --config assign.toml --out effort.csv

assign effort fit cases.csv timelog.csv --config assign.toml --out fitted.toml"""
app.add_typer(effort_app, name="effort", epilog=_EFFORT_EXAMPLES)


@effort_app.command("audit", epilog=_EFFORT_EXAMPLES)
def effort(
    cases: CasesArg,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="TABLE", help="Write the per-case audit table here."),
    ] = None,
    config: ConfigOpt = None,
    sheet: SheetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Per-case effort with the rules that produced it, and how much each rule contributed."""
    from assigncli.effort import effort_audit, effort_rule_summary, estimate_effort
    from assigncli.render.terminal import render_effort_rules
    from assigncli.validate import load_cases
    from assigncli.write import refuse_overwriting_inputs, write_table

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        refuse_overwriting_inputs([out], _inputs(cases, config))
        cfg = load_config(config)
        valid, warnings = load_cases(cases, sheet=sheet)
        model = IssueLog()
        with_effort = estimate_effort(valid, cfg, issues=model, cases_file=str(cases))
        ui.problems((*warnings, *model.problems))
        audit = effort_audit(with_effort, cfg)
        rules = effort_rule_summary(with_effort, cfg)
        if out is not None:
            write_table(audit, out)
        total = float(audit["effort_hours"].sum())
        if json_out:
            ui.emit_json(
                {
                    "status": "ok",
                    "cases": audit.height,
                    "total_hours": total,
                    "rules": rules.to_dicts(),
                    "file": str(out) if out else None,
                }
            )
        elif not quiet:
            stdout = console()
            render_effort_rules(rules, audit.height, stdout)
            where = (
                f"; per-case audit written to {out}"
                if out
                else "; use --out to write the per-case audit"
            )
            stdout.print(Text(f"total {total:,.1f} hours per cycle{where}"))


_FIT_EXAMPLES = """Examples:

assign effort fit cases.csv timelog.csv --config assign.toml --out fitted.toml

assign effort fit cases.csv timelog_officers.csv --held held.csv --json"""


@effort_app.command("fit", epilog=_FIT_EXAMPLES)
def effort_fit(
    cases: Annotated[
        Path,
        typer.Argument(
            metavar="CASES",
            show_default=False,
            help="Case list with the attributes the rules read.",
        ),
    ],
    timelog: Annotated[
        Path,
        typer.Argument(
            metavar="TIMELOG",
            show_default=False,
            help="Time log: case_id, period, hours (per case) or officer_id, period, hours "
            "(per officer, with --held).",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="TOML", help="Write the fitted model here (.toml)."),
    ] = None,
    config: ConfigOpt = None,
    held: Annotated[
        list[str] | None,
        typer.Option(
            "--held",
            metavar="FILE|PERIOD=PLAN",
            help="Per-officer logs: cases each officer held, a file (case_id, officer_id, "
            "period) or a past plan as PERIOD=PLAN; repeatable.",
        ),
    ] = None,
    estimator: Annotated[
        Estimator,
        typer.Option(
            "--estimator",
            help="auto: the lower held-out MAE; gamma: Gamma quasi-likelihood, log-linear; "
            "nnls: non-negative least squares.",
        ),
    ] = Estimator.auto,
    folds: Annotated[
        int, typer.Option("--folds", min=0, metavar="K", help="k-fold held-out error (0: skip).")
    ] = 5,
    level: Annotated[
        float,
        typer.Option(
            "--level", min=0.5, max=0.999, metavar="P", help="Confidence level of the intervals."
        ),
    ] = 0.90,
    min_cases: Annotated[
        int,
        typer.Option(
            "--min-cases", min=1, metavar="N", help="Warn about figures with fewer cases."
        ),
    ] = 30,
    max_hours: Annotated[
        float | None,
        typer.Option(
            "--max-hours",
            min=0.0,
            metavar="HOURS",
            help="Largest believable entry (default: cycle_days × 24).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write --out even when the fit does not beat the current figures on held-out "
            "data (otherwise nothing is written and the exit code is 6).",
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="HTML",
            help="Write an analyst's report (self-contained .html): figures, intervals, "
            "evidence, held-out error.",
        ),
    ] = None,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Calibrate the effort rules' figures from logged hours: held-out error, intervals, a new TOML."""
    from assigncli.analysis.calibrate import EXIT_NOT_BETTER, calibrate, fitted_toml
    from assigncli.render.calibration import calibration_html, render_calibration
    from assigncli.timelog import HeldSource, load_time_log
    from assigncli.validate import load_cases
    from assigncli.write import refuse_overwriting_inputs, write_all

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        sources = [HeldSource.parse(h) for h in held or []]
        if out is not None and out.suffix.lower() != ".toml":
            raise UsageError(f"--out must name a .toml file, not {str(out)!r}")
        if report is not None and report.suffix.lower() not in (".html", ".htm"):
            raise UsageError(f"--report must name an .html file, not {str(report)!r}")
        if out is not None and report is not None and out.resolve() == report.resolve():
            raise UsageError("--out and --report name the same file")
        refuse_overwriting_inputs(
            [out, report], _inputs(cases, timelog, config, *(source.path for source in sources))
        )
        cfg = load_config(config)
        valid, warnings = load_cases(cases)
        ui.problems(warnings)
        log = load_time_log(
            timelog, valid, cycle_days=cfg.cycle_days, held=sources, max_hours=max_hours
        )
        ui.problems(log.problems)
        with ui.chatter.status("fitting", spinner="dots"):
            result = calibrate(
                valid,
                log,
                cfg,
                estimator=estimator.value,
                folds=folds,
                level=level,
                min_cases=min_cases,
                seed=seed,
            )
        # Never a silent regression: a fit that does not beat the current figures on held-out
        # data is reported, not written, unless the analyst insists.
        refused = not result.comparison.better and not force
        outputs: list[tuple[Path, Callable[[Path], None]]] = []
        if out is not None and not refused:
            toml_text = fitted_toml(result)
            outputs.append((out, lambda path: _write_text(path, toml_text)))
        if report is not None:
            html_text = calibration_html(result, None if refused else out)
            outputs.append((report, lambda path: _write_text(path, html_text)))
        if outputs:
            write_all(outputs, make_dirs=True)
        written = out if out is not None and not refused else None
        if json_out:
            ui.emit_json(
                {
                    "status": "not_better" if refused else "ok",
                    "exit_code": EXIT_NOT_BETTER if refused else 0,
                    **result.to_dict(),
                    "file": str(written) if written else None,
                    "report": str(report) if report else None,
                }
            )
        elif not quiet:
            render_calibration(result, written, console(), refused=refused, report=report)
        if refused:
            if quiet and not json_out:
                ui.error("not better", "the fit does not beat the current figures; not written")
            raise typer.Exit(EXIT_NOT_BETTER)


# -- generate ---------------------------------------------------------------------------------

_GENERATE_EXAMPLES = """Examples:

assign generate --cases 3000 --officers 40 --offices 3 --format csv --out-dir data

assign generate --cases 3000 --time-log --periods 3 --out-dir study

assign generate --cases 7500000 --officers 6000 --offices 25 --out-dir national"""


@app.command(epilog=_GENERATE_EXAMPLES)
def generate(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out-dir", "-o", metavar="DIR", help="Directory for roster.<ext> and cases.<ext>."
        ),
    ] = Path("."),
    n_cases: Annotated[
        int, typer.Option("--cases", min=1, metavar="N", help="Number of cases.")
    ] = 3000,
    n_officers: Annotated[
        int, typer.Option("--officers", min=1, metavar="N", help="Number of officers.")
    ] = 40,
    n_offices: Annotated[
        int, typer.Option("--offices", min=1, metavar="N", help="Number of field offices.")
    ] = 3,
    fmt: Annotated[Format, typer.Option("--format", help="File format.")] = Format.parquet,
    seed: SeedOpt = 0,
    time_log: Annotated[
        bool,
        typer.Option(
            "--time-log",
            help="Also write time logs drawn from the model's figures: timelog_cases, "
            "timelog_officers and held (see README).",
        ),
    ] = False,
    periods: Annotated[
        int,
        typer.Option("--periods", min=1, metavar="N", help="Periods (cycles) in the time logs."),
    ] = 3,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Write a realistic synthetic roster and case list (immigration docket mix), small to national."""
    from assigncli.generate import write_dataset

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        if n_offices > n_officers:
            raise UsageError("--offices cannot exceed --officers: every office needs an officer")
        with ui.chatter.status("generating", spinner="dots") as status:
            roster_path, cases_path = write_dataset(
                out_dir,
                n_cases=n_cases,
                n_officers=n_officers,
                n_offices=n_offices,
                seed=seed,
                fmt=fmt.value,
                progress=lambda done, total: status.update(f"generating cases {done:,}/{total:,}"),
            )
        logs: dict[str, Path] = {}
        if time_log:
            from assigncli.timelog import write_time_logs

            with ui.chatter.status("generating time logs", spinner="dots"):
                logs = write_time_logs(
                    out_dir,
                    roster_path,
                    cases_path,
                    load_config(config),
                    fmt=fmt.value,
                    periods=periods,
                    seed=seed,
                )
        if json_out:
            ui.emit_json(
                {
                    "status": "ok",
                    "roster": str(roster_path),
                    "cases": str(cases_path),
                    **{f"time_log_{k}": str(v) for k, v in logs.items()},
                }
            )
        else:
            ui.chatter.print(Text(f"wrote {roster_path} and {cases_path}"))
            if logs:
                ui.chatter.print(
                    Text("wrote time logs " + ", ".join(str(path) for path in logs.values()))
                )


# -- compare ----------------------------------------------------------------------------------

_COMPARE_EXAMPLES = """Examples:

assign compare roster.csv cases.csv

assign compare roster.csv cases.csv --report compare.html --time-limit 60

assign compare roster.csv cases.csv --json > comparison.json"""


@app.command(epilog=_COMPARE_EXAMPLES)
def compare(
    roster: RosterArg,
    cases: CasesArg,
    report: ReportOpt = None,
    config: ConfigOpt = None,
    time_limit: TimeLimitOpt = 30.0,
    seed: SeedOpt = 0,
    sheet: SheetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Effort-weighted plan against naive assignment (status quo, round-robin, equal count,
    arbitrary, greedy by effort), side by side; --report writes the HTML report."""
    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        from assigncli.analysis.compare import compare_files
        from assigncli.pipeline import PhaseClock
        from assigncli.render.terminal import phase_table, render_comparison
        from assigncli.solvers.solve import SolveOptions
        from assigncli.write import refuse_overwriting_inputs, write_all

        started = time.perf_counter()  # after start-up, as in `plan`

        _check_report_path(report, [])
        refuse_overwriting_inputs([report], _inputs(roster, cases, config))
        cfg = load_config(config)
        options = SolveOptions(time_limit=time_limit, seed=seed)
        with ui.progress(started, time_limit) as status:
            clock = PhaseClock(on_start=status.on_phase, started=started)
            _prepare_report(report, clock)
            comparison = compare_files(
                roster,
                cases,
                cfg,
                options,
                clock=clock,
                progress=status.on_progress,
                on_warnings=ui.problems,
                extra_seconds=0.0 if report is None else _REPORT_SECONDS,
                sheet=sheet,
            )
            files: dict[str, str] = {}
            if report is not None:
                from assigncli.render.report import compare_report_html, html_writer

                with clock.phase("report", committing=True):
                    text = compare_report_html(comparison)
                    interrupt.check()
                    write_all([(report, html_writer(text))], make_dirs=True)
                files["report"] = str(report)
        if verbose:
            ui.chatter.print(phase_table(clock.phases))
        if json_out:
            ui.emit_json(
                {
                    "status": "ok",
                    **comparison.to_dict(),
                    "files": files,
                    "warnings": [p.to_dict() for p in comparison.run.warnings],
                    "phases": [p.to_dict() for p in clock.phases],
                }
            )
        elif not quiet:
            render_comparison(comparison, files, console())


# -- explain ----------------------------------------------------------------------------------


_EXPLAIN_EXAMPLES = """Examples:

assign explain out/plan.csv --case C0000001

assign explain out/plan.csv --officer OFF00039 --json

assign explain out/plan.csv --cases ids.txt --out explained.csv

Re-reads the plan's inputs named in its manifest and refuses (exit 3) when they changed."""


@app.command(epilog=_EXPLAIN_EXAMPLES)
def explain(
    plan_file: Annotated[
        Path,
        typer.Argument(
            metavar="PLAN",
            show_default=False,
            help="A plan written by `assign plan` (its manifest beside it).",
        ),
    ],
    case: Annotated[
        list[str] | None,
        typer.Option("--case", "-c", metavar="ID", help="A case to explain (repeat for several)."),
    ] = None,
    cases_file: Annotated[
        Path | None,
        typer.Option(
            "--cases",
            metavar="FILE",
            help="Explain every case listed in this file (case_id column, or .txt lines).",
        ),
    ] = None,
    officer: Annotated[
        list[str] | None,
        typer.Option(
            "--officer", metavar="ID", help="An officer whose load to explain (repeat for several)."
        ),
    ] = None,
    alternatives: Annotated[
        int, typer.Option("--alternatives", min=0, metavar="N", help="Alternatives shown per case.")
    ] = 3,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="TABLE",
            help="Write one row per explained case here (.csv, .xlsx, .parquet).",
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Why a case went to its officer (eligibility, continuity, what each alternative would cost,
    what bounds the peak), and what an officer's load is made of."""
    from assigncli.analysis.explain import (
        explain_cases,
        explain_officer,
        explanation_table,
        load_plan_context,
        read_case_ids,
    )
    from assigncli.render.explain import print_case, print_officer
    from assigncli.write import output_paths, refuse_overwriting_inputs, write_table

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        wanted = list(case or [])
        if cases_file is not None:
            wanted += read_case_ids(cases_file)
        officers = list(officer or [])
        if not wanted and not officers:
            raise UsageError("name something to explain: --case ID, --cases FILE or --officer ID")
        if out is not None:
            output_paths(out)  # rejects unknown extensions before any work
            refuse_overwriting_inputs([out], [plan_file])
            if not wanted:
                raise UsageError("--out writes case explanations: give --case or --cases")
        with ui.chatter.status("starting", spinner="dots") as status:
            ctx = load_plan_context(
                plan_file,
                audit=bool(officers),
                progress=lambda msg: status.update(Text(msg, style="bold")),
            )
            refuse_overwriting_inputs(
                [out], [Path(ctx.manifest["input_files"][role]) for role in ("roster", "cases")]
            )
            status.update(Text("explaining", style="bold"))
            start = time.perf_counter()
            explained, missing = explain_cases(ctx, wanted, alternatives=alternatives)
            if missing and cases_file is None:
                raise UsageError(
                    f"case(s) not in the plan: {', '.join(missing[:5])}"
                    + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                )
            people = [explain_officer(ctx, o) for o in officers]
            ctx.seconds["explain"] = round(time.perf_counter() - start, 3)
            if out is not None:
                out.parent.mkdir(parents=True, exist_ok=True)
                write_table(explanation_table(explained), out)
        if missing:
            ui.chatter.print(
                Text.assemble(
                    ("warning", "yellow"),
                    f": {len(missing):,} case(s) of {cases_file} are not in the plan "
                    f"(first: {', '.join(missing[:5])})",
                )
            )
        if verbose:
            ui.chatter.print(
                Text("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in ctx.seconds.items()))
            )
        if json_out:
            ui.emit_json(
                {
                    "status": "ok",
                    "plan": str(plan_file),
                    "cases": [e.to_dict() for e in explained],
                    "officers": [o.to_dict() for o in people],
                    "missing": missing,
                    "file": str(out) if out else None,
                    "seconds": ctx.seconds,
                }
            )
        elif not quiet:
            stdout = console()
            shown = explained if out is None else explained[:_SHOWN_WITH_OUT]
            for e in shown:
                print_case(e, stdout)
            if out is not None:
                ui.chatter.print(Text(f"wrote {len(explained):,} case explanation(s) to {out}"))
            for o in people:
                print_officer(o, stdout)


_SHOWN_WITH_OUT = 3  # case explanations printed when the rest go to --out


# -- staffing ---------------------------------------------------------------------------------


def _beside(path: Path, part: str) -> Path:
    """`staffing.csv` → `staffing.<part>.csv`: a companion table in the same format."""
    return path.with_name(f"{path.stem}.{part}{path.suffix}")


def _profile_spec(profile: Path | None, skills: str | None, capacity_hours: float | None) -> Any:
    """The new officers' profile: a `[profile]` table in a TOML file, then the options on top."""
    import tomllib

    from assigncli.analysis.staffing import ProfileSpec
    from assigncli.errors import ConfigError

    fixed_skills: tuple[str, ...] | None = None
    capacity: float | None = None
    if profile is not None:
        try:
            data = tomllib.loads(profile.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{profile}: profile file not found") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{profile}: cannot read the profile: {exc}") from None
        table = data.get("profile")
        if not isinstance(table, dict) or set(data) - {"profile"}:
            raise ConfigError(f"{profile}: expected one [profile] table (skills, capacity_hours)")
        unknown = sorted(set(table) - {"skills", "capacity_hours"})
        if unknown:
            raise ConfigError(
                f"{profile} [profile]: unknown key(s) {', '.join(unknown)}; "
                "allowed: capacity_hours, skills"
            )
        if "skills" in table:
            raw = table["skills"]
            if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
                raise ConfigError(f"{profile} [profile]: 'skills' must be a list of strings")
            fixed_skills = tuple(s.strip() for s in raw if s.strip())
        if "capacity_hours" in table:
            value = table["capacity_hours"]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{profile} [profile]: 'capacity_hours' must be a number > 0")
            capacity = float(value)
    if skills is not None:
        fixed_skills = tuple(s.strip() for s in skills.split(";") if s.strip())
    if capacity_hours is not None:
        capacity = capacity_hours
    return ProfileSpec(skills=fixed_skills, capacity_hours=capacity)


@app.command()
def staffing(
    roster: Annotated[Path, typer.Argument(help="Officer roster (.parquet, .csv, .xlsx).")],
    cases: Annotated[Path, typer.Argument(help="Case list (.parquet, .csv, .xlsx).")],
    target: Annotated[
        float, typer.Option("--target", help="Utilization to staff for (0.85 = 85%).")
    ] = 0.85,
    officers: Annotated[
        int | None,
        typer.Option(
            "--officers", min=0, help="The reverse question: where N new officers do most good."
        ),
    ] = None,
    office: Annotated[
        list[str] | None,
        typer.Option("--office", help="Search only this office (repeat for several)."),
    ] = None,
    skills: Annotated[
        str | None,
        typer.Option("--skills", help="New officers' skills, ';'-separated ('' for none)."),
    ] = None,
    capacity_hours: Annotated[
        float | None,
        typer.Option("--capacity-hours", min=0.001, help="New officers' capacity hours a cycle."),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help="TOML with a [profile] table (skills, capacity_hours)."),
    ] = None,
    case_type: Annotated[
        str | None,
        typer.Option(
            "--case-type", help="Case column naming the case type (default: the base rule)."
        ),
    ] = None,
    optimize: Annotated[
        bool,
        typer.Option("--optimize/--arithmetic-only", help="Also run the optimizer's search."),
    ] = True,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the table (.csv, .parquet, .xlsx) and its companions."
        ),
    ] = None,
    report: ReportOpt = None,
    config: ConfigOpt = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="Limit of each solve, in seconds.")
    ] = 10.0,
    seed: SeedOpt = 0,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="Solver threads (0: every core).")
    ] = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """How many officers, by office and skill, reach a target utilization: the workload arithmetic
    and the optimizer's proven answer, the achievable caseload, and (--officers N) where N new
    officers do the most good.

    Example: assign staffing roster.csv cases.csv --target 0.85 --officers 10 --out staffing.csv
    """
    from assigncli.analysis.staffing import StaffingOptions, staff
    from assigncli.effort import estimate_effort
    from assigncli.render.staffing import render_staffing, staffing_report_html
    from assigncli.validate import load_inputs
    from assigncli.write import refuse_overwriting_inputs, write_all, write_table

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        outputs: list[Path] = []
        if out is not None:
            if out.suffix.lower() not in (".csv", ".parquet", ".xlsx"):
                raise UsageError(f"--out must end in .csv, .parquet or .xlsx, not {str(out)!r}")
            outputs += [out, _beside(out, "caseload")]
            if officers is not None:
                outputs.append(_beside(out, "allocation"))
        _check_report_path(report, outputs)
        if report is not None:
            outputs.append(report)
        refuse_overwriting_inputs(outputs, [roster, cases] + ([config] if config else []))
        spec = _profile_spec(profile, skills, capacity_hours)
        options = StaffingOptions(
            target=target,
            profile=spec,
            offices=tuple(office or ()),
            officers=officers,
            optimize=optimize,
            time_limit=time_limit,
            seed=seed,
            workers=workers,
            case_type=case_type,
        )
        cfg = load_config(config)
        with ui.chatter.status("starting", spinner="dots") as status:
            status.update("[bold]read+validate[/bold]")
            inputs = load_inputs(roster, cases, cfg)
            ui.problems(inputs.problems)
            status.update("[bold]effort[/bold]")
            # The audit columns name each case's base rule: the default case type.
            with_effort = estimate_effort(inputs.cases, cfg, audit=case_type is None)
            status.update("[bold]staffing[/bold]")
            result = staff(
                inputs.roster,
                with_effort,
                cfg,
                options,
                progress=lambda msg: status.update(f"staffing: {msg}"),
            )
            files: dict[str, str] = {}
            writers = []
            if out is not None:
                table, caseload = result.output_table(), result.caseload
                writers += [
                    (out, lambda p: write_table(table, p)),
                    (_beside(out, "caseload"), lambda p: write_table(caseload, p)),
                ]
                files["table"] = str(out)
                files["caseload"] = str(_beside(out, "caseload"))
                if result.allocation is not None:
                    alloc = result.allocation.table
                    writers.append((_beside(out, "allocation"), lambda p: write_table(alloc, p)))
                    files["allocation"] = str(_beside(out, "allocation"))
            if report is not None:
                from assigncli.render.report import html_writer

                status.update("[bold]report[/bold]")
                text = staffing_report_html(
                    result,
                    inputs.roster,
                    with_effort,
                    cfg,
                    roster_file=inputs.roster_file,
                    cases_file=inputs.cases_file,
                )
                writers.append((report, html_writer(text)))
                files["report"] = str(report)
            if writers:
                for path, _ in writers:
                    path.parent.mkdir(parents=True, exist_ok=True)
                write_all(writers)
        if json_out:
            ui.emit_json({"status": "ok", **result.to_dict(), "files": files})
        elif not quiet:
            render_staffing(result, files, console())


# -- sweep ------------------------------------------------------------------------------------


@app.command()
def sweep(
    scenarios: Annotated[
        Path, typer.Argument(help="Scenario file (.toml; see examples/scenarios.toml).")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Results table (.csv, .parquet, .xlsx), rewritten after each scenario.",
        ),
    ] = Path("sweep.csv"),
    report: ReportOpt = None,
    engine: Annotated[
        str, typer.Option("--engine", help="processes (this machine) | ray (a Ray cluster).")
    ] = "processes",
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray cluster address (default: start a local Ray)."),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", min=0, help="Scenarios side by side (0: cores ÷ workers).")
    ] = 0,
    workers: Annotated[
        int,
        typer.Option("--workers", min=0, help="Solver threads per scenario (0: split the cores)."),
    ] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip scenarios already done in --out (unchanged).")
    ] = False,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Many what-if plans (or staffing answers) on modified inputs — hires, departures, time away,
    effort multipliers, handoff hours, move budgets — in parallel processes or on Ray; one results
    table, and the trade-off curves with --report.

    Example: assign sweep examples/scenarios.toml --out sweep.csv --report sweep.html
    """
    from assigncli.analysis.sweep import load_base, load_sweep, run_sweep
    from assigncli.render.staffing import render_sweep, sweep_report_html
    from assigncli.write import refuse_overwriting_inputs, write_all

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        if engine not in ("processes", "ray"):
            raise UsageError(f"--engine must be processes or ray, not {engine!r}")
        if address is not None and engine != "ray":
            raise UsageError("--address is for --engine ray")
        if out.suffix.lower() not in (".csv", ".parquet", ".xlsx"):
            raise UsageError(f"--out must end in .csv, .parquet or .xlsx, not {str(out)!r}")
        _check_report_path(report, [out])
        spec = load_sweep(scenarios)
        refuse_overwriting_inputs(
            [out] + ([report] if report else []),
            [scenarios, spec.roster, spec.cases]
            + [p for p in (config, spec.config) if p is not None],
        )
        base = load_base(spec, config)
        out.parent.mkdir(parents=True, exist_ok=True)
        with ui.chatter.status("starting", spinner="dots") as status:

            def progress(row: dict[str, Any], done: int, total: int) -> None:
                state = "ok" if row["status"] == "ok" else "[red]failed[/red]"
                status.update(f"{done}/{total} scenarios; last: {row['scenario']} ({state})")

            try:
                run = run_sweep(
                    spec,
                    base,
                    out,
                    engine="ray" if engine == "ray" else "processes",
                    address=address,
                    jobs=jobs,
                    workers=workers,
                    resume=resume,
                    on_row=progress,
                )
            except KeyboardInterrupt:
                ui.error(
                    "interrupted",
                    f"the scenarios finished so far are in {out}; rerun with --resume to skip them",
                )
                raise typer.Exit(130) from None
            table = run.table
            files = {"table": str(out)}
            if report is not None:
                from assigncli.render.report import html_writer

                status.update("[bold]report[/bold]")
                text = sweep_report_html(
                    table, source=str(scenarios), engine=run.engine, seconds=run.seconds
                )
                report.parent.mkdir(parents=True, exist_ok=True)
                write_all([(report, html_writer(text))])
                files["report"] = str(report)
        failed = int((table["status"] != "ok").sum())
        notes = [
            f"{table.height} scenarios ({run.skipped} resumed, {failed} failed) on {run.engine}: "
            f"{run.jobs} side by side × {run.workers} solver thread(s), {run.seconds:.1f} s",
            *(f"{name}: {path}" for name, path in files.items()),
        ]
        if json_out:
            ui.emit_json(
                {
                    "status": "ok",
                    "scenarios": table.height,
                    "failed": failed,
                    "resumed": run.skipped,
                    "engine": run.engine,
                    "jobs": run.jobs,
                    "workers": run.workers,
                    "seconds": round(run.seconds, 3),
                    "results": table.to_dicts(),
                    "files": files,
                }
            )
        elif not quiet:
            render_sweep(table, console(), notes)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def main() -> None:
    app()
