"""How robust a fixed plan is to wrong effort figures (`assign plan --robustness`).

The plan is evaluated, never re-optimized: every number here is the plan's loads recomputed under
changed effort, so it scales to a national docket.

**Figures.** Each effort figure of the config — a base rule's hours, ``default_hours``, explicit
``effort_hours`` (all together), an adjustment (its multiplier's excess over 1 and its add, scaled
together), ``handoff_hours`` — is given a scale ``s`` (1: the config as written). A case's hours
are the effort model re-run with that figure scaled, which is affine in ``s`` (the figure enters
once; a negative ``add`` that clips a case at 0 h breaks this, and such rows are marked
approximate), so each officer's load is ``a + b·s`` exactly. Case types by required skill scale
all hours of the cases needing that skill. The largest ``s`` before any officer passes 100% of
available hours is ``min (A − a) / b`` over officers with ``b > 0``, and before the peak rises by
``peak_rise`` it is ``min ((1 + rise)·P·A − a) / b`` — closed forms, one vector operation each.

Cases are grouped by **effort pattern** (effort source, base rule and the adjustments applied,
from the effort audit columns): every case of a rule-based pattern has the same hours, and an
explicit case's hours are its own figure. The effort model is replayed on the few patterns, not
on the cases; the replay is checked against the estimator's hours.

**Budgeted uncertainty** (Bertsimas & Sim 2004): every case's effort may be off by up to
``deviation`` of its hours, at most ``Γ`` cases per officer at once; an officer's worst load is
its load plus the ``Γ`` largest deviations among its cases (a fractional ``Γ`` takes that fraction
of the next). With independent, symmetric errors, the load exceeds that value with probability at
most ``exp(−Γ²/(2n))`` for ``n`` cases, so ``Γ = √(2 n ln(1/ε))`` for a confidence ``1 − ε``.

**Monte Carlo**: each draw multiplies every case's hours by its own lognormal factor (mean 1,
coefficient of variation ``case_cv``) and every figure by one lognormal factor shared by all the
cases it touches (``rule_cv``, the correlated error of a wrong estimate), re-runs the effort model
on the patterns, and sums the loads. Reported: the distribution of the peak and the probability
that any officer (with available hours) passes 100%.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from assigncli.config import Config

__all__ = [
    "BudgetedPeak",
    "MonteCarlo",
    "Robustness",
    "RobustnessOptions",
    "RuleSensitivity",
    "assess_robustness",
    "bertsimas_sim_gamma",
    "budgeted_loads",
    "scale_limits",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_REPLAY_TOLERANCE = 1e-9  # relative: the pattern replay must give the estimator's hours
_AFFINE_TOLERANCE = 1e-9
_OVER = 1e-9  # a load equal to capacity up to rounding is not over
_OFTEN_OVER = 5  # officers listed as most often over 100%


@dataclass(frozen=True)
class RobustnessOptions:
    """What `assign plan --robustness` computes (the CLI options of the same names)."""

    deviation: float = 0.30  # ± relative error per case, budgeted uncertainty
    confidence: float = 0.95  # chooses Γ by the Bertsimas–Sim bound
    draws: int = 500  # Monte Carlo draws (0: none)
    case_cv: float = 0.30  # per-case lognormal noise
    rule_cv: float = 0.15  # per-figure correlated lognormal error
    peak_rise: float = 0.05  # relative rise of the peak for the second scaling
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.deviation >= 0, "deviation must be ≥ 0"),
            (0 < self.confidence < 1, "confidence must be strictly between 0 and 1"),
            (self.draws >= 0, "draws must be ≥ 0"),
            (self.case_cv >= 0 and self.rule_cv >= 0, "coefficients of variation must be ≥ 0"),
            (self.peak_rise > 0, "peak_rise must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class RuleSensitivity:
    kind: str  # base | default | explicit | adjust | handoff | skill
    rule: str
    cases: int  # assigned cases whose hours depend on the figure
    hours: float  # the hours the figure accounts for in this plan (b summed over officers)
    scale_to_full: float | None  # None: some officer is over 100% whatever the figure
    officer_to_full: str | None  # the officer who passes 100% first
    scale_to_peak_rise: float  # inf when no officer's load depends on the figure
    officer_to_peak_rise: str | None
    approximate: bool  # not affine (a negative add clips cases at 0 h)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: no infinities; ``unbounded`` says that no officer's load depends on the
        figure (both scales null then), ``already_over`` that some officer is over 100% whatever
        the figure (``scale_to_full`` null)."""
        data = asdict(self)
        unbounded = math.isinf(self.scale_to_peak_rise)
        data["unbounded"] = unbounded
        data["already_over"] = self.scale_to_full is None
        for key in ("scale_to_full", "scale_to_peak_rise"):
            value = data[key]
            if value is not None and not math.isfinite(value):
                data[key] = None
        return data


