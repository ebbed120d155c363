"""JavaScript's ``Set``, for the common de-duplication idiom ``[...new Set(values)]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflows.engine.expressions.errors import JSError
from workflows.engine.expressions.properties import arg, callback
from workflows.engine.expressions.values import UNDEFINED, HostObject, check_length

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime


def _key(value: Any) -> tuple[Any, ...]:
    """SameValueZero as a dict key: 1 and 1.0 are one value, 1 and "1" and true are not."""
    t = type(value)
    if t is bool:
        return ("b", value)
    if t is int or t is float:
        return ("nan",) if value != value else ("n", value)
    if t is str:
        return ("s", value)
    if value is None:
        return ("null",)
    if value is UNDEFINED:
        return ("undefined",)
    return ("o", id(value))


class JSSet(HostObject):
    """A Set built by the expression itself (so ``add``/``delete`` change nothing outside it)."""

    __slots__ = ("entries",)
    type_name = "Set"

    def __init__(self, rt: Runtime, values: list[Any]) -> None:
        check_length(rt, len(values))
        self.entries: dict[tuple[Any, ...], Any] = {}
        for value in values:
            self.entries.setdefault(_key(value), value)

    def values(self) -> list[Any]:
        return list(self.entries.values())

    def js_get(self, rt: Runtime, key: str) -> Any:
        if key == "size":
            return len(self.entries)
        return UNDEFINED

    def js_call(self, rt: Runtime, key: str, args: list[Any]) -> Any:
        rt.charge(1 + (len(self.entries) >> 6))
        if key == "has":
            return _key(arg(args, 0)) in self.entries
        if key == "add":
            check_length(rt, len(self.entries) + 1)
            self.entries.setdefault(_key(arg(args, 0)), arg(args, 0))
            return self
        if key == "delete":
            return self.entries.pop(_key(arg(args, 0)), UNDEFINED) is not UNDEFINED
        if key in ("values", "keys"):
            return self.values()
        if key == "entries":
            return [[v, v] for v in self.entries.values()]
        if key == "forEach":
            call = callback(args, 0, "forEach").call
            for value in self.values():
                call(rt, [value, value, self])
            return UNDEFINED
        raise JSError(f"Set.{key} is not a function")

    def js_to_string(self) -> str:
        return "[object Set]"

    def to_python(self) -> Any:
        return {}  # JSON.stringify(new Set()) is "{}"
