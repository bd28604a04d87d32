"""Ctrl-C for the solvers: a running CP-SAT search is stopped through `register`, and loops ask
`stop_requested` between steps.

Both come from `assigncli.interrupt` (the CLI's signal handling) when it is installed; without it
they do nothing, so the solvers also run inside other programs that handle signals themselves.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType


def _interrupt() -> ModuleType | None:
    if importlib.util.find_spec("assigncli.interrupt") is None:
        return None
    return importlib.import_module("assigncli.interrupt")


@contextmanager
def register(stop: Callable[[], None]) -> Iterator[None]:
    """Call `stop` if the user interrupts while the block runs."""
    module = _interrupt()
    if module is None:
        yield
        return
    with module.register(stop):
        yield


def stop_requested() -> bool:
    """Whether the user asked to stop (Ctrl-C)."""
    module = _interrupt()
    return bool(module is not None and module.stop_requested())