@dataclass(frozen=True)
class BudgetedPeak:
    deviation: float
    confidence: float
    peak: float
    officer: str | None
    officers_over: int
    median_gamma: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MonteCarlo:
    draws: int
    seed: int
    case_cv: float
    rule_cv: float
    peak_mean: float
    peak_p05: float
    peak_p50: float
    peak_p95: float
    peak_max: float
    p_any_over: float
    p_any_over_low: float  # Wilson 95% interval
    p_any_over_high: float
    often_over: tuple[tuple[str, float], ...]  # officers most often over 100%, with frequency
    seconds: float
    peaks: FloatArray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "peaks"}
        out["often_over"] = [{"officer_id": o, "share": p} for o, p in self.often_over]
        return out


@dataclass(frozen=True)
class Robustness:
    nominal_peak: float
    peak_rise: float
    rules: tuple[RuleSensitivity, ...]
    budgeted: BudgetedPeak
    monte_carlo: MonteCarlo | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "nominal_peak": self.nominal_peak,
            "peak_rise": self.peak_rise,
            "rules": [r.to_dict() for r in self.rules],
            "budgeted": self.budgeted.to_dict(),
            "monte_carlo": self.monte_carlo.to_dict() if self.monte_carlo else None,
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------------


def scale_limits(
    a: FloatArray, b: FloatArray, available: FloatArray, target: float
) -> tuple[float | None, int | None]:
    """Largest s ≥ 0 with a + b·s ≤ target·available for every officer with available hours,
    and the officer that binds; (None, None) when some officer is over at every s ≥ 0, (inf,
    None) when no officer's load grows with s."""
    staffed = available > 0
    cap = target * available
    slack = cap - a
    fixed = staffed & (b <= 0)
    if (slack[fixed] < -_OVER * np.maximum(cap[fixed], 1.0)).any():
        return None, None
    grows = staffed & (b > 0)
    if not grows.any():
        return math.inf, None
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(grows, slack / np.where(grows, b, 1.0), np.inf)
    k = int(np.argmin(s))
    if s[k] < 0:
        return None, None
    return float(s[k]), k


def bertsimas_sim_gamma(n: IntArray | FloatArray, confidence: float) -> FloatArray:
    """Γ = √(2 n ln(1/ε)) capped at n: the budget that keeps P(load over its budgeted value)
    ≤ ε = 1 − confidence by the Bertsimas–Sim bound exp(−Γ²/(2n))."""
    n = np.asarray(n, dtype=np.float64)
    gamma: FloatArray = np.minimum(n, np.sqrt(2.0 * n * math.log(1.0 / (1.0 - confidence))))
    return gamma


def budgeted_loads(
    officer: IntArray, effort: FloatArray, n_officers: int, gamma: FloatArray, deviation: float
) -> FloatArray:
    """Per officer: the sum of the Γ largest deviations (deviation × hours) among its cases
    (``officer`` is -1 for unassigned cases, which count nowhere)."""
    frame = (
        pl.DataFrame({"officer": officer, "effort": effort})
        .filter(pl.col("officer") >= 0)
        .group_by("officer", "effort")
        .agg(pl.len().cast(pl.Float64).alias("count"))
        .sort(["officer", "effort"], descending=[False, True])
        .with_columns(before=pl.col("count").cum_sum().over("officer") - pl.col("count"))
    )
    g = pl.Series(gamma).gather(frame["officer"])
    taken = (g - frame["before"]).clip(0.0, None)
    taken = pl.select(pl.min_horizontal(taken, frame["count"])).to_series()
    extra = np.zeros(n_officers)
    np.add.at(
        extra,
        frame["officer"].to_numpy(),
        (taken * frame["effort"] * deviation).to_numpy(),
    )
    return extra


