"""Calibrate the effort model's figures from a time log (`assign effort fit`).

The fit keeps the config's structure — which rules exist, their conditions, their order, whether an
adjustment multiplies or adds — and re-estimates its figures: every base rule's ``hours``,
``default_hours``, and each adjustment's ``multiply`` and/or ``add``. Under the config, a case's
expected hours are the base figure pushed through the adjustments it matches, in order
(``h ← h × multiply + add``), so with multiplications only ``log μ = log base + Σ log multiply``.

Cases that match the same base rule and the same adjustments share one expected value, so the
estimation works on these *cells* (a few dozen to a few hundred, whatever the number of cases):

- per-case logs: the cell means of the logged hours and the entry counts are sufficient;
- per-officer logs: an officer-period's logged hours are expected to be Σ (cases held per cell ×
  the cell's hours) — a regression of hours on case counts by type.

Two estimators, compared on held-out data (k-fold, grouped by case or by officer):

- ``gamma``: Gamma quasi-likelihood (variance ∝ mean², suited to skewed, right-tailed hours),
  solved by iteratively reweighted least squares. With multiplicative rules only it is exactly the
  Gamma GLM with a log link;
- ``nnls``: least squares with non-negative hours and multipliers (and adds of the config's sign);
  with additive rules only it is exactly non-negative least squares.

Intervals are percentile bootstrap intervals (cases, or officers, resampled with replacement). A
figure the log cannot identify (no case of its rule, or its rule always coincides with others) is
named and keeps its current value.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import warnings as warnings_module
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import sparse, stats
from scipy.optimize import lsq_linear

from assigncli.condition import parse_condition
from assigncli.config import AdjustRule, BaseRule, Config, SkillRule
from assigncli.effort import estimate_effort
from assigncli.errors import UsageError
from assigncli.read import row_positions
from assigncli.timelog import TimeLog

logger = logging.getLogger(__name__)

Estimator = Literal["gamma", "nnls"]
ESTIMATORS: tuple[Estimator, ...] = ("gamma", "nnls")
FigureKind = Literal["hours", "default_hours", "multiply", "add"]
# fitted: estimated in the interior of its range; at_bound: the fit went to a bound of the figure's
# range (0 for hours) the log does not clearly support, so it keeps its current value; no_cases,
# not_identified: the log cannot determine it.
FigureStatus = Literal["fitted", "at_bound", "no_cases", "not_identified"]
Verdict = Literal["changed", "borderline", "n.s.", "at bound", "not fitted"]
# Whether the fitted model beats the current figures on held-out data (paired over folds).
ComparisonVerdict = Literal["better", "no_better", "worse", "unchecked"]

MIN_CASES = 30  # below this many cases a figure is reported as poorly determined
EXIT_NOT_BETTER = 6  # `assign effort fit`: the fit does not beat the current figures; not written
BETTER_ALPHA = 0.05  # one-sided level of the paired fold test that the fit beats the current model
_COLLINEAR_TOL = 1e-7  # relative residual below which a figure's column is a combination of others
_ITERATIONS = 100
_HALVINGS = 30
_TOLERANCE = 1e-8  # relative step; far below any interval's width
_JACKKNIFE_ROWS = 20_000  # rows per chunk of the cluster jackknife (k² floats each)


@dataclass(frozen=True)
class Figure:
    """One figure of the model: its current and fitted value, interval and evidence."""

    kind: FigureKind
    rule: str  # the rule's name; "default_hours" for the default
    section: Literal["effort", "effort.base", "effort.adjust"]
    index: int  # 1-based position among the section's rules (0 for default_hours)
    current: float
    fitted: float  # what the fitted model uses (the current value unless status is "fitted")
    low: float  # interval bounds; NaN when not fitted
    high: float
    cases: int  # distinct cases of the log its rule applies to
    hours: float = 0.0  # hours behind it: logged (per-case log) or expected (per-officer log)
    status: FigureStatus = "fitted"
    note: str = ""  # why a figure is not fitted, or what its evidence at a bound is
    se: float = math.nan  # standard error of the estimate (the larger of model and cluster)
    p_value: float = math.nan  # two-sided, for "the current figure is right"
    adjusted_p: float = math.nan  # Benjamini–Hochberg over the model's fitted figures
    changed: bool = False  # the interval excludes the current figure, and that survives the FDR
    estimate: float = math.nan  # the estimate, also when the figure is kept (at a bound)

    @property
    def label(self) -> str:
        if self.kind == "default_hours":
            return "[effort] default_hours"
        return f"[[{self.section}]] #{self.index} '{self.rule}' {self.kind}"

    @property
    def significant(self) -> bool:
        """The log contradicts the current figure (see `changed`)."""
        return self.changed

    @property
    def excludes_current(self) -> bool:
        if self.status != "fitted" or math.isnan(self.low):
            return False
        return not (self.low <= self.current <= self.high)

    @property
    def verdict(self) -> Verdict:
        if self.status == "at_bound":
            return "at bound"
        if self.status != "fitted":
            return "not fitted"
        if self.changed:
            return "changed"
        return "borderline" if self.excludes_current else "n.s."

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: _json_number(v) for k, v in dataclasses.asdict(self).items()},
            "label": self.label,
            "significant": self.significant,
            "verdict": self.verdict,
        }


def _json_number(value: Any) -> Any:
    """NaN (no interval, no positive hours) as null: JSON has no NaN."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


@dataclass(frozen=True)
class Scores:
    """Held-out error of one set of figures."""

    mae: float  # mean absolute error, hours per entry
    mape: float  # mean absolute percentage error over entries with hours > 0 (0.1 = 10%)


@dataclass(frozen=True)
class Comparison:
    """The fitted model against the current figures, fold by fold on held-out data."""

    verdict: ComparisonVerdict
    current_mae: tuple[float, ...]  # per fold
    fitted_mae: tuple[float, ...]
    improvement: float  # mean over folds of current − fitted MAE (h per entry; > 0: fit better)
    t: float  # paired t statistic over the folds
    p_value: float  # one-sided, for "the fit is no better than the current figures"

    @property
    def better(self) -> bool:
        return self.verdict == "better"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "current_mae": list(self.current_mae),
            "fitted_mae": list(self.fitted_mae),
            "improvement": _json_number(self.improvement),
            "t": _json_number(self.t),
            "p_value": _json_number(self.p_value),
            "alpha": BETTER_ALPHA,
        }


