"""Stopping a run on request (Ctrl-C): one process-wide flag and the solvers that can be stopped.

A solver registers the callable that stops it (`with register(solver.stop_search): ...`) and loops
that it runs itself check `stop_requested()` between steps. `request_stop()` sets the flag and
calls every registered stop; the pipeline checks the flag between phases and before it commits
any output, and raises `InterruptError` (exit 130) so that nothing is written.

`sigint_stops_run()` is what a command installs around a run: Ctrl-C then requests a stop instead
of raising KeyboardInterrupt. Raising it is not an option while a solver runs: CP-SAT calls back
into Python (its log) on its own threads, the calling thread among them, and an exception raised
inside such a callback aborts the process (``std::bad_function_call``). The handler runs in the
main thread only when that thread executes Python code, which it does not do while it waits
inside a long C++ solve; so the signal also wakes a watcher thread (through the wakeup fd) that
stops the solvers at once, and keeps stopping solvers registered after the request.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from assigncli.errors import AssignError

__all__ = [
    "EXIT_INTERRUPTED",
    "InterruptError",
    "check",
    "register",
    "request_stop",
    "reset",
    "sigint_stops_run",
    "stop_requested",
]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a process stopped by Ctrl-C

# How often the watcher stops solvers registered after a stop was requested (a solve started
# just after the request would otherwise run to its time limit).
_RESTOP_SECONDS = 0.05

_requested = threading.Event()
_lock = threading.Lock()
_stoppers: dict[int, Callable[[], object]] = {}
_next_id = 0


class InterruptError(AssignError):
    """The run was stopped on request before it committed any output."""

    exit_code = EXIT_INTERRUPTED


def stop_requested() -> bool:
    """True once a stop was requested (and until `reset()`)."""
    return _requested.is_set()


def check() -> None:
    """Raise InterruptError if a stop was requested."""
    if _requested.is_set():
        raise InterruptError("interrupted: stopped before any output was written")


def request_stop() -> None:
    """Set the flag and stop every registered solver; safe from any thread, idempotent."""
    _requested.set()
    _stop_all()


def reset() -> None:
    """Clear the flag, for the next run in the same process."""
    _requested.clear()


@contextlib.contextmanager
def register(stop: Callable[[], object]) -> Iterator[None]:
    """Let `request_stop()` call `stop` while the block runs (called at once if already asked)."""
    global _next_id  # noqa: PLW0603 - the registry is process-wide by design
    with _lock:
        key = _next_id
        _next_id += 1
        _stoppers[key] = stop
    try:
        if _requested.is_set():
            _call(stop)
        yield
    finally:
        with _lock:
            _stoppers.pop(key, None)


def _stop_all() -> None:
    with _lock:
        stoppers = list(_stoppers.values())
    for stop in stoppers:
        _call(stop)


def _call(stop: Callable[[], object]) -> None:
    # A solver that already finished may refuse to stop; that must not break the others.
    with contextlib.suppress(Exception):
        stop()


@contextlib.contextmanager
def sigint_stops_run(on_signal: Callable[[int], None] | None = None) -> Iterator[None]:
    """While the block runs, SIGINT requests a stop (see the module doc) instead of raising.

    `on_signal(n)` is called in the main thread for the n-th signal (for a message). Outside the
    main thread, or when SIGINT is ignored (a job started with `nohup` or `&` by a script), this
    changes nothing. The flag is cleared on entry, so each run starts fresh.
    """
    reset()
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(
        signal.SIGINT
    ) in (signal.SIG_IGN, None):
        yield
        return
    count = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        request_stop()
        if on_signal is not None:
            on_signal(count)

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(read_fd, done), name="assigncli-interrupt", daemon=True
    )
    previous_handler = signal.signal(signal.SIGINT, handler)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        # After a stop the run is on its way out (exit 130): a second Ctrl-C that arrives once
        # the solvers have already stopped must not turn into a KeyboardInterrupt on the way.
        signal.signal(signal.SIGINT, signal.SIG_IGN if count else previous_handler)
        done.set()
        watcher.join()
        os.close(read_fd)
        os.close(write_fd)


def _watch(read_fd: int, done: threading.Event) -> None:
    """Stop the solvers as soon as a signal arrives, then keep stopping late registrations."""
    while not done.is_set():
        ready, _, _ = select.select([read_fd], [], [], _RESTOP_SECONDS)
        if ready:
            data = os.read(read_fd, 64)
            if signal.SIGINT in data:
                request_stop()
        elif _requested.is_set():
            _stop_all()
