"""Ctrl-C for the solvers: a running CP-SAT search is stopped through `register`, and loops ask
`stop_requested` between steps. Both are `assigncli.interrupt`'s (the CLI's signal handling)."""

from __future__ import annotations

from assigncli.interrupt import register, stop_requested

__all__ = ["register", "stop_requested"]