# --------------------------------------------------------------------------------------------
# Effort patterns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Figures:
    """Every figure of the config, in a fixed order: base rules, default, explicit, adjust
    rules, handoff."""

    kinds: tuple[str, ...]
    names: tuple[str, ...]
    n_base: int
    n_adjust: int

    @classmethod
    def of(cls, config: Config) -> _Figures:
        base = config.effort.base
        adjust = config.effort.adjust
        return cls(
            kinds=(
                *["base"] * len(base),
                "default",
                "explicit",
                *["adjust"] * len(adjust),
                "handoff",
            ),
            names=(
                *[r.name for r in base],
                "default_hours",
                "explicit effort_hours",
                *[r.name for r in adjust],
                "handoff_hours",
            ),
            n_base=len(base),
            n_adjust=len(adjust),
        )

    @property
    def default(self) -> int:
        return self.n_base

    @property
    def explicit(self) -> int:
        return self.n_base + 1

    @property
    def first_adjust(self) -> int:
        return self.n_base + 2

    @property
    def handoff(self) -> int:
        return len(self.names) - 1

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class _Patterns:
    """Distinct effort patterns: the figure that sets the base, its base hours (1 for explicit
    cases, whose own hours are their weight), and the adjustments applied."""

    base_figure: IntArray  # (P,)
    base_hours: FloatArray  # (P,)
    applied: BoolArray  # (P, n_adjust)


def _patterns(
    cases: pl.DataFrame, config: Config, figures: _Figures
) -> tuple[_Patterns, IntArray, FloatArray]:
    """The pattern table, each case's pattern, and each case's weight (1, or its explicit hours)."""
    missing = [
        c
        for c in ("effort_source", "effort_base", "effort_adjustments", "effort_hours")
        if c not in cases.columns
    ]
    if missing:
        raise ValueError(f"robustness needs the effort audit columns; missing {missing}")
    key = cases.select(
        pl.struct("effort_source", "effort_base", "effort_adjustments").hash().alias("key")
    ).to_series()
    distinct = (
        cases.select("effort_source", "effort_base", "effort_adjustments")
        .with_columns(key=key)
        .unique(subset="key", keep="first", maintain_order=True)
    )
    code = key.replace_strict(
        distinct["key"], pl.int_range(distinct.height, eager=True, dtype=pl.Int64)
    ).to_numpy()
    base_index = {r.name: i for i, r in enumerate(config.effort.base)}
    adjust_index = {r.name: i for i, r in enumerate(config.effort.adjust)}
    n = distinct.height
    base_figure = np.zeros(n, dtype=np.int64)
    base_hours = np.zeros(n)
    applied = np.zeros((n, figures.n_adjust), dtype=bool)
    for p, (source, base, adjustments) in enumerate(
        distinct.select("effort_source", "effort_base", "effort_adjustments").iter_rows()
    ):
        if source == "explicit":
            base_figure[p], base_hours[p] = figures.explicit, 1.0
        elif source == "default":
            base_figure[p], base_hours[p] = figures.default, config.effort.default_hours
        else:
            i = base_index[base]
            base_figure[p], base_hours[p] = i, config.effort.base[i].hours
        for name in adjustments or ():
            applied[p, adjust_index[name]] = True
    explicit = (cases["effort_source"] == "explicit").to_numpy()
    weight = np.where(explicit, cases["effort_hours"].to_numpy(), 1.0)
    return _Patterns(base_figure, base_hours, applied), code, weight


def _replay(
    patterns: _Patterns, config: Config, figures: _Figures, factors: FloatArray
) -> FloatArray:
    """Hours of every pattern (per unit weight) with each figure scaled: factors (B, figures)
    → hours (B, P). Factor 1 everywhere reproduces the effort model."""
    hours = patterns.base_hours[None, :] * factors[:, patterns.base_figure]
    for k, rule in enumerate(config.effort.adjust):
        applies = patterns.applied[:, k]
        if not applies.any():
            continue
        f = factors[:, figures.first_adjust + k][:, None]
        changed = hours * (1.0 + (rule.multiply - 1.0) * f) + rule.add * f
        if rule.add < 0:
            changed = np.maximum(changed, 0.0)
        hours = np.where(applies[None, :], changed, hours)
    return hours


# --------------------------------------------------------------------------------------------
# The assessment
# --------------------------------------------------------------------------------------------


