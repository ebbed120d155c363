"""Arrow-function values and destructuring binds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflows.engine.expressions import ast, limits
from workflows.engine.expressions.errors import Abort, JSError
from workflows.engine.expressions.jsset import JSSet
from workflows.engine.expressions.properties import get_property
from workflows.engine.expressions.runtime import Runtime, Scope
from workflows.engine.expressions.values import UNDEFINED, JSFunction, check_property, to_string, typeof

Fn = Callable[[Runtime], Any]


class ArrowFunction(JSFunction):
    """An arrow function value: compiled body + the scope it was created in."""

    __slots__ = ("body", "closure", "names", "params", "rest")
    name = "anonymous"

    def __init__(
        self,
        names: tuple[str, ...] | None,
        params: list[ast.Pattern],
        rest: str | None,
        body: Fn,
        closure: Scope | None,
    ) -> None:
        self.names = names
        self.params = params
        self.rest = rest
        self.body = body
        self.closure = closure

    def call(self, rt: Runtime, args: list[Any]) -> Any:
        rt.steps += 1
        if rt.steps >= rt.next_check:
            rt.check()
        if rt.depth >= limits.MAX_CALL_DEPTH:
            raise Abort(f"expression exceeded the call depth limit of {limits.MAX_CALL_DEPTH} nested calls")
        names = self.names
        if names is not None:
            if len(args) >= len(names):
                frame = dict(zip(names, args, strict=False))
            else:
                frame = dict(zip(names, args + [UNDEFINED] * (len(names) - len(args)), strict=True))
        else:
            frame = {}
            for i, pattern in enumerate(self.params):
                bind(rt, frame, pattern, args[i] if i < len(args) else UNDEFINED)
            if self.rest is not None:
                frame[self.rest] = list(args[len(self.params) :])
        saved = rt.scope
        rt.scope = Scope(frame, self.closure)
        rt.depth += 1
        try:
            return self.body(rt)
        finally:
            rt.scope = saved
            rt.depth -= 1


def bind(rt: Runtime, frame: dict[str, Any], pattern: ast.Pattern, value: Any) -> None:
    """Assign ``value`` to a binding pattern (destructuring like JavaScript)."""
    if isinstance(pattern, str):
        frame[pattern] = value
    elif isinstance(pattern, ast.ArrayPattern):
        if value is None or value is UNDEFINED:
            raise JSError(f"{to_string(value)} is not iterable")
        items = iterate(value)
        for i, sub_pattern in enumerate(pattern.elements):
            if sub_pattern is not None:
                bind(rt, frame, sub_pattern, items[i] if i < len(items) else UNDEFINED)
    else:
        for key, sub_pattern in pattern.props:
            check_property(key)
            bind(rt, frame, sub_pattern, get_property(rt, value, key))


def iterate(value: Any) -> list[Any]:
    """The elements a spread or array destructuring sees."""
    if type(value) is list:
        return value
    if type(value) is str:
        return list(value)
    if isinstance(value, JSSet):
        return value.values()
    raise JSError(f"{typeof(value)} is not iterable")
