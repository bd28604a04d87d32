"""The `assign` command line: thin commands over the library, one place that maps errors to exits."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table
from typer.core import TyperGroup

from assigncli import __version__
from assigncli.config import load_config
from assigncli.errors import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    AssignError,
    InputError,
    InputIssue,
    UsageError,
)

if TYPE_CHECKING:
    from assigncli.analysis.calibrate import Calibration
    from assigncli.analysis.compare import Comparison
    from assigncli.result import ComponentReport

app = typer.Typer(
    name="assign",
    help="Caseload assignment that balances case effort against officers' real capacity.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


# -- shared options -------------------------------------------------------------------------

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Model TOML (default: ./assign.toml if present, else built-in)."),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine summary (one JSON object) on stdout.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
VerboseOpt = Annotated[
    int,
    typer.Option(
        "--verbose",
        "-v",
        count=True,
        help="Time and memory per phase; twice (-vv) adds the solver's search log.",
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (solver and generator).")]
TimeLimitOpt = Annotated[
    float, typer.Option("--time-limit", min=0.1, help="Hard limit on solving time, in seconds.")
]
SheetOpt = Annotated[
    str | None,
    typer.Option("--sheet", help="Worksheet to read from Excel inputs (default: the first)."),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option("--report", help="Also write a self-contained HTML report (.html) here."),
]


class Ui:
    """Where output goes: data to files or stdout (--json), everything else to stderr."""

    def __init__(self, *, quiet: bool, verbose: int, json_mode: bool) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.json_mode = json_mode
        self.err = Console(stderr=True, quiet=quiet)
        self.out = Console(highlight=False, soft_wrap=True)
        handler = RichHandler(console=Console(stderr=True), show_path=False, show_time=False)
        logger = logging.getLogger("assigncli")
        logger.handlers[:] = [handler]
        logger.propagate = False
        if quiet:
            level = logging.ERROR
        else:
            level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
        logger.setLevel(level)

    def problems(self, problems: list[InputIssue] | tuple[InputIssue, ...]) -> None:
        for p in problems:
            style = "red" if p.severity == "error" else "yellow"
            self.err.print(
                f"[{style}]{p.severity}[/{style}]: {p.render()}", markup=True, highlight=False
            )

    def emit_json(self, payload: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
        sys.stdout.flush()


@contextmanager
def failures(ui: Ui) -> Iterator[None]:
    """Every expected failure becomes a message and its exit code; never a traceback."""
    try:
        yield
    except AssignError as exc:
        if isinstance(exc, InputError) and exc.problems:
            ui.problems(exc.problems)
        Console(stderr=True).print(f"[red]error[/red]: {exc.message}", highlight=False)
        if ui.json_mode:
            ui.emit_json(
                {
                    "status": "error",
                    "exit_code": exc.exit_code,
                    "message": exc.message,
                    "problems": [p.to_dict() for p in getattr(exc, "problems", [])],
                }
            )
        raise typer.Exit(exc.exit_code) from None
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        Console(stderr=True).print("[red]interrupted[/red]: nothing was written")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: say so plainly, keep the traceback for --verbose
        if ui.verbose:
            Console(stderr=True).print_exception()
        Console(stderr=True).print(
            f"[red]internal error[/red]: {type(exc).__name__}: {exc} (run with --verbose for details)",
            highlight=False,
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
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Estimate case effort, assign cases to officers against real capacity, show what changed."""


# -- plan -------------------------------------------------------------------------------------


