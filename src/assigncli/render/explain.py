"""Explanations of a plan in plain words: why a case went where it did, what an officer's load
is made of (`assign explain`), and how robust the plan is to wrong effort figures
(`assign plan --robustness`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from assigncli.analysis.explain import CONTINUITY, CaseExplanation, OfficerExplanation

if TYPE_CHECKING:
    from assigncli.analysis.robustness import Robustness

__all__ = ["print_case", "print_officer", "print_robustness"]


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}%}"


def _h(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:,.1f} h"


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def _pp(value: float) -> str:
    return f"{value * 100:.2f} pp"


def _signed(value: int) -> str:
    return f"{value:+d}" if value else "±0"


def _line(console: Console, label: str, text: str) -> None:
    out = Text("  ")
    out.append(f"{label}: ", style="bold")
    out.append(text)
    console.print(out)


def _eligibility_words(e: CaseExplanation) -> str:
    el = e.eligibility
    head = f"{el.eligible:,} of {el.roster:,} officers could hold it"
    others = []
    if el.outside_office:
        others.append(f"{el.outside_office:,} do not cover {e.office}")
    if el.inactive:
        others.append(f"{el.inactive:,} {'is' if el.inactive == 1 else 'are'} inactive")
    if el.away:
        others.append(f"{el.away:,} {'is' if el.away == 1 else 'are'} away all cycle")
    if el.lacking_skill:
        which = ", ".join(f"{n:,} lack {s}" for s, n in el.lacking_by_skill.items() if n)
        others.append(f"{el.lacking_skill:,} lack a required skill ({which})")
    if el.cap_zero:
        others.append(f"{el.cap_zero:,} take no cases (max_cases = 0)")
    text = head + (": of the others, " + "; ".join(others) if others else "")
    if el.at_cap:
        text += (
            f". {el.at_cap:,} of the {el.eligible:,} {'is' if el.at_cap == 1 else 'are'} at "
            "max_cases in this plan (no room without giving a case up)"
        )
    return text + "."


def _continuity_words(e: CaseExplanation) -> str:
    prev = e.previous_officer_id
    if e.continuity == "locked":
        return f"locked to {prev}: it stays, whatever the balance."
    if e.continuity == "kept":
        return f"stayed with {prev}, its officer of record."
    if e.continuity == "new":
        return "a new case (no previous officer): placed where it balances load."
    if e.continuity == "unassigned":
        return f"left unassigned: {e.reason}."
    text = f"{CONTINUITY[e.continuity]} (from {prev})."
    if e.continuity == "moved_forced":
        text += f" The plan says: {e.reason}."
    if e.keep is not None:
        k = e.keep
        text += (
            f" Keeping it with {prev} would put {prev} at {_pct(k.utilization_after)} (now "
            f"{_pct(k.utilization_before)}) and the plan's peak at {_pct(k.peak_after, 2)} (now "
            f"{_pct(e.plan_peak, 2)}), balance {k.balance_delta:+,.1f} h, spread "
            f"{_pp(k.std_after)} (now {_pp(e.plan_std)}), moves {_signed(k.moves_delta)}."
        )
    elif e.keep_blocked:
        text += f" It cannot go back: {e.keep_blocked}."
    return text


def _peak_words(e: CaseExplanation) -> str:
    if e.utilization is None:
        return f"the plan's peak is {_pct(e.plan_peak, 2)} ({e.plan_peak_officer})."
    if e.at_peak:
        return (
            f"{e.officer_id} is at the plan's peak ({_pct(e.plan_peak, 2)}): this officer "
            "sets the number the plan minimizes."
        )
    gap = e.plan_peak - e.utilization
    return (
        f"{e.officer_id} is {gap * 100:.2f} points below the plan's peak of "
        f"{_pct(e.plan_peak, 2)} ({e.plan_peak_officer}): not the binding officer."
    )


# What proves the certificate's lower bound, by solver method (see README "How it is solved").
_BOUND_ARGUMENTS = {
    "exact": "the grouped LP relaxation and CP-SAT's own bound",
    "scale": "the grouped LP relaxation, which is the per-case LP relaxation",
    "exact+scale": "the grouped LP relaxation, with CP-SAT's own bound on the exact components",
    "none": "nothing to decide: every case was fixed",
}


def _bound_words(e: CaseExplanation) -> list[str]:
    lines = []
    b = e.group_bound
    if b is not None:
        skills = " + ".join(b.skills)
        who = f"{b.office}" + (f" with {skills}" if skills else "")
        lines.append(
            f"the {_n(b.officers, 'officer')} who may hold this case ({who}) must carry "
            f"{_h(b.hours)} that only they may take, over {_h(b.available_hours)} available: "
            f"whatever the plan, one of them is at {_pct(b.bound)} or more (in this plan the "
            f"highest of them is at {_pct(b.highest)})."
        )
    t = e.tightest_bound
    if t is not None and t is not b:
        lines.append(f"tightest group: {t.label} can do no better than {_pct(t.bound)}.")
    cert = e.certificate
    if cert.get("lower_bound") is not None:
        gap = cert.get("gap")
        gap_text = "–" if not isinstance(gap, int | float) else f"{gap:.2%}"
        method = str(cert.get("method", ""))
        argument = _BOUND_ARGUMENTS.get(method, f"method {method}")
        lines.append(
            f"certificate: no plan can have a peak below {_pct(cert['lower_bound'], 2)} "
            f"({argument}; status {cert.get('status', '?')}); this plan's peak is {gap_text} "
            "above it."
        )
        simple = max((x.bound for x in (b, t) if x is not None), default=0.0)
        if float(cert["lower_bound"]) > simple + 0.01:
            lines.append(
                "the certificate's bound is above every group's average because evening out "
                "today's caseloads takes moves, each costing handoff_hours, and case caps and "
                "locks limit where cases can go."
            )
    return lines


def print_case(e: CaseExplanation, console: Console) -> None:
    """One case, in plain words, with its alternatives as a table."""
    skills = f", needs {', '.join(e.required_skills)}" if e.required_skills else ""
    console.print(
        f"[bold]Case {e.case_id}[/bold] ({e.office}{skills}; {_h(e.effort_hours)} per cycle)",
        highlight=False,
    )
    if e.officer_id is not None:
        _line(
            console,
            "Officer",
            f"{e.officer_id}, {_pct(e.utilization)} utilized ({_h(e.load)} of "
            f"{_h(e.available_hours)} available)"
            + (f"; officer of record: {e.previous_officer_id}" if e.previous_officer_id else ""),
        )
    _line(console, "Eligibility", _eligibility_words(e))
    _line(console, "Continuity", _continuity_words(e))
    if e.alternatives:
        table = Table(
            title="  What each alternative costs (the plan with only this case moved)",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for column in (
            "officer",
            "their util",
            f"{e.officer_id or '—'} after",
            "peak",
            "balance",
            "spread",
            "moves",
        ):
            table.add_column(column, justify="left" if column == "officer" else "right")
        table.add_row(
            "this plan",
            "",
            _pct(e.utilization),
            _pct(e.plan_peak, 2),
            "",
            _pp(e.plan_std),
            "",
            style="dim",
        )
        for a in e.alternatives:
            table.add_row(
                a.officer_id + (" (of record)" if a.previous else ""),
                f"{_pct(a.utilization_before)} → {_pct(a.utilization_after)}",
                _pct(a.officer_after),
                _pct(a.peak_after, 2),
                f"{a.balance_delta:+,.1f} h",
                _pp(a.std_after),
                _signed(a.moves_delta),
            )
        console.print(table)
        console.print(
            "  [dim]ranked as the plan decides: the peak first, then balance (the change in "
            "hours above 10–99% of the peak, summed over officers, which the plan minimizes "
            "next), then spread (standard deviation of utilization)[/dim]"
        )
    elif e.continuity == "locked":
        _line(console, "Alternatives", "none: a locked case does not move.")
    else:
        _line(console, "Alternatives", "none: no other eligible officer has room.")
    _line(console, "Peak", _peak_words(e))
    for text in _bound_words(e):
        _line(console, "Bound", text)
    console.print()


def print_officer(o: OfficerExplanation, console: Console) -> None:
    """What one officer's load is made of."""
    skills = f"; skills {', '.join(o.skills)}" if o.skills else "; no skills listed"
    cap = f"; max_cases {o.max_cases:,}" if o.max_cases is not None else ""
    console.print(
        f"[bold]Officer {o.officer_id}[/bold] ({', '.join(o.offices)}{skills}{cap})",
        highlight=False,
    )
    if not o.active:
        why = "inactive: no available hours; every case of theirs must move"
    elif o.unavailable_days > 0:
        why = (
            f"capacity {_h(o.capacity_hours)} × (1 − {o.unavailable_days:g} of "
            f"{o.cycle_days:g} days away)"
        )
    else:
        why = f"full capacity ({_h(o.capacity_hours)}), no days away"
    _line(console, "Available", f"{_h(o.available_hours)}: {why}.")
    if o.utilization is not None:
        rank = f"rank {o.rank:,} of {o.ranked:,} by utilization"
        peak = (
            "at the plan's peak"
            if o.at_peak
            else f"{(o.plan_peak - o.utilization) * 100:.2f} points below the plan's peak of "
            f"{_pct(o.plan_peak, 2)}"
        )
        load = f"{_h(o.load)} = {_pct(o.utilization)} of available ({rank}; {peak})"
    else:
        load = f"{_h(o.load)} with no available hours"
    _line(console, "Load", load)
    _line(
        console,
        "Cases",
        f"{o.cases:,} after the plan ({o.cases_before:,} of record before, {_h(o.load_before)})"
        f": {o.locked['cases']:,} locked ({_h(o.locked['hours'])}), {o.kept['cases']:,} kept "
        f"({_h(o.kept['hours'])}), {o.moved_in['cases']:,} moved in "
        f"({_h(o.moved_in['hours'])}), {o.new['cases']:,} new ({_h(o.new['hours'])}).",
    )
    if o.composition:
        table = Table(
            title="  The load by effort rule (from the effort audit)",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for column in ("kind", "rule", "effect", "cases", "hours"):
            table.add_column(column, justify="right" if column in ("cases", "hours") else "left")
        skill_rows = []
        for row in o.composition:
            if row["kind"] == "skill":
                skill_rows.append(row)
                continue
            table.add_row(
                row["kind"], row["rule"], row["effect"], f"{row['cases']:,}", f"{row['hours']:,.1f}"
            )
        table.add_row(
            "handoff",
            "cases moved in",
            f"{o.moved_in['cases']:,} × handoff",
            f"{o.moved_in['cases']:,}",
            f"{o.handoff_hours:,.1f}",
        )
        table.add_row("", "[bold]load[/bold]", "", f"{o.cases:,}", f"[bold]{o.load:,.1f}[/bold]")
        console.print(table)
        for row in skill_rows:
            console.print(
                f"  [dim]of which {row['cases']:,} case(s), {row['hours']:,.1f} h, "
                f"{row['effect']} ({row['rule']})[/dim]",
                highlight=False,
            )
    if o.moved_in["cases"]:
        why = ", ".join(f"{r['cases']:,} {r['why']}" for r in o.moved_in["why"])
        frm = ", ".join(f"{r['previous_officer_id']} ({r['cases']:,})" for r in o.moved_in["from"])
        _line(
            console,
            "Moved in",
            f"{_n(o.moved_in['cases'], 'case')}, {_h(o.moved_in['hours'])} of effort plus "
            f"{_h(o.moved_in['handoff_hours'])} of handoff: {why}; from {frm}.",
        )
    if o.moved_out["cases"]:
        why = "; ".join(f"{r['cases']:,}: {r['reason']}" for r in o.moved_out["why"])
        to = ", ".join(f"{r['officer_id']} ({r['cases']:,})" for r in o.moved_out["to"])
        _line(
            console,
            "Moved out",
            f"{_n(o.moved_out['cases'], 'case')}, {_h(o.moved_out['hours'])} — {why}; to {to}.",
        )
    else:
        _line(console, "Moved out", "none.")
    console.print()


# --------------------------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------------------------


def _scale(value: float | None) -> str:
    if value is None:
        return "already over"
    if math.isinf(value):
        return "∞"
    return f"×{value:.3g}"


def print_robustness(r: Robustness, console: Console) -> None:
    """The robustness of a fixed plan: scalings per rule, budgeted peak, Monte Carlo."""
    table = Table(
        title="How far each effort figure can be wrong (the plan fixed, loads re-evaluated)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption=(
            f"scaling of the figure's hours before any officer passes 100% of available hours, "
            f"and before the peak rises {r.peak_rise:.0%} (from {_pct(r.nominal_peak, 2)})"
        ),
        caption_justify="left",
    )
    for column in (
        "kind",
        "rule",
        "cases",
        "hours",
        "to 100%",
        "first over",
        f"peak +{r.peak_rise:.0%}",
    ):
        table.add_column(
            column, justify="left" if column in ("kind", "rule", "first over") else "right"
        )
    for s in r.rules:
        table.add_row(
            s.kind,
            s.rule + (" *" if s.approximate else ""),
            f"{s.cases:,}",
            f"{s.hours:,.0f}",
            _scale(s.scale_to_full),
            s.officer_to_full or "",
            _scale(s.scale_to_peak_rise),
        )
    console.print(table)
    if any(s.approximate for s in r.rules):
        console.print(
            "  [dim]* a negative add clips some cases at 0 h: scaling is approximate[/dim]"
        )
    b = r.budgeted
    console.print(
        f"Budgeted uncertainty (Bertsimas–Sim): every case's effort within ±{b.deviation:.0%}, "
        f"at most Γ cases per officer off at once (Γ = √(2 n ln(1/ε)) for n cases, ε = "
        f"{1 - b.confidence:.0%}; median Γ {b.median_gamma:.1f}): peak "
        f"[bold]{_pct(b.peak, 2)}[/bold] ({b.officer}) against {_pct(r.nominal_peak, 2)}; "
        f"{b.officers_over:,} officer(s) over 100%. Each officer's load stays within its "
        f"budgeted value with probability ≥ {b.confidence:.0%} (independent, symmetric errors).",
        highlight=False,
    )
    mc = r.monte_carlo
    if mc is not None:
        console.print(
            f"Monte Carlo ({mc.draws:,} draws, seed {mc.seed}; per-case lognormal CV "
            f"{mc.case_cv:.0%}, per-rule CV {mc.rule_cv:.0%}): peak median "
            f"[bold]{_pct(mc.peak_p50, 2)}[/bold], 90% of draws in {_pct(mc.peak_p05, 2)}–"
            f"{_pct(mc.peak_p95, 2)}, worst {_pct(mc.peak_max, 2)}; P(any officer over 100%) "
            f"[bold]{_pct(mc.p_any_over)}[/bold] (95% CI {_pct(mc.p_any_over_low)}–"
            f"{_pct(mc.p_any_over_high)}); {mc.seconds:.1f} s.",
            highlight=False,
        )
        if mc.often_over:
            shown = ", ".join(f"{o} ({p:.1%})" for o, p in mc.often_over)
            console.print(f"  officers most often over 100%: {shown}", highlight=False)


def robustness_rows(r: Robustness) -> list[dict[str, Any]]:
    """The per-rule table as dicts (report and JSON)."""
    return [s.to_dict() for s in r.rules]