@dataclass(frozen=True, eq=False)
class Calibration:
    """Everything `assign effort fit` reports, and the fitted config."""

    original: Config
    fitted: Config
    figures: tuple[Figure, ...]
    estimator: Estimator
    held_out: dict[str, Scores]  # "current", "gamma", "nnls" (empty without folds)
    comparison: Comparison
    folds: int
    level: float
    clusters: str  # what the folds and the standard errors group by: "case" or "officer"
    n_clusters: int
    shape: str
    log_file: str
    entries: int
    cases: int
    periods: int
    cells: int
    warnings: tuple[str, ...]
    # Built-in rules that read columns the case file lacks, by (section, 1-based index): they
    # did not apply, and the fitted TOML (a strict user config) leaves them as comments.
    absent: dict[tuple[str, int], tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @property
    def hours_basis(self) -> str:
        return "logged" if self.shape == "per_case" else "expected"

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimator": self.estimator,
            "shape": self.shape,
            "log_file": self.log_file,
            "entries": self.entries,
            "cases": self.cases,
            "periods": self.periods,
            "cells": self.cells,
            "folds": self.folds,
            "level": self.level,
            "intervals": INTERVALS,
            "clusters": self.clusters,
            "n_clusters": self.n_clusters,
            "hours_basis": self.hours_basis,
            "held_out": {
                k: {m: _json_number(x) for m, x in dataclasses.asdict(v).items()}
                for k, v in self.held_out.items()
            },
            "comparison": self.comparison.to_dict(),
            "figures": [f.to_dict() for f in self.figures],
            "warnings": list(self.warnings),
        }


INTERVALS = (
    "Wald, on the log scale for hours and multipliers; standard error the larger of the "
    "model-based (pooled dispersion) and the cluster-robust (cluster jackknife) one; t quantiles"
)


# --------------------------------------------------------------------------------------------
# The model's structure over cells
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    kind: FigureKind
    rule: str
    section: Literal["effort", "effort.base", "effort.adjust"]
    index: int
    current: float
    lower: float
    upper: float