@app.command()
def plan(
    roster: Annotated[Path, typer.Argument(help="Officer roster (.parquet, .csv, .xlsx).")],
    cases: Annotated[Path, typer.Argument(help="Case list (.parquet, .csv, .xlsx).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Plan file; its extension sets the format.")
    ] = Path("plan.csv"),
    config: ConfigOpt = None,
    solver: Annotated[
        str, typer.Option("--solver", help="auto | exact (CP-SAT) | scale (LP + local search).")
    ] = "auto",
    time_limit: TimeLimitOpt = 30.0,
    seed: SeedOpt = 0,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="Solver threads (0: every core).")
    ] = 0,
    max_moves: Annotated[
        int | None,
        typer.Option(
            "--max-moves", min=0, help="Budget of discretionary moves (forced moves do not count)."
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
        int, typer.Option("--mc-draws", min=0, help="Monte Carlo draws for --robustness (0: none).")
    ] = 500,
    case_cv: Annotated[
        float,
        typer.Option(
            "--case-cv", min=0.0, help="Per-case lognormal noise (coefficient of variation)."
        ),
    ] = 0.30,
    rule_cv: Annotated[
        float,
        typer.Option(
            "--rule-cv", min=0.0, help="Per-rule correlated error (coefficient of variation)."
        ),
    ] = 0.15,
    deviation: Annotated[
        float,
        typer.Option(
            "--deviation", min=0.0, help="Budgeted uncertainty: ± relative error per case."
        ),
    ] = 0.30,
    confidence: Annotated[
        float,
        typer.Option(
            "--confidence",
            min=0.5,
            max=0.999999,
            help="Budgeted uncertainty: confidence that sets Γ.",
        ),
    ] = 0.95,
    sheet: SheetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Estimate effort, solve, write the plan with its officer summary and manifest, print a summary."""
    from assigncli.pipeline import PhaseClock, manifest, run_plan
    from assigncli.render.terminal import render, summary_dict
    from assigncli.solvers.solve import SolveOptions
    from assigncli.write import (
        file_sha256,
        output_paths,
        refuse_overwriting_inputs,
        write_plan_set,
    )

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        if solver not in ("auto", "exact", "scale"):
            raise UsageError(f"--solver must be auto, exact or scale, not {solver!r}")
        paths = output_paths(out)  # rejects unknown extensions before any work
        _check_report_path(report, [paths.plan, paths.officers, paths.manifest])
        refuse_overwriting_inputs([*paths.all(), report], _inputs(roster, cases, config))
        cfg = load_config(config)
        options = SolveOptions(
            solver=_solver(solver),
            time_limit=time_limit,
            seed=seed,
            workers=workers,
            max_moves=max_moves,
        )
        assess = _robustness_options(
            robustness, mc_draws, case_cv, rule_cv, deviation, confidence, seed
        )
        with ui.err.status("starting", spinner="dots") as status:
            clock = PhaseClock(on_start=lambda name: status.update(f"[bold]{name}[/bold]"))
            run = run_plan(
                roster,
                cases,
                cfg,
                options,
                clock=clock,
                progress=lambda msg: status.update(f"solve: {msg}"),
                robustness=assess,
                robustness_progress=_draw_progress(status),
                sheet=sheet,
            )
            status.update("[bold]write[/bold]")
            with clock.phase("write"):
                files = {
                    "plan": str(paths.plan),
                    "officers": str(paths.officers),
                    "manifest": str(paths.manifest),
                }
                if report is not None:
                    files["report"] = str(report)
                hashes = {"roster": file_sha256(roster), "cases": file_sha256(cases)}
                run = replace(run, phases=tuple(clock.phases))
                info = manifest(run, hashes, files)
                report_file = None
                if report is not None:
                    from assigncli.render.report import html_writer, plan_report_html

                    status.update("[bold]report[/bold]")
                    report_file = (report, html_writer(plan_report_html(run)))
                write_plan_set(paths, run.plan, run.officers, info, report=report_file)
        run = replace(run, phases=tuple(clock.phases))
        ui.problems(run.warnings)
        if verbose:
            _phase_table(ui, run.phases, run.solution.components)
        if json_out:
            payload = summary_dict(run, files)
            if run.robustness is not None:
                payload["robustness"] = run.robustness.to_dict()
            ui.emit_json(payload)
        elif not quiet:
            render(run, files, Console())
            if run.robustness is not None:
                from assigncli.render.explain import print_robustness

                print_robustness(run.robustness, Console())


def _robustness_options(
    wanted: bool,
    draws: int,
    case_cv: float,
    rule_cv: float,
    deviation: float,
    confidence: float,
    seed: int,
) -> Any:
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


def _draw_progress(status: Any) -> Any:
    """Monte Carlo progress as a bar inside the running status line."""
    from rich.progress_bar import ProgressBar
    from rich.table import Table as Grid

    def update(done: int, total: int) -> None:
        grid = Grid.grid(padding=(0, 1))
        grid.add_row(
            "[bold]robustness[/bold]: Monte Carlo",
            ProgressBar(total=total, completed=done, width=30),
            f"{done:,}/{total:,} draws",
        )
        status.update(grid)

    return update


def _inputs(*paths: Path | None) -> list[Path]:
    return [path for path in paths if path is not None]


def _solver(name: str) -> Literal["auto", "exact", "scale"]:
    if name == "exact":
        return "exact"
    if name == "scale":
        return "scale"
    return "auto"


def _phase_table(ui: Ui, phases: Any, components: Sequence[ComponentReport] = ()) -> None:
    """Time and memory per phase; under `solve`, the steps of its longest component."""
    table = Table(title="phases", title_justify="left")
    for column in ("phase", "seconds", "rss MB", "peak MB"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    longest = max(components, key=lambda c: c.seconds, default=None)
    for p in phases:
        table.add_row(p.name, f"{p.seconds:.2f}", f"{p.rss_mb:,.0f}", f"{p.peak_mb:,.0f}")
        if p.name == "solve" and longest is not None:
            for step, seconds in longest.steps.items():
                table.add_row(f"  {step}", f"{seconds:.2f}", "", "", style="dim")
    ui.err.print(table)


# -- validate ---------------------------------------------------------------------------------


@app.command()
def validate(
    roster: Annotated[Path, typer.Argument(help="Officer roster (.parquet, .csv, .xlsx).")],
    cases: Annotated[Path, typer.Argument(help="Case list (.parquet, .csv, .xlsx).")],
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
        if result.ok and result.cases is not None:
            # Effort rules are part of the contract too: a rule naming a missing column is an error.
            estimate_effort(result.cases, cfg)
        ui.problems(result.problems)
        if json_out:
            ui.emit_json(
                {
                    "status": "ok" if result.ok else "invalid",
                    "exit_code": 0 if result.ok else EXIT_INPUT,
                    "errors": len(result.errors),
                    "warnings": len(result.warnings),
                    "problems": [p.to_dict() for p in result.problems],
                }
            )
        if not result.ok:
            ui.err.print(
                f"[red]invalid[/red]: {len(result.errors)} error(s), {len(result.warnings)} warning(s)",
                highlight=False,
            )
            raise typer.Exit(EXIT_INPUT)
        if not json_out:
            assert result.roster is not None and result.cases is not None
            ui.err.print(
                f"[green]valid[/green]: {result.roster.height:,} officers, {result.cases.height:,} cases"
                f" ({len(result.warnings)} warning(s))",
                highlight=False,
            )


# -- effort -----------------------------------------------------------------------------------


class _EffortGroup(TyperGroup):
    """`assign effort CASES` (the audit, as it always was) beside `assign effort fit CASES
    TIMELOG`: a first argument that names no sub-command goes to the audit."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # a (vendored) click Context
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["audit", *args]
        return super().parse_args(ctx, args)


effort_app = typer.Typer(
    cls=_EffortGroup,
    no_args_is_help=True,
    rich_markup_mode="rich",
    help=(
        "Per-case effort and the rules behind it, or calibrate the rules from logged hours.\n\n"
        "[bold]assign effort CASES [--out audit.csv][/bold]: per-case effort (same as "
        "[bold]assign effort audit CASES[/bold]).\n\n"
        "[bold]assign effort fit CASES TIMELOG [--out fitted.toml][/bold]: fit the rules' "
        "figures to a time log."
    ),
)
app.add_typer(effort_app, name="effort")


@effort_app.command("audit")
def effort(
    cases: Annotated[Path, typer.Argument(help="Case list (.parquet, .csv, .xlsx).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the per-case audit table here.")
    ] = None,
    config: ConfigOpt = None,
    sheet: SheetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Per-case effort with the rules that produced it, and how much each rule contributed."""
    from assigncli.effort import effort_audit, effort_rule_summary, estimate_effort
    from assigncli.validate import load_cases
    from assigncli.write import refuse_overwriting_inputs, write_table

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        refuse_overwriting_inputs([out], _inputs(cases, config))
        cfg = load_config(config)
        valid, warnings = load_cases(cases, sheet=sheet)
        ui.problems(warnings)
        with_effort = estimate_effort(valid, cfg)
        audit = effort_audit(with_effort, cfg)
        rules = effort_rule_summary(with_effort, cfg)
        if out is not None:
            write_table(audit, out)
        if json_out:
            ui.emit_json(
                {
                    "status": "ok",
                    "cases": audit.height,
                    "total_hours": float(audit["effort_hours"].sum()),
                    "rules": rules.to_dicts(),
                    "file": str(out) if out else None,
                }
            )
        elif not quiet:
            console = Console()
            table = Table(title=f"Effort rules over {audit.height:,} cases", title_justify="left")
            for column in rules.columns:
                table.add_column(
                    column, justify="right" if rules[column].dtype.is_numeric() else "left"
                )
            for row in rules.iter_rows():
                table.add_row(*[f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row])
            console.print(table)
            console.print(
                f"total {float(audit['effort_hours'].sum()):,.1f} hours per cycle"
                + (
                    f"; per-case audit written to {out}"
                    if out
                    else "; use --out to write the per-case audit"
                )
            )


@effort_app.command("fit")
def effort_fit(
    cases: Annotated[Path, typer.Argument(help="Case list with the attributes the rules read.")],
    timelog: Annotated[
        Path,
        typer.Argument(
            help="Time log: case_id, period, hours (per case) or officer_id, period, hours "
            "(per officer, with --held)."
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the fitted model here (.toml).")
    ] = None,
    config: ConfigOpt = None,
    held: Annotated[
        list[str] | None,
        typer.Option(
            "--held",
            help="Per-officer logs: cases each officer held, a file (case_id, officer_id, "
            "period) or a past plan as PERIOD=PLAN; repeatable.",
        ),
    ] = None,
    estimator: Annotated[
        str,
        typer.Option(
            "--estimator",
            help="auto (lower held-out MAE) | gamma (Gamma quasi-likelihood, log-linear) | "
            "nnls (non-negative least squares).",
        ),
    ] = "auto",
    folds: Annotated[
        int, typer.Option("--folds", min=0, help="k-fold held-out error (0: skip).")
    ] = 5,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=0, help="Bootstrap replicates for the intervals.")
    ] = 200,
    level: Annotated[
        float,
        typer.Option("--level", min=0.5, max=0.999, help="Confidence level of the intervals."),
    ] = 0.90,
    min_cases: Annotated[
        int, typer.Option("--min-cases", min=1, help="Warn about figures with fewer cases.")
    ] = 30,
    max_hours: Annotated[
        float | None,
        typer.Option(
            "--max-hours", min=0.0, help="Largest believable entry (default: cycle_days × 24)."
        ),
    ] = None,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Calibrate the effort rules' figures from logged hours: held-out error, intervals, a new TOML.

    Example: assign effort fit cases.csv timelog.csv --config assign.toml --out fitted.toml
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from assigncli.analysis.calibrate import calibrate, fitted_toml
    from assigncli.timelog import HeldSource, load_time_log
    from assigncli.validate import load_cases
    from assigncli.write import refuse_overwriting_inputs, write_all

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        if estimator not in ("auto", "gamma", "nnls"):
            raise UsageError(f"--estimator must be auto, gamma or nnls, not {estimator!r}")
        sources = [HeldSource.parse(h) for h in held or []]
        if out is not None and out.suffix.lower() != ".toml":
            raise UsageError(f"--out must name a .toml file, not {str(out)!r}")
        refuse_overwriting_inputs(
            [out], _inputs(cases, timelog, config, *(source.path for source in sources))
        )
        cfg = load_config(config)
        valid, warnings = load_cases(cases)
        ui.problems(warnings)
        log = load_time_log(
            timelog, valid, cycle_days=cfg.cycle_days, held=sources, max_hours=max_hours
        )
        ui.problems(log.problems)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=ui.err,
            transient=True,
        ) as bar:
            task = bar.add_task("bootstrap", total=bootstrap or 1)
            result = calibrate(
                valid,
                log,
                cfg,
                estimator=estimator,  # type: ignore[arg-type]
                folds=folds,
                replicates=bootstrap,
                level=level,
                min_cases=min_cases,
                seed=seed,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        if out is not None:
            text = fitted_toml(result)

            def write_text(path: Path) -> None:
                path.write_text(text, encoding="utf-8")

            write_all([(out, write_text)], make_dirs=True)
        if json_out:
            ui.emit_json({"status": "ok", **result.to_dict(), "file": str(out) if out else None})
        elif not quiet:
            _render_calibration(result, out, Console())


def _render_calibration(result: Calibration, out: Path | None, console: Console) -> None:
    from rich import box
    from rich.markup import escape

    level = f"{result.level:.0%} CI"
    table = Table(
        title=f"Effort figures fitted from {result.log_file} ({result.shape.replace('_', '-')} "
        f"log: {result.entries:,} entries, {result.cases:,} cases, {result.periods} period(s))",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("figure", "current", "fitted", level, "cases", "verdict"):
        left = column in ("figure", "verdict")
        table.add_column(column, justify="left" if left else "right", no_wrap=not left)
    notes: list[str] = []
    symbol = {"hours": "h", "default_hours": "h", "multiply": "×", "add": "+"}
    for f in result.figures:
        where = "default" if f.kind == "default_hours" else f"{f.section[7:]} #{f.index} {f.rule}"
        if f.status != "fitted":
            verdict = "[yellow]not fitted[/yellow]"  # the warning above says why
            fitted, interval = "—", "—"
        else:
            fitted = f"{f.fitted:.4g}"
            interval = "—" if f.low != f.low else f"{f.low:.3g}–{f.high:.3g}"
            verdict = "[bold]changed[/bold]" if f.significant else "n.s."
        table.add_row(
            f"{escape(where)} ({symbol[f.kind]})",
            f"{f.current:g}",
            fitted,
            interval,
            f"{f.cases:,}",
            verdict,
        )
    console.print(table)
    if result.held_out:
        errors = Table(
            title=f"Held-out error ({result.folds}-fold, grouped by {result.clusters})",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for column in ("figures", "MAE (h)", "MAPE"):
            errors.add_column(column, justify="left" if column == "figures" else "right")
        names = {
            "current": f"current ({result.original.source})",
            "gamma": "fitted, gamma (Gamma quasi-likelihood)",
            "nnls": "fitted, nnls (non-negative least squares)",
        }
        for key, scores in result.held_out.items():
            mark = " [green]← used[/green]" if key == result.estimator else ""
            errors.add_row(names[key] + mark, f"{scores.mae:.4g}", f"{scores.mape:.1%}")
        console.print(errors)
    notes.append(
        "(h) hours, (×) multiply, (+) add; changed: the current figure lies outside the "
        "interval; n.s.: not significantly different from the current figure (inside the interval)"
    )
    notes.append(
        f"estimator: {result.estimator}; intervals: percentile bootstrap over "
        f"{result.clusters}s, {result.replicates} replicates"
    )
    notes.append(
        f"fitted model written to {out}"
        if out
        else "use --out fitted.toml to write the fitted model"
    )
    for note in notes:
        console.print(escape(note), highlight=False)


# -- generate ---------------------------------------------------------------------------------


@app.command()
def generate(
    out_dir: Annotated[
        Path, typer.Option("--out-dir", "-o", help="Directory for roster.<ext> and cases.<ext>.")
    ] = Path("."),
    n_cases: Annotated[int, typer.Option("--cases", min=1, help="Number of cases.")] = 3000,
    n_officers: Annotated[int, typer.Option("--officers", min=1, help="Number of officers.")] = 40,
    n_offices: Annotated[
        int, typer.Option("--offices", min=1, help="Number of field offices.")
    ] = 3,
    fmt: Annotated[str, typer.Option("--format", help="parquet | csv | xlsx")] = "parquet",
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
        int, typer.Option("--periods", min=1, help="Periods (cycles) in the time logs.")
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
        if fmt not in ("parquet", "csv", "xlsx"):
            raise UsageError(f"--format must be parquet, csv or xlsx, not {fmt!r}")
        if n_offices > n_officers:
            raise UsageError("--offices cannot exceed --officers: every office needs an officer")
        with ui.err.status("generating", spinner="dots") as status:
            roster_path, cases_path = write_dataset(
                out_dir,
                n_cases=n_cases,
                n_officers=n_officers,
                n_offices=n_offices,
                seed=seed,
                fmt=fmt,  # type: ignore[arg-type]
                progress=lambda done, total: status.update(f"generating cases {done:,}/{total:,}"),
            )
        logs: dict[str, Path] = {}
        if time_log:
            from assigncli.timelog import write_time_logs

            with ui.err.status("generating time logs", spinner="dots"):
                logs = write_time_logs(
                    out_dir, roster_path, cases_path, load_config(config),
                    fmt=fmt, periods=periods, seed=seed,
                )  # fmt: skip
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
            ui.err.print(f"wrote {roster_path} and {cases_path}")
            if logs:
                ui.err.print("wrote time logs " + ", ".join(str(p) for p in logs.values()))


# -- compare ----------------------------------------------------------------------------------


def _check_report_path(report: Path | None, others: list[Path]) -> None:
    """A report must be .html and must not overwrite another output of the same run."""
    if report is None:
        return
    if report.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--report must name an .html file, not {str(report)!r}")
    if any(report.resolve() == other.resolve() for other in others):
        raise UsageError(f"--report {report} would overwrite another output of this run")


@app.command()
def compare(
    roster: Annotated[Path, typer.Argument(help="Officer roster (.parquet, .csv, .xlsx).")],
    cases: Annotated[Path, typer.Argument(help="Case list (.parquet, .csv, .xlsx).")],
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
    from assigncli.analysis.compare import compare_files
    from assigncli.pipeline import PhaseClock
    from assigncli.solvers.solve import SolveOptions
    from assigncli.write import refuse_overwriting_inputs, write_all

    ui = Ui(quiet=quiet, verbose=verbose, json_mode=json_out)
    with failures(ui):
        _check_report_path(report, [])
        refuse_overwriting_inputs([report], _inputs(roster, cases, config))
        cfg = load_config(config)
        options = SolveOptions(time_limit=time_limit, seed=seed)
        with ui.err.status("starting", spinner="dots") as status:
            clock = PhaseClock(on_start=lambda name: status.update(f"[bold]{name}[/bold]"))
            comparison = compare_files(
                roster,
                cases,
                cfg,
                options,
                clock=clock,
                progress=lambda msg: status.update(f"solve: {msg}"),
                sheet=sheet,
            )
            files: dict[str, str] = {}
            if report is not None:
                from assigncli.render.report import compare_report_html, html_writer

                with clock.phase("report"):
                    text = compare_report_html(comparison)
                    write_all([(report, html_writer(text))], make_dirs=True)
                files["report"] = str(report)
        ui.problems(comparison.run.warnings)
        if verbose:
            _phase_table(ui, clock.phases)
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
            _render_comparison(comparison, files, Console())


def _render_comparison(comparison: Comparison, files: dict[str, str], console: Console) -> None:
    from rich import box
    from rich.panel import Panel

    from assigncli.analysis.metrics import METRICS

    table = Table(
        title="Optimized plan against naive assignment",
        title_justify="left",
        caption="* best in the row, among plans that keep every rule",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("metric", justify="left", no_wrap=True)
    for p in comparison.plans:
        table.add_column(
            p.label, justify="right", style="bold" if p.kind == "optimized" else "", min_width=6
        )
    for spec in METRICS:
        best = set(comparison.best(spec))
        cells = []
        for p in comparison.plans:
            text = spec.format(comparison.value(p.name, spec.key), unit=False, compact=True)
            cells.append(f"[green]*{text}[/green]" if p.name in best else text)
        table.add_row(spec.label, *cells)
    cert = comparison.run.solution.certificate
    gap = "∞" if cert.gap == float("inf") else f"{cert.gap:.2%}"
    notes = [
        f"optimized: status [bold]{cert.status}[/bold], highest utilization {cert.objective:.1%}, "
        f"proven lower bound {cert.lower_bound:.1%} (gap {gap}), {cert.time_seconds:.1f} s",
    ]
    status_quo = comparison.plan("status_quo") if "status_quo" in comparison.names else None
    if status_quo is not None and status_quo.evaluation.breaks:
        breaks = ", ".join(f"{code} {n:,}" for code, n in status_quo.evaluation.breaks.items())
        notes.append(f"status quo breaks rules (kept and counted): {breaks}")
    notes += [f"{name}: {path}" for name, path in files.items()]
    console.print(table)
    console.print(Panel("\n".join(notes), expand=False))


# -- explain ----------------------------------------------------------------------------------


@app.command()
def explain(
    plan_file: Annotated[
        Path, typer.Argument(help="A plan written by `assign plan` (its manifest beside it).")
    ],
    case: Annotated[
        list[str] | None,
        typer.Option("--case", "-c", help="A case to explain (repeat for several)."),
    ] = None,
    cases_file: Annotated[
        Path | None,
        typer.Option(
            "--cases",
            help="Explain every case listed in this file (case_id column, or .txt lines).",
        ),
    ] = None,
    officer: Annotated[
        list[str] | None,
        typer.Option("--officer", help="An officer whose load to explain (repeat for several)."),
    ] = None,
    alternatives: Annotated[
        int, typer.Option("--alternatives", min=0, help="Alternatives shown per case.")
    ] = 3,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write one row per explained case here (.csv, .xlsx, .parquet)."
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Why a case went to its officer (eligibility, continuity, what each alternative would cost,
    what bounds the peak), and what an officer's load is made of.

    Re-reads the plan's inputs named in its manifest and refuses (exit 3) when they changed.
    Example: assign explain out/plan.csv --case C0000001 --officer OFF00039
    """
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
        with ui.err.status("starting", spinner="dots") as status:
            ctx = load_plan_context(
                plan_file,
                audit=bool(officers),
                progress=lambda msg: status.update(f"[bold]{msg}[/bold]"),
            )
            refuse_overwriting_inputs(
                [out], [Path(ctx.manifest["input_files"][role]) for role in ("roster", "cases")]
            )
            status.update("[bold]explaining[/bold]")
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
            ui.err.print(
                f"[yellow]warning[/yellow]: {len(missing):,} case(s) of {cases_file} are not in "
                f"the plan (first: {', '.join(missing[:5])})",
                highlight=False,
            )
        if verbose:
            ui.err.print(
                "seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in ctx.seconds.items()),
                highlight=False,
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
            console = Console(highlight=False)
            shown = explained if out is None else explained[:_SHOWN_WITH_OUT]
            for e in shown:
                print_case(e, console)
            if out is not None:
                ui.err.print(f"wrote {len(explained):,} case explanation(s) to {out}")
            for o in people:
                print_officer(o, console)


_SHOWN_WITH_OUT = 3  # case explanations printed when the rest go to --out


def main() -> None:
    app()
