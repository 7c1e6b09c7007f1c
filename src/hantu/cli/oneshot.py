"""Short commands (`hantu screen`, `select`, `explain`) without the cyclic collector's passes over start-up.

Importing numpy, SQLAlchemy, pydantic and the strategy creates ~80,000 long-lived objects (modules, classes,
functions). The collector walked them again and again while they were being created, and once more when the
interpreter exited: 0.1–0.2 s of a ~1 s `hantu screen` (issue 19). Nothing created at start-up is garbage
worth collecting, so a `command` runs with collection off until it calls `started()`, which freezes what
start-up made (`gc.freeze`) and turns collection back on for the work (its own garbage is collected as
before). At the end the freeze is undone (a test calling the app in-process keeps a normal collector), and
when the command is the whole process (`hantu.cli.main.WHOLE_PROCESS`, set by the `hantu` entry point)
everything is frozen again just before the interpreter exits, so that its final collection does not walk
the start-up objects either. Nothing these commands leave behind needs a finalizer at exit: their output is
printed and flushed, their database transaction committed.
"""

from __future__ import annotations

import atexit
import functools
import gc
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_state: dict[str, bool] = {"running": False, "frozen": False, "enabled": True, "exit_hook": False}


def command(function: F) -> F:
    """Run the command `function` with collection off until it calls `started()`; undone when it returns."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _state["running"]:  # a command calling another: the outer one owns the collector
            return function(*args, **kwargs)
        _state.update(running=True, frozen=False, enabled=gc.isenabled())
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if _state["frozen"]:
                gc.unfreeze()
            if _state["enabled"]:
                gc.enable()
            _state.update(running=False, frozen=False)
            from hantu.cli import main

            if main.WHOLE_PROCESS and not _state["exit_hook"]:
                atexit.register(gc.freeze)  # atexit runs before the interpreter's final collection
                _state["exit_hook"] = True

    return run  # type: ignore[return-value]


def started() -> None:
    """The running command's start-up is done (imports, settings, database, store): freeze what it made and
    turn collection back on for the work. Outside a `command`, nothing."""
    if _state["running"] and not _state["frozen"]:
        gc.freeze()
        _state["frozen"] = True
        if _state["enabled"]:
            gc.enable()
