"""What an optimiser maximises: a named figure of the backtest's metrics, or a formula over them.

`sharpe`, `calmar`, `return` (total return), `sortino`, or `custom:EXPR` where EXPR is arithmetic over metric
names (`custom:sharpe - 2*abs(max_drawdown)`): numbers, + - * / **, unary minus, `abs`, `min`, `max`. A run
without the figure (no trades, no volatility) scores minus infinity, so it never wins.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

NAMED = {"sharpe": "sharpe", "calmar": "calmar", "return": "total_return", "sortino": "sortino"}
_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow}
_FUNCTIONS: dict[str, Callable[..., float]] = {"abs": abs, "min": min, "max": max}


class ObjectiveError(ValueError):
    """An objective that is not one of the names or not a valid formula."""


def check_objective(spec: str) -> None:
    """Refuse a bad objective before any work starts (a formula is parsed and its names listed)."""
    if spec in NAMED:
        return
    if not spec.startswith("custom:"):
        raise ObjectiveError(f"unknown objective {spec!r}: use one of {', '.join(NAMED)} or custom:EXPR")
    _parse(spec.removeprefix("custom:"))


def objective_value(spec: str, metrics: Mapping[str, Any]) -> float:
    """The objective of one run's metrics (−inf when a figure it needs is missing or not finite)."""
    if spec in NAMED:
        return _finite(metrics.get(NAMED[spec]))
    if not spec.startswith("custom:"):
        raise ObjectiveError(f"unknown objective {spec!r}")
    try:
        return _finite(_evaluate(_parse(spec.removeprefix("custom:")), metrics))
    except (ZeroDivisionError, OverflowError, TypeError):
        return float("-inf")


def _finite(value: Any) -> float:
    if value is None:
        return float("-inf")
    number = float(value)
    return number if math.isfinite(number) else float("-inf")


def _parse(expression: str) -> ast.expr:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ObjectiveError(f"custom objective {expression!r} is not a formula: {error.msg}") from error
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Constant, ast.Name, ast.Load,
                   ast.Call, *_BINARY)
        if not isinstance(node, allowed):
            raise ObjectiveError(f"custom objective {expression!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
            raise ObjectiveError(f"custom objective {expression!r}: only {', '.join(_FUNCTIONS)} may be called")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ObjectiveError(f"custom objective {expression!r}: only numbers are constants")
    return tree.body


def _evaluate(node: ast.expr, metrics: Mapping[str, Any]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):  # `_parse` allows no other
        return float(node.value)
    if isinstance(node, ast.Name):
        value = metrics.get(node.id)
        if value is None:
            raise TypeError(node.id)
        return float(value)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, metrics)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, metrics), _evaluate(node.right, metrics))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return float(_FUNCTIONS[node.func.id](*(_evaluate(arg, metrics) for arg in node.args)))
    raise TypeError(type(node).__name__)