def assess_robustness(
    cases: pl.DataFrame,
    officer: IntArray,
    moved: BoolArray,
    available: FloatArray,
    officer_ids: tuple[str, ...],
    config: Config,
    options: RobustnessOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Robustness:
    """Robustness of a fixed plan.

    ``cases`` holds the effort audit columns (``estimate_effort(..., audit=True)``) and
    ``required_skills``; ``officer`` is each case's roster index in the plan (-1: unassigned);
    ``moved`` whether the case moved to that officer (who pays ``handoff_hours``);
    ``available`` the officers' available hours.
    """
    start = time.perf_counter()
    figures = _Figures.of(config)
    patterns, code, weight = _patterns(cases, config, figures)
    n_off = len(available)
    n_pat = len(patterns.base_hours)
    assigned = officer >= 0
    a_off, a_code, a_weight = officer[assigned], code[assigned], weight[assigned]
    effort = cases["effort_hours"].to_numpy()

    ones = np.ones((1, len(figures)))
    nominal = _replay(patterns, config, figures, ones)[0]
    replayed = weight * nominal[code]
    if not np.allclose(replayed, effort, rtol=_REPLAY_TOLERANCE, atol=_REPLAY_TOLERANCE):
        raise RuntimeError("the effort pattern replay disagrees with the effort estimate")

    cells = a_off * n_pat + a_code
    weights = np.bincount(cells, weights=a_weight, minlength=n_off * n_pat).reshape(n_off, n_pat)
    counts = np.bincount(cells, minlength=n_off * n_pat).reshape(n_off, n_pat)
    moved_in = np.bincount(officer[assigned & moved], minlength=n_off).astype(np.float64)
    handoff = config.handoff_hours * moved_in
    load = weights @ nominal + handoff
    staffed = available > 0
    util = np.where(staffed, load / np.where(staffed, available, 1.0), np.nan)
    peak = float(np.nanmax(util)) if staffed.any() else math.nan

    rules: list[RuleSensitivity] = []

    def sensitivity(kind: str, name: str, b: FloatArray, n_cases: int, approx: bool) -> None:
        a = load - b
        full, who_full = scale_limits(a, b, available, 1.0)
        rise, who_rise = scale_limits(a, b, available, (1.0 + options.peak_rise) * peak)
        rules.append(
            RuleSensitivity(
                kind=kind,
                rule=name,
                cases=n_cases,
                hours=float(b.sum()),
                scale_to_full=full,
                officer_to_full=officer_ids[who_full] if who_full is not None else None,
                scale_to_peak_rise=rise if rise is not None else 0.0,
                officer_to_peak_rise=officer_ids[who_rise] if who_rise is not None else None,
                approximate=approx,
            )
        )

    for r in range(len(figures)):
        if r == figures.handoff:
            sensitivity("handoff", figures.names[r], handoff, int(moved_in.sum()), False)
            continue
        twice, none = ones.copy(), ones.copy()
        twice[0, r], none[0, r] = 2.0, 0.0
        slope = _replay(patterns, config, figures, twice)[0] - nominal
        drop = nominal - _replay(patterns, config, figures, none)[0]
        approx = not np.allclose(slope, drop, rtol=_AFFINE_TOLERANCE, atol=_AFFINE_TOLERANCE)
        touched = slope != 0
        sensitivity(
            figures.kinds[r],
            figures.names[r],
            weights @ slope,
            int(counts[:, touched].sum()),
            approx,
        )
    for skill, b, n_cases in _skill_types(cases, officer, n_off):
        sensitivity("skill", f"cases needing {skill}", b, n_cases, False)

    held_count: IntArray = np.bincount(a_off, minlength=n_off).astype(np.int64)
    gamma = bertsimas_sim_gamma(held_count, options.confidence)
    extra = budgeted_loads(officer, effort, n_off, gamma, options.deviation)
    robust_util = np.where(staffed, (load + extra) / np.where(staffed, available, 1.0), np.nan)
    worst = int(np.nanargmax(robust_util)) if staffed.any() else None
    held = held_count > 0
    budgeted = BudgetedPeak(
        deviation=options.deviation,
        confidence=options.confidence,
        peak=float(robust_util[worst]) if worst is not None else math.nan,
        officer=officer_ids[worst] if worst is not None else None,
        officers_over=int((robust_util > 1.0 + _OVER).sum()),
        median_gamma=float(np.median(gamma[held])) if held.any() else 0.0,
    )

    monte_carlo = None
    if options.draws > 0:
        monte_carlo = _monte_carlo(
            patterns,
            config,
            figures,
            a_off,
            a_code,
            a_weight,
            handoff,
            available,
            officer_ids,
            options,
            progress,
        )
    return Robustness(
        nominal_peak=peak,
        peak_rise=options.peak_rise,
        rules=tuple(rules),
        budgeted=budgeted,
        monte_carlo=monte_carlo,
        seconds=time.perf_counter() - start,
    )


def _skill_types(
    cases: pl.DataFrame, officer: IntArray, n_off: int
) -> list[tuple[str, FloatArray, int]]:
    """Per required skill: each officer's hours of cases needing it, and the case count."""
    if "required_skills" not in cases.columns:
        return []
    pairs = (
        pl.DataFrame(
            {
                "officer": officer,
                "effort": cases["effort_hours"],
                "skill": cases["required_skills"],
            }
        )
        .filter((pl.col("officer") >= 0) & (pl.col("skill").list.len() > 0))
        .explode("skill")
        .group_by("skill", "officer")
        .agg(pl.col("effort").sum(), pl.len().alias("cases"))
        .sort("skill", "officer")
    )
    out = []
    for (skill,), part in pairs.group_by("skill", maintain_order=True):
        b = np.zeros(n_off)
        b[part["officer"].to_numpy()] = part["effort"].to_numpy()
        out.append((str(skill), b, int(part["cases"].sum())))
    return out


def _lognormal(rng: np.random.Generator, cv: float, shape: tuple[int, ...]) -> FloatArray:
    """Mean-1 lognormal factors with coefficient of variation ``cv``."""
    if cv == 0:
        return np.ones(shape)
    sigma = math.sqrt(math.log1p(cv * cv))
    z = rng.standard_normal(shape)
    out: FloatArray = np.exp(sigma * z - 0.5 * sigma * sigma)
    return out


def _monte_carlo(
    patterns: _Patterns,
    config: Config,
    figures: _Figures,
    a_off: IntArray,
    a_code: IntArray,
    a_weight: FloatArray,
    handoff: FloatArray,
    available: FloatArray,
    officer_ids: tuple[str, ...],
    options: RobustnessOptions,
    progress: Callable[[int, int], None] | None,
) -> MonteCarlo:
    start = time.perf_counter()
    rng = np.random.default_rng(options.seed)
    n_off, n_pat = len(available), len(patterns.base_hours)
    n = len(a_off)
    # Cases sorted by (officer, pattern) cell once, so each draw sums contiguous runs.
    cells = a_off * n_pat + a_code
    order = np.argsort(cells, kind="stable")
    sorted_cells = cells[order]
    weight = a_weight[order]
    starts = (
        np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
        if n
        else np.zeros(0, dtype=np.int64)
    )
    run_cell = sorted_cells[starts] if n else np.zeros(0, dtype=np.int64)
    run_off, run_pat = run_cell // max(n_pat, 1), run_cell % max(n_pat, 1)
    staffed = available > 0
    safe = np.where(staffed, available, 1.0)
    draws = options.draws
    peaks = np.empty(draws)
    any_over = np.zeros(draws, dtype=bool)
    over_count = np.zeros(n_off, dtype=np.int64)
    # The figures' factors of every draw first, then each draw's per-case noise: the same seed
    # gives the same draws whatever the machine.
    factors = _lognormal(rng, options.rule_cv, (draws, len(figures)))
    hours = _replay(patterns, config, figures, factors)  # (draws, patterns)
    sigma = math.sqrt(math.log1p(options.case_cv**2))
    # Single precision for the per-case factors halves the memory traffic of the hot loop;
    # the sums per (officer, pattern) run in double precision.
    noise = np.empty(n, dtype=np.float32)
    weight32 = weight.astype(np.float32)
    plain = np.add.reduceat(weight, starts) if n else np.zeros(0)
    step = max(1, draws // 100)
    for d in range(draws):
        if n and options.case_cv > 0:
            rng.standard_normal(dtype=np.float32, out=noise)
            noise *= np.float32(sigma)
            noise += np.float32(-0.5 * sigma * sigma)
            np.exp(noise, out=noise)
            noise *= weight32
            runs = np.add.reduceat(noise, starts, dtype=np.float64)
        else:
            runs = plain
        loads = np.bincount(run_off, weights=runs * hours[d, run_pat], minlength=n_off)
        loads += handoff * factors[d, figures.handoff]
        util = np.where(staffed, loads / safe, -np.inf)
        peaks[d] = util.max()
        over = util > 1.0 + _OVER
        any_over[d] = over.any()
        over_count += over
        if progress is not None and ((d + 1) % step == 0 or d + 1 == draws):
            progress(d + 1, draws)
    p = float(any_over.mean())
    low, high = _wilson(int(any_over.sum()), options.draws)
    top = np.argsort(-over_count, kind="stable")[:_OFTEN_OVER]
    often = tuple(
        (officer_ids[int(i)], float(over_count[i] / options.draws))
        for i in top
        if over_count[i] > 0
    )
    return MonteCarlo(
        draws=options.draws,
        seed=options.seed,
        case_cv=options.case_cv,
        rule_cv=options.rule_cv,
        peak_mean=float(peaks.mean()),
        peak_p05=float(np.quantile(peaks, 0.05)),
        peak_p50=float(np.quantile(peaks, 0.50)),
        peak_p95=float(np.quantile(peaks, 0.95)),
        peak_max=float(peaks.max()),
        p_any_over=p,
        p_any_over_low=low,
        p_any_over_high=high,
        often_over=often,
        seconds=time.perf_counter() - start,
        peaks=peaks,
    )


def _wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion (never outside [0, 1], sensible at 0 and n)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high