@dataclass(frozen=True, eq=False)
class _Structure:
    """The config's figures as a parameter vector and the cells' expected hours as its function."""

    params: tuple[_Param, ...]
    base_of_cell: np.ndarray  # (C,) parameter index of the cell's base figure
    matched: np.ndarray  # (C, A) bool: the cell's cases match adjustment a
    multiply_param: tuple[int | None, ...]  # per adjustment: parameter index or None (fixed)
    add_param: tuple[int | None, ...]
    multiply_fixed: tuple[float, ...]
    add_fixed: tuple[float, ...]

    @property
    def theta0(self) -> np.ndarray:
        return np.array([p.current for p in self.params], dtype=np.float64)

    def mean(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected hours per cell and their Jacobian (C × P) at `theta`."""
        cells = self.base_of_cell.size
        h = theta[self.base_of_cell].astype(np.float64)
        dh = np.zeros((cells, theta.size))
        dh[np.arange(cells), self.base_of_cell] = 1.0
        for a in range(self.matched.shape[1]):
            rows = self.matched[:, a]
            if not rows.any():
                continue
            mp, ap = self.multiply_param[a], self.add_param[a]
            m = theta[mp] if mp is not None else self.multiply_fixed[a]
            add = theta[ap] if ap is not None else self.add_fixed[a]
            new = h[rows] * m + add
            dnew = dh[rows] * m
            if mp is not None:
                dnew[:, mp] += h[rows]
            if ap is not None:
                dnew[:, ap] += 1.0
            negative = new < 0.0
            if negative.any():  # as in estimate_effort: hours never go below zero
                new[negative] = 0.0
                dnew[negative] = 0.0
            h[rows] = new
            dh[rows] = dnew
        return h, dh


def _structure(config: Config, base_of_cell: np.ndarray, matched: np.ndarray) -> _Structure:
    params: list[_Param] = []
    inf = math.inf
    for i, rule in enumerate(config.effort.base, start=1):
        params.append(_Param("hours", rule.name, "effort.base", i, rule.hours, 0.0, inf))
    params.append(
        _Param("default_hours", "default_hours", "effort", 0, config.effort.default_hours, 0.0, inf)
    )
    multiply_param: list[int | None] = []
    add_param: list[int | None] = []
    for i, adj in enumerate(config.effort.adjust, start=1):
        # A rule is fitted in the form it is written: an add stays an add, a multiply a multiply.
        fits_multiply = adj.multiply != 1.0 or adj.add == 0.0
        fits_add = adj.add != 0.0
        if fits_multiply:
            multiply_param.append(len(params))
            params.append(_Param("multiply", adj.name, "effort.adjust", i, adj.multiply, 0.0, inf))
        else:
            multiply_param.append(None)
        if fits_add:
            add_param.append(len(params))
            lower, upper = (0.0, inf) if adj.add >= 0 else (-inf, 0.0)
            params.append(_Param("add", adj.name, "effort.adjust", i, adj.add, lower, upper))
        else:
            add_param.append(None)
    return _Structure(
        params=tuple(params),
        base_of_cell=base_of_cell,
        matched=matched,
        multiply_param=tuple(multiply_param),
        add_param=tuple(add_param),
        multiply_fixed=tuple(a.multiply for a in config.effort.adjust),
        add_fixed=tuple(a.add for a in config.effort.adjust),
    )


def case_cells(cases: pl.DataFrame, config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every case, its cell; and per cell, its base figure index and matched adjustments.

    The rules are evaluated as planning evaluates them, except that explicit ``effort_hours`` are
    ignored: the fit is about what the rules give.
    """
    rules = config.effort
    with_effort = estimate_effort(cases.drop("effort_hours", strict=False), config)
    n_base = len(rules.base)
    codes = {r.name: i for i, r in enumerate(rules.base)}
    columns = [
        with_effort["effort_base"]
        .replace_strict(codes, default=n_base, return_dtype=pl.Int64())
        .fill_null(n_base)
        .alias("base")
    ]
    adjustments = with_effort["effort_adjustments"]
    for a, rule in enumerate(rules.adjust):
        columns.append(adjustments.list.contains(rule.name).fill_null(False).alias(f"a{a}"))
    keys = pl.DataFrame(columns)
    distinct = keys.unique(maintain_order=True)
    cell = row_positions(keys, distinct).to_numpy().astype(np.int64)
    base_of_cell = distinct["base"].to_numpy().astype(np.int64)
    matched = (
        distinct.select(pl.exclude("base")).to_numpy().astype(bool)
        if rules.adjust
        else np.zeros((distinct.height, 0), dtype=bool)
    )
    return cell, base_of_cell, matched


# --------------------------------------------------------------------------------------------
# Data in cell form
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Data:
    """Observations as a linear map from cell means: prediction = L @ μ.

    Per-case logs: one observation per cell (L = identity, y = cell mean, n = entries).
    Per-officer logs: one per officer-period (L = case counts per cell, y = logged hours, n = 1).
    """

    design: Any  # (J, C) counts as a scipy sparse matrix; None means the identity
    y: np.ndarray
    n: np.ndarray

    def predict(self, mu: np.ndarray) -> np.ndarray:
        return mu if self.design is None else np.asarray(self.design @ mu)

    def jacobian(self, dmu: np.ndarray) -> np.ndarray:
        return dmu if self.design is None else np.asarray(self.design @ dmu)


def _fit(
    data: _Data,
    structure: _Structure,
    free: np.ndarray,
    start: np.ndarray,
    estimator: Estimator,
) -> np.ndarray:
    """The figures minimizing the estimator's loss; fixed figures keep their `start` value.

    Fisher scoring: each step solves a bounded weighted linear least-squares problem on the
    linearized mean (exact in one step when the rules only add), halved until the loss falls.
    With Gamma weights (n / μ²) its fixed point solves the Gamma quasi-score equations.
    """
    theta = start.astype(np.float64).copy()
    idx = np.flatnonzero(free)
    if idx.size == 0:
        return theta
    lower = np.array([structure.params[i].lower for i in idx])
    upper = np.array([structure.params[i].upper for i in idx])
    theta[idx] = np.clip(theta[idx], lower, upper)
    active = data.n > 0
    if not active.any():
        raise ValueError("no observation carries weight")
    scale = max(float(np.average(np.abs(data.y[active]), weights=data.n[active])), 1e-9)
    floor = 1e-9 * scale
    sqrt_n = np.sqrt(data.n)

    def loss(theta: np.ndarray) -> float:
        pred = data.predict(structure.mean(theta)[0])
        if estimator == "nnls":
            return float(np.sum(data.n * (data.y - pred) ** 2))
        pred = np.maximum(pred, floor)
        return float(
            np.sum(data.n[active] * (np.log(pred[active]) + data.y[active] / pred[active]))
        )

    # A figure none of these observations involves (a fold or a resample without its cases)
    # stays where it started instead of wandering along a flat direction.
    touched = _touched(data, structure, theta)[idx]
    idx, lower, upper = idx[touched], lower[touched], upper[touched]
    if idx.size == 0:
        return theta
    current = loss(theta)
    for _ in range(_ITERATIONS):
        mu, dmu = structure.mean(theta)
        pred = data.predict(mu)
        w = sqrt_n if estimator == "nnls" else sqrt_n / np.maximum(np.abs(pred), floor)
        design = w[:, None] * data.jacobian(dmu)[:, idx]
        target = w * (data.y - pred) + design @ theta[idx]
        proposal = _bounded_lstsq(design, target, lower, upper)
        step = proposal - theta[idx]
        accepted = False
        for _ in range(_HALVINGS):
            trial = theta.copy()
            trial[idx] = np.clip(theta[idx] + step, lower, upper)
            value = loss(trial)
            if value <= current + 1e-12 * abs(current):
                accepted = True
                break
            step = step / 2.0
        if not accepted:
            break
        moved = np.max(np.abs(trial[idx] - theta[idx]) / np.maximum(np.abs(theta[idx]), 1e-9))
        theta, previous, current = trial, current, value
        if moved < _TOLERANCE or abs(previous - current) <= 1e-14 * abs(previous):
            break
    return theta


def _touched(data: _Data, structure: _Structure, theta: np.ndarray) -> np.ndarray:
    """Per figure: whether any observation with weight involves it."""
    _, dmu = structure.mean(theta)
    return np.asarray(np.abs(data.jacobian(dmu)).T @ data.n > 0)


def _bounded_lstsq(
    design: np.ndarray, target: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """argmin ‖design·x − target‖ within the bounds, solved on the P × P normal equations.

    The Cholesky factor L of designᵀdesign gives the same objective as ‖Lᵀx − L⁻¹designᵀtarget‖
    (up to a constant), so the bounded solver sees P rows instead of one per observation; on a
    shared machine LAPACK's least squares on the tall matrix costs 100 times more.
    """
    gram = design.T @ design
    ridge = 1e-12 * max(float(np.trace(gram)), 1e-300)
    chol = np.linalg.cholesky(gram + ridge * np.eye(gram.shape[0]))
    rhs = np.linalg.solve(chol, design.T @ target)
    return np.asarray(lsq_linear(chol.T, rhs, bounds=(lower, upper), method="bvls").x)


def _identifiable(
    data: _Data, structure: _Structure, cases_per_param: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Which figures the log determines; a note per figure that it does not."""
    theta = structure.theta0
    _, dmu = structure.mean(theta)
    columns = np.sqrt(data.n)[:, None] * data.jacobian(dmu)
    norms = np.linalg.norm(columns, axis=0)
    p = len(structure.params)
    free = np.zeros(p, dtype=bool)
    notes = [""] * p
    kept: list[int] = []
    labels = [_label(q) for q in structure.params]
    for j in range(p):
        if cases_per_param[j] == 0 or norms[j] == 0.0:
            notes[j] = "no case of this rule in the log"
            continue
        col = columns[:, j] / norms[j]
        if kept:
            basis = columns[:, kept] / norms[kept]
            coef, *_ = np.linalg.lstsq(basis, col, rcond=None)
            residual = np.linalg.norm(col - basis @ coef)
            if residual < _COLLINEAR_TOL**0.5:
                partners = [labels[kept[i]] for i in np.flatnonzero(np.abs(coef) > 1e-6)]
                notes[j] = "cannot be told apart from " + ", ".join(partners)
                continue
        kept.append(j)
        free[j] = True
    return free, notes


def _label(p: _Param) -> str:
    if p.kind == "default_hours":
        return "default_hours"
    return f"'{p.rule}' {p.kind}"


# --------------------------------------------------------------------------------------------
# Standard errors, figures at a bound, and the estimate the fitted model uses
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Obs:
    """The log's observations as the standard errors see them: one row per (cluster, cell) of a
    per-case log, one per officer-period of a per-officer log. A row's expected hours per entry
    are ``design @ μ``; `total` and `squares` are the sums of its entries' hours and hours²."""

    design: Any  # (J, C) scipy sparse
    cluster: np.ndarray
    n: np.ndarray
    total: np.ndarray
    squares: np.ndarray

    def rows(self, keep: np.ndarray) -> _Obs:
        return _Obs(
            self.design[keep],
            self.cluster[keep],
            self.n[keep],
            self.total[keep],
            self.squares[keep],
        )


@dataclass(frozen=True)
class _Errors:
    """Per figure (NaN where not estimated): the standard error used and its t degrees of
    freedom, and both candidates (model-based, cluster-robust)."""

    se: np.ndarray
    df: np.ndarray
    model: np.ndarray
    robust: np.ndarray
    clusters: int


def _standard_errors(
    obs: _Obs, structure: _Structure, theta: np.ndarray, idx: np.ndarray, estimator: Estimator
) -> _Errors:
    """Cluster-robust and model-based standard errors of the figures `idx` at the fit `theta`.

    The fit solves the quasi-score equations Σ n·w·(ȳ − μ)·∂μ = 0 with w = 1/μ² (gamma) or 1
    (nnls). The model-based covariance is φ·A⁻¹ (A = Σ n·w·∂μ∂μᵀ, φ the Pearson dispersion pooled
    over every entry): right when entries are independent, and it gives a rule with a handful of
    cases the width its few entries deserve. The cluster-robust one (a one-step cluster
    jackknife, CR3) also counts what an officer's entries share (the officer's speed) and, unlike
    the plain sandwich, does not shrink when a rule's cases sit with a few officers. Each figure
    takes the larger (see bench/calibration.py for the coverage this gives).
    """
    p = len(structure.params)
    nan = np.full(p, math.nan)
    clusters = int(np.unique(obs.cluster).size)
    if idx.size == 0 or obs.n.size == 0:
        return _Errors(nan, nan.copy(), nan.copy(), nan.copy(), clusters)
    mu, dmu = structure.mean(theta)
    pred = np.asarray(obs.design @ mu)
    jac = np.asarray(obs.design @ dmu[:, idx])
    scale = max(float(np.sum(obs.total) / max(np.sum(obs.n), 1.0)), 1e-9)
    floor = 1e-9 * scale
    w = 1.0 / np.maximum(pred, floor) ** 2 if estimator == "gamma" else np.ones_like(pred)
    info = jac.T @ (jac * (obs.n * w)[:, None])
    k = idx.size
    entries = float(np.sum(obs.n))
    residual_df = max(entries - k, 1.0)
    pearson = float(np.sum(w * (obs.squares - 2.0 * pred * obs.total + obs.n * pred**2)))
    inverse = np.linalg.pinv(info, rcond=1e-12, hermitian=True)
    model = max(pearson, 0.0) / residual_df * inverse
    score = jac * (w * (obs.total - obs.n * pred))[:, None]
    robust = _jackknife(info, jac * (obs.n * w)[:, None], jac, score, obs.cluster, clusters)
    # A figure no row of these observations involves has no information: no standard error.
    informed = np.abs(jac).T @ obs.n > 0
    v_model = np.where(informed, np.diag(model), math.nan)
    v_robust = np.where(informed, robust, math.nan)
    use_robust = v_robust > v_model
    se, df = nan.copy(), nan.copy()
    se[idx] = np.sqrt(np.where(use_robust, v_robust, v_model))
    df[idx] = np.where(use_robust, max(clusters - 1, 1), residual_df)
    m, r = nan.copy(), nan.copy()
    m[idx], r[idx] = np.sqrt(v_model), np.sqrt(v_robust)
    return _Errors(se, df, m, r, clusters)


def _jackknife(
    info: np.ndarray,
    weighted: np.ndarray,
    jac: np.ndarray,
    score: np.ndarray,
    cluster: np.ndarray,
    clusters: int,
) -> np.ndarray:
    """Per figure, the variance of the one-step leave-one-cluster-out estimates (CR3):
    θ₋g − θ ≈ −(A − A_g)⁻¹·U_g, with A_g and U_g cluster g's information and score. A figure
    whose information lies in one cluster alone cannot be judged from the others: infinite."""
    k = info.shape[0]
    if clusters < 2:
        return np.full(k, math.inf)
    order = np.argsort(cluster, kind="stable")
    sorted_cluster = cluster[order]
    starts = np.flatnonzero(np.r_[True, sorted_cluster[1:] != sorted_cluster[:-1]])
    ends = np.r_[starts[1:], sorted_cluster.size]
    deltas = np.empty((starts.size, k))
    alone = np.zeros(k, dtype=bool)
    diagonal = np.maximum(np.diag(info), 1e-300)
    # Clusters in chunks of about _JACKKNIFE_ROWS rows: a cluster's k × k information is a sum
    # of per-row outer products, which would not fit in memory for every row at once.
    first = 0
    while first < starts.size:
        last = int(np.searchsorted(starts, starts[first] + _JACKKNIFE_ROWS, side="left"))
        last = max(last, first + 1)
        rows = order[starts[first] : ends[last - 1]]
        offsets = starts[first:last] - starts[first]
        outer = weighted[rows][:, :, None] * jac[rows][:, None, :]
        info_g = np.add.reduceat(outer, offsets, axis=0)
        score_g = np.add.reduceat(score[rows], offsets, axis=0)
        alone |= np.any(np.diagonal(info_g, axis1=1, axis2=2) >= (1.0 - 1e-9) * diagonal, axis=0)
        rest = info[None, :, :] - info_g
        deltas[first:last] = np.einsum("gij,gj->gi", np.linalg.pinv(rest, hermitian=True), score_g)
        first = last
    centred = deltas - deltas.mean(axis=0)
    variance = (clusters - 1) / clusters * np.sum(centred**2, axis=0)
    return np.asarray(np.where(alone, math.inf, variance))


def _critical(level: float, df: np.ndarray) -> np.ndarray:
    with warnings_module.catch_warnings():
        warnings_module.simplefilter("ignore", RuntimeWarning)  # NaN df: no interval
        return np.asarray(stats.t.ppf(0.5 + level / 2.0, df))


def _at_bound(structure: _Structure, theta: np.ndarray) -> np.ndarray:
    lower = np.array([q.lower for q in structure.params])
    upper = np.array([q.upper for q in structure.params])
    size = np.maximum(np.abs(structure.theta0), 1.0)
    return np.asarray((theta <= lower + 1e-9 * size) | (theta >= upper - 1e-9 * size))


@dataclass(frozen=True)
class _Estimate:
    theta: np.ndarray  # the figures the fitted model uses
    raw: np.ndarray  # the first fit, before figures at a bound were put back
    estimated: np.ndarray  # figures estimated from the log (the others keep theta0)
    kept: np.ndarray  # figures the fit sent to a bound the log does not support
    errors: _Errors
    bound_se: np.ndarray  # standard error of a kept figure at its bound


def _estimate(
    data: _Data,
    obs: _Obs,
    structure: _Structure,
    free: np.ndarray,
    theta0: np.ndarray,
    estimator: Estimator,
    level: float,
) -> _Estimate:
    """The fit the model uses: a figure the fit sends to a bound of its range (hours or a
    multiplier to 0, an add to 0) keeps its current value unless the log clearly supports the
    bound (the current value lies outside the interval around it); the others are refitted
    with it held, until no new figure goes to a bound."""
    p = len(structure.params)
    kept = np.zeros(p, dtype=bool)
    bound_se = np.full(p, math.nan)
    raw: np.ndarray | None = None
    while True:
        active = free & ~kept
        theta = _fit(data, structure, active, theta0, estimator)
        if raw is None:
            raw = theta.copy()
        touched = active & _touched(data, structure, theta)
        errors = _standard_errors(obs, structure, theta, np.flatnonzero(touched), estimator)
        at = touched & _at_bound(structure, theta)
        distance = np.abs(theta0 - theta)
        supported = distance > _critical(level, errors.df) * errors.se  # NaN se: not supported
        unsupported = at & ~supported
        if not unsupported.any():
            break
        bound_se[unsupported] = errors.se[unsupported]
        kept |= unsupported
    return _Estimate(theta, raw, touched, kept, errors, bound_se)


def _interval(
    kind: FigureKind, fitted: float, current: float, se: float, df: float, level: float
) -> tuple[float, float, float]:
    """(low, high, two-sided p of the current value): on the log scale for hours and
    multipliers (their estimates are ratios of skewed sums), on the hours scale for adds."""
    if not (math.isfinite(se) and math.isfinite(df)) or se <= 0.0:
        return math.nan, math.nan, math.nan
    crit = float(stats.t.ppf(0.5 + level / 2.0, df))
    if kind != "add" and fitted > 0.0:
        spread = se / fitted
        low, high = fitted * math.exp(-crit * spread), fitted * math.exp(crit * spread)
        z = (math.log(fitted) - math.log(current)) / spread if current > 0.0 else math.inf
    else:
        low, high = fitted - crit * se, fitted + crit * se
        z = (fitted - current) / se
        if kind != "add":
            low = max(low, 0.0)
    return low, high, float(2.0 * stats.t.sf(abs(z), df))


# --------------------------------------------------------------------------------------------
# The fit
# --------------------------------------------------------------------------------------------


def calibrate(
    cases: pl.DataFrame,
    log: TimeLog,
    config: Config,
    *,
    estimator: Estimator | Literal["auto"] = "auto",
    folds: int = 5,
    level: float = 0.90,
    min_cases: int = MIN_CASES,
    seed: int = 0,
) -> Calibration:
    """Fit `config`'s figures to `log` (validated against `cases`); see the module docstring.

    `folds` ≥ 2 measures held-out error and compares the fit with the current figures fold by
    fold (0 skips it; then ``auto`` means ``gamma`` and the comparison is ``unchecked``);
    intervals are at `level`, and `changed` controls the false-discovery rate at 1 − `level`.
    """
    if folds == 1 or folds < 0:
        raise UsageError(f"--folds must be 0 (none) or at least 2, got {folds}")
    if not 0.0 < level < 1.0:
        raise UsageError(f"--level must be between 0 and 1, got {level}")
    rng = np.random.default_rng([seed, 1013])
    case_ids = cases["case_id"].cast(pl.String())
    cell_of_case, base_of_cell, matched = case_cells(cases, config)
    structure = _structure(config, base_of_cell, matched)
    n_cells = base_of_cell.size
    theta0 = structure.theta0
    index = pl.DataFrame({"case_id": case_ids, "__case": np.arange(cases.height)})
    warnings: list[str] = []

    if log.shape == "per_case":
        entries = log.entries.join(index, on="case_id", how="inner", maintain_order="left")
        case_of_entry = entries["__case"].to_numpy()
        y_obs = entries["hours"].to_numpy().astype(np.float64)
        obs_cell = cell_of_case[case_of_entry]
        # Entries that share a cluster are not independent: an officer's speed is in all of the
        # officer's entries, a case's peculiarity in all of its periods.
        if "officer_id" in entries.columns:
            # An entry nobody signed for is its case's own cluster.
            unsigned = pl.col("officer_id").is_null() | (pl.col("officer_id") == "")
            key = entries.select(
                pl.when(unsigned)
                .then(pl.format("\x00{}", pl.col("case_id")))
                .otherwise(pl.col("officer_id"))
            ).to_series()
        else:
            key = entries["__case"]
        cluster_of_obs = _dense_codes(key)
        n_clusters = int(cluster_of_obs.max()) + 1 if cluster_of_obs.size else 0
        logged_cases = entries["__case"].unique().to_numpy()
        pairs = (
            pl.DataFrame({"cluster": cluster_of_obs, "cell": obs_cell, "hours": y_obs})
            .group_by("cluster", "cell", maintain_order=True)
            .agg(
                pl.len().alias("n"),
                pl.col("hours").sum().alias("s"),
                (pl.col("hours") ** 2).sum().alias("s2"),
            )
        )
        pair_cluster = pairs["cluster"].to_numpy()
        pair_cell = pairs["cell"].to_numpy()
        pair_n = pairs["n"].to_numpy().astype(np.float64)
        pair_s = pairs["s"].to_numpy().astype(np.float64)
        obs = _Obs(
            sparse.csr_matrix(
                (np.ones(pair_cell.size), (np.arange(pair_cell.size), pair_cell)),
                shape=(pair_cell.size, n_cells),
            ),
            pair_cluster,
            pair_n,
            pair_s,
            pairs["s2"].to_numpy().astype(np.float64),
        )
        obs_cluster = pair_cluster
        hours_of_cell = np.bincount(obs_cell, weights=y_obs, minlength=n_cells)

        def build(weight: np.ndarray) -> _Data:
            w = weight[pair_cluster]
            n = np.bincount(pair_cell, weights=w * pair_n, minlength=n_cells)
            s = np.bincount(pair_cell, weights=w * pair_s, minlength=n_cells)
            y = np.divide(s, n, out=np.zeros(n_cells), where=n > 0)
            return _Data(None, y, n)

        def predict_entries(mu: np.ndarray) -> np.ndarray:
            return np.asarray(mu[obs_cell])

    else:
        assert log.held is not None
        entries = log.entries.with_row_index("__entry")
        held = log.held.join(index, on="case_id", how="inner").join(
            entries.select("officer_id", "period", "__entry"), on=["officer_id", "period"]
        )
        entry = held["__entry"].to_numpy().astype(np.int64)
        case = held["__case"].to_numpy()
        rows = entries.height
        # Cases held per (entry, cell), sparse: an officer holds a few dozen kinds of case.
        pair_key, pair_count = np.unique(entry * n_cells + cell_of_case[case], return_counts=True)
        design = sparse.csr_matrix(
            (pair_count.astype(np.float64), (pair_key // n_cells, pair_key % n_cells)),
            shape=(rows, n_cells),
        )
        y_obs = entries["hours"].to_numpy().astype(np.float64)
        cluster_of_obs = _dense_codes(entries["officer_id"])
        n_clusters = int(cluster_of_obs.max()) + 1 if rows else 0
        logged_cases = held["__case"].unique().to_numpy()
        obs = _Obs(design, cluster_of_obs, np.ones(rows), y_obs, y_obs**2)
        obs_cluster = cluster_of_obs
        # No hours are logged per case: the evidence is what the current figures expect.
        held_per_cell = np.asarray(design.sum(axis=0)).ravel()
        hours_of_cell = held_per_cell * structure.mean(theta0)[0]

        def build(weight: np.ndarray) -> _Data:
            n = weight[cluster_of_obs].astype(np.float64)
            kept = n > 0  # officers a fold leaves out cost nothing
            return _Data(design[kept], y_obs[kept], n[kept])

        def predict_entries(mu: np.ndarray) -> np.ndarray:
            return np.asarray(design @ mu)

    # Distinct cases per figure: what a "too few cases" warning and the n in the TOML count.
    cases_per_cell = np.bincount(cell_of_case[logged_cases], minlength=n_cells)
    p = len(structure.params)
    cases_per_param = np.zeros(p, dtype=np.int64)
    hours_per_param = np.zeros(p)
    for j in range(p):
        cells = _cells_of(structure, j)
        cases_per_param[j] = cases_per_cell[cells].sum()
        hours_per_param[j] = hours_of_cell[cells].sum()

    full = build(np.ones(n_clusters))
    free, notes = _identifiable(full, structure, cases_per_param)
    for j in map(int, np.flatnonzero(~free)):
        warnings.append(
            f"{_section_label(structure.params[j])} is not fitted ({notes[j]}); "
            f"it keeps its current value {structure.params[j].current:g}"
        )
    for j in map(int, np.flatnonzero(free & (cases_per_param < min_cases))):
        warnings.append(
            f"{_section_label(structure.params[j])}: only {cases_per_param[j]} case(s) in the "
            f"log (fewer than {min_cases}); its figure is poorly determined"
        )

    # Held-out error, folds grouped by the same clusters as the standard errors; every fold
    # fits exactly as the full log is fitted (figures at a bound kept included).
    held_out: dict[str, Scores] = {}
    fold_mae: dict[str, list[float]] = {}
    if folds:
        fold_of_cluster = rng.permutation(n_clusters) % folds
        fold_of_obs = fold_of_cluster[cluster_of_obs]
        fold_of_row = fold_of_cluster[obs_cluster]
        current_pred = predict_entries(structure.mean(theta0)[0])
        held_out["current"] = _scores(y_obs, current_pred)
        fold_mae["current"] = [
            float(np.mean(np.abs(y_obs - current_pred)[fold_of_obs == f])) for f in range(folds)
        ]
        for name in ESTIMATORS:
            predicted = np.zeros_like(y_obs)
            for f in range(folds):
                train = build((fold_of_cluster != f).astype(np.float64))
                fit = _estimate(
                    train, obs.rows(fold_of_row != f), structure, free, theta0, name, level
                )
                mask = fold_of_obs == f
                predicted[mask] = predict_entries(structure.mean(fit.theta)[0])[mask]
            held_out[name] = _scores(y_obs, predicted)
            error = np.abs(y_obs - predicted)
            fold_mae[name] = [float(np.mean(error[fold_of_obs == f])) for f in range(folds)]
    chosen: Estimator
    if estimator == "auto":
        chosen = "gamma"
        if held_out and held_out["nnls"].mae < held_out["gamma"].mae:
            chosen = "nnls"
    else:
        chosen = estimator
    comparison = _compare(fold_mae.get("current", []), fold_mae.get(chosen, []))

    fit = _estimate(full, obs, structure, free, theta0, chosen, level)
    figures = _figures(structure, fit, free, notes, cases_per_param, hours_per_param, level, chosen)
    for figure in figures:
        if figure.status == "at_bound":
            warnings.append(f"{figure.label}: {figure.note}")
    for w in warnings:
        logger.warning("%s", w)
    return Calibration(
        absent=_absent_rules(config, cases.columns),
        original=config,
        fitted=_fitted_config(config, figures),
        figures=tuple(figures),
        estimator=chosen,
        held_out=held_out,
        comparison=comparison,
        folds=folds,
        level=level,
        clusters="officer" if "officer_id" in log.entries.columns else "case",
        n_clusters=n_clusters,
        shape=log.shape,
        log_file=log.file,
        entries=log.entries.height,
        cases=int(logged_cases.size),
        periods=log.periods,
        cells=n_cells,
        warnings=tuple(warnings),
    )


def _compare(current: list[float], fitted: list[float]) -> Comparison:
    """Paired one-sided t test over folds: does the fit lower the held-out MAE?"""
    if len(current) < 2 or len(fitted) != len(current):
        return Comparison("unchecked", tuple(current), tuple(fitted), math.nan, math.nan, math.nan)
    gain = np.asarray(current) - np.asarray(fitted)
    mean = float(gain.mean())
    spread = float(gain.std(ddof=1))
    if spread == 0.0:
        t_value = math.copysign(math.inf, mean) if mean else 0.0
        p_value = 0.0 if mean > 0 else 1.0
    else:
        t_value = mean / (spread / math.sqrt(gain.size))
        p_value = float(stats.t.sf(t_value, gain.size - 1))
    verdict: ComparisonVerdict = (
        "better" if p_value < BETTER_ALPHA and mean > 0 else ("worse" if mean < 0 else "no_better")
    )
    return Comparison(verdict, tuple(current), tuple(fitted), mean, t_value, p_value)


def _figures(
    structure: _Structure,
    fit: _Estimate,
    free: np.ndarray,
    notes: list[str],
    cases_per_param: np.ndarray,
    hours_per_param: np.ndarray,
    level: float,
    estimator: Estimator,
) -> list[Figure]:
    p = len(structure.params)
    low, high, p_value = np.full(p, math.nan), np.full(p, math.nan), np.full(p, math.nan)
    fitted = free & fit.estimated & ~fit.kept
    for j in map(int, np.flatnonzero(fitted)):
        q = structure.params[j]
        low[j], high[j], p_value[j] = _interval(
            q.kind, float(fit.theta[j]), q.current, fit.errors.se[j], fit.errors.df[j], level
        )
        if math.isfinite(low[j]):
            low[j], high[j] = max(low[j], q.lower), min(high[j], q.upper)
    # "changed" controls the false-discovery rate over the figures tested: with eleven figures
    # and nothing changed, 90% intervals alone would flag one or more in two logs of three.
    tested = np.flatnonzero(np.isfinite(p_value))
    adjusted = np.full(p, math.nan)
    if tested.size:
        adjusted[tested] = stats.false_discovery_control(p_value[tested], method="bh")
    figures: list[Figure] = []
    for j, q in enumerate(structure.params):
        status: FigureStatus
        note = notes[j]
        if not free[j]:
            status = "no_cases" if cases_per_param[j] == 0 else "not_identified"
        elif fit.kept[j]:
            status = "at_bound"
            bound = q.lower if fit.raw[j] <= q.lower + 1e-9 else q.upper
            se = fit.bound_se[j]
            plus = f" ± {se:.3g} (se)" if math.isfinite(se) else ""
            note = (
                f"at bound, not identified: the {estimator} fit goes to {bound:g}{plus} on "
                f"{cases_per_param[j]:,} cases and {hours_per_param[j]:,.1f} hours, which does "
                f"not rule out the current {q.current:g}; it keeps {q.current:g}"
            )
        elif not fit.estimated[j]:
            status = "not_identified"
            note = "no observation of the fit involves it"
        else:
            status = "fitted"
            if _at_bound(structure, fit.theta)[j]:
                note = (
                    f"at bound {fit.theta[j]:g}, supported: on {cases_per_param[j]:,} cases the "
                    f"current {q.current:g} lies outside the interval"
                )
        changed = bool(
            status == "fitted"
            and math.isfinite(adjusted[j])
            and adjusted[j] <= 1.0 - level
            and not low[j] <= q.current <= high[j]
        )
        figures.append(
            Figure(
                kind=q.kind,
                rule=q.rule,
                section=q.section,
                index=q.index,
                current=q.current,
                fitted=float(fit.theta[j]) if status == "fitted" else q.current,
                low=float(low[j]),
                high=float(high[j]),
                cases=int(cases_per_param[j]),
                hours=float(hours_per_param[j]),
                status=status,
                note=note,
                se=float(fit.errors.se[j]) if status == "fitted" else float(fit.bound_se[j]),
                p_value=float(p_value[j]),
                adjusted_p=float(adjusted[j]),
                changed=changed,
                estimate=float(fit.raw[j]) if free[j] else math.nan,
            )
        )
    return figures


def _absent_rules(config: Config, columns: list[str]) -> dict[tuple[str, int], tuple[str, ...]]:
    """Built-in rules whose condition reads a column the cases lack, with those columns."""
    if not config.builtin:
        return {}
    present = set(columns)
    absent: dict[tuple[str, int], tuple[str, ...]] = {}
    sections: list[tuple[str, tuple[BaseRule | AdjustRule | SkillRule, ...]]] = [
        ("effort.base", config.effort.base),
        ("effort.adjust", config.effort.adjust),
        ("skills", config.skills),
    ]
    for section, rules in sections:
        for i, rule in enumerate(rules, start=1):
            missing = tuple(c for c in parse_condition(rule.when).columns if c not in present)
            if missing:
                absent[(section, i)] = missing
    return absent


def _dense_codes(values: pl.Series) -> np.ndarray:
    """0, 1, … per distinct value, by hashing (sorting millions of strings costs seconds)."""
    frame = values.alias("value").to_frame()
    distinct = frame.unique(maintain_order=True)  # the same codes every run, for the seed
    return np.asarray(row_positions(frame, distinct).to_numpy().astype(np.int64))


def _cells_of(structure: _Structure, j: int) -> np.ndarray:
    """Cells whose expected hours involve figure `j`."""
    q = structure.params[j]
    if q.kind in ("hours", "default_hours"):
        return np.asarray(structure.base_of_cell == j)
    return np.asarray(structure.matched[:, q.index - 1])


def _section_label(p: _Param) -> str:
    if p.kind == "default_hours":
        return "[effort] default_hours"
    return f"[[{p.section}]] #{p.index} '{p.rule}' {p.kind}"


def _scores(y: np.ndarray, predicted: np.ndarray) -> Scores:
    error = np.abs(y - predicted)
    positive = y > 0
    mape = float(np.mean(error[positive] / y[positive])) if positive.any() else math.nan
    return Scores(mae=float(np.mean(error)) if y.size else math.nan, mape=mape)


def _fitted_config(config: Config, figures: list[Figure]) -> Config:
    value = {(f.section, f.index, f.kind): f.fitted for f in figures if f.status == "fitted"}
    base = tuple(
        dataclasses.replace(r, hours=value.get(("effort.base", i, "hours"), r.hours))
        for i, r in enumerate(config.effort.base, start=1)
    )
    adjust = tuple(
        dataclasses.replace(
            r,
            multiply=value.get(("effort.adjust", i, "multiply"), r.multiply),
            add=value.get(("effort.adjust", i, "add"), r.add),
        )
        for i, r in enumerate(config.effort.adjust, start=1)
    )
    default = value.get(("effort", 0, "default_hours"), config.effort.default_hours)
    effort = dataclasses.replace(config.effort, default_hours=default, base=base, adjust=adjust)
    return dataclasses.replace(config, effort=effort, sha256="")


# --------------------------------------------------------------------------------------------
# The fitted config as TOML
# --------------------------------------------------------------------------------------------


def _toml_string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(text, ensure_ascii=False)


def _toml_number(value: float, digits: int = 4) -> str:
    if value == 0.0:
        return "0.0"
    rounded = float(f"{value:.{digits}g}")
    text = repr(rounded)
    return text if any(c in text for c in ".en") else text + ".0"


def _interval_text(figure: Figure, level: float) -> str:
    if math.isnan(figure.low):
        return "no interval"
    return f"{level:.0%} CI {figure.low:.4g}–{figure.high:.4g}"


def _comment(figure: Figure, calibration: Calibration) -> str:
    if figure.status == "at_bound":
        return f"{figure.note} (from {calibration.original.source})"
    if figure.status != "fitted":
        return f"not fitted ({figure.note}): kept from {calibration.original.source}"
    verdicts = {
        "changed": f"; was {figure.current:g} (outside the interval)",
        "borderline": f"; was {figure.current:g} (just outside the interval: as often as "
        "chance would put it there among this many figures)",
    }
    verdict = verdicts.get(
        figure.verdict, f"; not significantly different from the previous {figure.current:g}"
    )
    return (
        f"fitted from {calibration.log_file}, n = {figure.cases:,} cases, "
        f"{_interval_text(figure, calibration.level)}{verdict}"
    )


def comparison_text(comparison: Comparison) -> str:
    """One line: the fold-paired verdict on the fit against the current figures."""
    if comparison.verdict == "unchecked":
        return "not checked: no held-out folds (--folds 0)"
    k = len(comparison.current_mae)
    words = {
        "better": "the fit is better",
        "no_better": "the fit is not better beyond noise",
        "worse": "the fit is worse",
    }[comparison.verdict]
    return (
        f"{words}: held-out MAE (mean over {k} folds) {np.mean(comparison.fitted_mae):.4g} h "
        f"fitted vs {np.mean(comparison.current_mae):.4g} h current, paired by fold, "
        f"one-sided p = {comparison.p_value:.3g}"
    )


def fitted_toml(calibration: Calibration) -> str:
    """The fitted config as TOML: every rule and condition as before, each figure with a comment
    naming the log, the number of cases and the interval it was fitted with."""
    cfg = calibration.fitted
    by_key = {(f.section, f.index, f.kind): f for f in calibration.figures}
    held = calibration.held_out.get(calibration.estimator)
    current = calibration.held_out.get("current")
    lines = [
        "# Effort model fitted by `assign effort fit`.",
        f"# Structure (rules, conditions, order) from {calibration.original.source}; figures "
        f"re-estimated from {calibration.log_file}",
        f"# ({calibration.shape.replace('_', '-')} log: {calibration.entries:,} entries, "
        f"{calibration.cases:,} cases, {calibration.periods} period(s)) with the "
        f"{calibration.estimator} estimator;",
        f"# intervals: {calibration.level:.0%} Wald, standard errors clustered by "
        f"{calibration.clusters} ({calibration.n_clusters:,} clusters).",
    ]
    if held is not None and current is not None:
        lines.append(
            f"# Held-out error ({calibration.folds}-fold): MAE {held.mae:.4g} h, "
            f"MAPE {held.mape:.1%} (current figures: MAE {current.mae:.4g} h, "
            f"MAPE {current.mape:.1%})."
        )
    if not calibration.comparison.better:
        lines.append(
            "# WARNING: written with --force although the fit does not beat the current "
            f"figures on held-out data ({comparison_text(calibration.comparison)})."
        )
    lines += [
        "",
        f"cycle_days = {_toml_number(cfg.cycle_days, 12)}",
        f"handoff_hours = {_toml_number(cfg.handoff_hours, 12)}",
        "",
        "[effort]",
    ]

    def figure_line(key: str, section: str, index: int, kind: str, value: float) -> str:
        figure = by_key.get((section, index, kind))  # type: ignore[arg-type]
        line = f"{key} = {_toml_number(value)}"
        if figure is not None:
            line += f"  # {_comment(figure, calibration)}"
        return line

    lines.append(
        figure_line("default_hours", "effort", 0, "default_hours", cfg.effort.default_hours)
    )

    def common(rule: BaseRule | AdjustRule) -> list[str]:
        return [f"name = {_toml_string(rule.name)}", f"when = {_toml_string(rule.when)}"]

    def table(section: str, index: int, body: list[str]) -> list[str]:
        missing = calibration.absent.get((section, index))
        if missing is None:
            return ["", f"[[{section}]]", *body]
        # A config file is strict: a rule on a column the cases lack would stop every run on
        # them, so it stays visible as a comment instead.
        columns = ", ".join(f"'{c}'" for c in missing)
        return [
            "",
            f"# Not in effect: the case file has no column {columns}; uncomment once it does.",
            f"# [[{section}]]",
            *(f"# {line}" for line in body),
        ]

    for i, base in enumerate(cfg.effort.base, start=1):
        body = [*common(base), figure_line("hours", "effort.base", i, "hours", base.hours)]
        if base.source:
            body.append(f"source = {_toml_string(base.source)}")
        lines += table("effort.base", i, body)
    for i, adj in enumerate(cfg.effort.adjust, start=1):
        body = common(adj)
        if ("effort.adjust", i, "multiply") in by_key:
            body.append(figure_line("multiply", "effort.adjust", i, "multiply", adj.multiply))
        if ("effort.adjust", i, "add") in by_key:
            body.append(figure_line("add", "effort.adjust", i, "add", adj.add))
        if adj.source:
            body.append(f"source = {_toml_string(adj.source)}")
        lines += table("effort.adjust", i, body)
    for i, skill in enumerate(cfg.skills, start=1):
        body = [
            f"name = {_toml_string(skill.name)}",
            f"when = {_toml_string(skill.when)}",
            f"require = {_toml_string(skill.require)}",
        ]
        if skill.source:
            body.append(f"source = {_toml_string(skill.source)}")
        lines += table("skills", i, body)
    return "\n".join(lines) + "\n"
