"""Keep pydantic out of `--help` (quality bar P6: every `--help` ≤ 0.3 s).

typer coerces every parameter value through a pydantic TypeAdapter, and importing pydantic costs 0.15–0.3 s.
A group's own parameters are processed before its sub-command sees `--help`, so `hantu config check --help`
(the unset help flag of `config`) and `hantu jobs run --help` (the defaults of `hantu jobs`' options) paid that
import for a help text. Here, values that need no coercion — an unset flag, an unset option, a default that
already has its declared plain type — skip the adapter; everything typed on the command line still goes
through typer (and pydantic) as before.
"""

from __future__ import annotations

from typing import Any, get_origin

from typer.core import TyperArgument, TyperOption

_PLAIN = (int, float, str)


def lean_tree(command: Any) -> None:
    """Apply both shortcuts to `command` and to every command under it."""
    original = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None and option.default is None:
            option.default = False  # an unset help flag (None) is not a bool: typer would coerce it
        return option

    command.get_help_option = get_help_option
    for param in command.params:
        if isinstance(param, (TyperOption, TyperArgument)):
            _lean_param(param)
    for sub in getattr(command, "commands", {}).values():
        lean_tree(sub)


def _lean_param(param: TyperOption | TyperArgument) -> None:
    original = param.process_value

    def process_value(ctx: Any, value: Any) -> Any:
        plain, coerced = _without_adapter(param, value)
        if not plain:
            return original(ctx, value)
        if param.required and param.value_is_missing(coerced):
            return original(ctx, value)  # typer raises its own "missing" error
        if param.callback is not None:
            return param.callback(ctx, param, coerced)
        return coerced

    param.process_value = process_value  # type: ignore[method-assign]


def _without_adapter(param: TyperOption | TyperArgument, value: Any) -> tuple[bool, Any]:
    """(True, what typer's adapter would return) when the value needs no adapter, else (False, value)."""
    descriptor = param.type_descriptor
    info = descriptor.parameter_info
    multi = param.multiple or param.nargs == -1
    if value is None and not multi:
        return True, None  # typer's coercion returns None for any type (an unset `--config PATH` too)
    if info.parser is not None or descriptor.is_file or descriptor.is_path:
        return False, value
    if value is None:
        return False, value
    if multi:
        if value in ((), []) and get_origin(descriptor.annotation) is list:
            return True, []
        return False, value
    kind = descriptor.annotation
    if kind not in _PLAIN or type(value) is not kind or descriptor.is_choice:
        return False, value
    if (info.min is not None and value < info.min) or (info.max is not None and value > info.max):
        return False, value
    return True, value
