"""Property lookup and method calls: the only way an expression reaches into a value.

Lookups go through explicit tables per value type (string, array, object, number, boolean) or a
host object's own ``js_get``; there is no path to Python attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions.errors import Abort, JSError
from workflows.engine.expressions.values import (
    MISSING,
    UNDEFINED,
    HostObject,
    JSFunction,
    check_property,
    describe,
)

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime

Method = Callable[["Runtime", Any, list[Any]], Any]
NativeFn = Callable[["Runtime", list[Any]], Any]

STRING_METHODS: dict[str, Method] = {}
ARRAY_METHODS: dict[str, Method] = {}
OBJECT_METHODS: dict[str, Method] = {}
NUMBER_METHODS: dict[str, Method] = {}
BOOLEAN_METHODS: dict[str, Method] = {}


def method(table: dict[str, Method], *names: str) -> Callable[[Method], Method]:
    """Register a builtin method under one or more names."""

    def register(fn: Method) -> Method:
        for name in names:
            table[name] = fn
        return fn

    return register


class NativeFunction(JSFunction):
    """A builtin function, optionally with properties (``Number.isInteger``) and ``new`` support."""

    __slots__ = ("construct", "fn", "instance_check", "name", "props")

    def __init__(
        self,
        name: str,
        fn: NativeFn,
        props: dict[str, Any] | None = None,
        construct: NativeFn | None = None,
        instance_check: Callable[[Any], bool] | None = None,
    ) -> None:
        self.name = name
        self.fn = fn
        self.props = props or {}
        self.construct = construct
        self.instance_check = instance_check

    def call(self, rt: Runtime, args: list[Any]) -> Any:
        rt.steps += 1
        if rt.steps >= rt.next_check:
            rt.check()
        return self.fn(rt, args)

    def js_get(self, rt: Runtime, key: str) -> Any:
        value = self.props.get(key, MISSING)
        if value is not MISSING:
            return value
        return JSFunction.js_get(self, rt, key)

    def js_has(self, key: str) -> bool:
        return key in self.props

    def js_keys(self) -> list[str]:
        return list(self.props)


class BoundMethod(JSFunction):
    """A method read without calling it (``arr.map(String)``, ``const f = s.trim``)."""

    __slots__ = ("fn", "name", "this")

    def __init__(self, fn: Method, this: Any, name: str) -> None:
        self.fn = fn
        self.this = this
        self.name = name

    def call(self, rt: Runtime, args: list[Any]) -> Any:
        rt.steps += 1
        if rt.steps >= rt.next_check:
            rt.check()
        return self.fn(rt, self.this, args)


class Namespace(HostObject):
    """A plain bag of builtins (``Math``, ``JSON``)."""

    __slots__ = ("name", "props")

    def __init__(self, name: str, props: dict[str, Any]) -> None:
        self.name = name
        self.props = props

    def label(self) -> str:
        return self.name

    def js_get(self, rt: Runtime, key: str) -> Any:
        return self.props.get(key, UNDEFINED)

    def js_has(self, key: str) -> bool:
        return key in self.props

    def js_keys(self) -> list[str]:
        return list(self.props)

    def js_to_string(self) -> str:
        return f"[object {self.name}]"


def _nullish_error(obj: Any, key: str | int) -> JSError:
    which = "null" if obj is None else "undefined"
    return JSError(f"Cannot read properties of {which} (reading '{key}')")


def _index(key: str) -> int:
    """``"3"`` → 3 for canonical array-index strings, else -1."""
    if key.isdigit() and (key == "0" or key[0] != "0") and key.isascii():
        return int(key)
    return -1


def get_property(rt: Runtime, obj: Any, key: str | int) -> Any:
    """``obj[key]`` with JavaScript semantics over our value representation."""
    t = type(obj)
    if t is dict:
        skey = key if type(key) is str else str(key)
        value = obj.get(skey, MISSING)
        if value is not MISSING:
            return value
        check_property(skey)
        fn = OBJECT_METHODS.get(skey)
        return BoundMethod(fn, obj, skey) if fn is not None else UNDEFINED
    if t is list or t is str:
        if type(key) is int:
            return obj[key] if 0 <= key < len(obj) else UNDEFINED
        assert isinstance(key, str)
        if key == "length":
            return len(obj)
        idx = _index(key)
        if idx >= 0:
            return obj[idx] if idx < len(obj) else UNDEFINED
        check_property(key)
        fn = (ARRAY_METHODS if t is list else STRING_METHODS).get(key)
        return BoundMethod(fn, obj, key) if fn is not None else UNDEFINED
    if t is int or t is float or t is bool:
        skey = str(key)
        check_property(skey)
        fn = (BOOLEAN_METHODS if t is bool else NUMBER_METHODS).get(skey)
        return BoundMethod(fn, obj, skey) if fn is not None else UNDEFINED
    if obj is None or obj is UNDEFINED:
        raise _nullish_error(obj, key)
    if isinstance(obj, HostObject):
        skey = str(key)
        check_property(skey)
        return obj.js_get(rt, skey)
    raise Abort("internal error: a value of an unknown type reached an expression")


def call_value(rt: Runtime, fn: Any, args: list[Any], label: str = "expression") -> Any:
    if isinstance(fn, JSFunction):
        rt.dirty = True
        return fn.call(rt, args)
    raise JSError(f"{label} is not a function")


def call_method(rt: Runtime, obj: Any, name: str | int, args: list[Any]) -> Any:
    """``obj.name(...args)``: the method table of the value's type, own function properties first."""
    t = type(obj)
    fn: Method | None
    if t is str:
        fn = STRING_METHODS.get(name)  # type: ignore[arg-type]
    elif t is list:
        fn = ARRAY_METHODS.get(name)  # type: ignore[arg-type]
    elif t is dict:
        own = obj.get(name if type(name) is str else str(name), MISSING)
        if own is not MISSING:
            return call_value(rt, own, args, f"{describe(obj)}.{name}")
        fn = OBJECT_METHODS.get(name)  # type: ignore[arg-type]
    elif t is int or t is float:
        fn = NUMBER_METHODS.get(name)  # type: ignore[arg-type]
    elif t is bool:
        fn = BOOLEAN_METHODS.get(name)  # type: ignore[arg-type]
    elif isinstance(obj, HostObject):
        if not obj.clean:
            rt.dirty = True
        skey = str(name)
        check_property(skey)
        return obj.js_call(rt, skey, args)
    elif obj is None or obj is UNDEFINED:
        raise _nullish_error(obj, name)
    else:
        raise Abort("internal error: a value of an unknown type reached an expression")
    if fn is None:
        value = get_property(rt, obj, name)
        return call_value(rt, value, args, f"{describe(obj)}.{name}")
    rt.dirty = True
    return fn(rt, obj, args)


def arg(args: list[Any], index: int) -> Any:
    return args[index] if index < len(args) else UNDEFINED


def callback(args: list[Any], index: int, label: str) -> JSFunction:
    fn = args[index] if index < len(args) else UNDEFINED
    if not isinstance(fn, JSFunction):
        raise JSError(f"{describe(fn)} is not a function ({label})")
    return fn
