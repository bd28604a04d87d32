"""The `assign` command line: thin commands over the library, one place that maps errors to exits."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

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
        with ui.err.status("starting", spinner="dots") as status:
            clock = PhaseClock(on_start=lambda name: status.update(f"[bold]{name}[/bold]"))
            run = run_plan(
                roster,
                cases,
                cfg,
                options,
                clock=clock,
                progress=lambda msg: status.update(f"solve: {msg}"),
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
            ui.emit_json(summary_dict(run, files))
        elif not quiet:
            render(run, files, Console())


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


@app.command()
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
        if json_out:
            ui.emit_json({"status": "ok", "roster": str(roster_path), "cases": str(cases_path)})
        else:
            ui.err.print(f"wrote {roster_path} and {cases_path}")


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


def main() -> None:
    app()
