"""Closures for binary operators, with fast paths for the common int and string cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflows.engine.expressions.errors import JSError
from workflows.engine.expressions.properties import NativeFunction
from workflows.engine.expressions.runtime import Runtime
from workflows.engine.expressions.values import (
    add,
    check_string,
    div,
    has_property,
    less_equal,
    less_than,
    loose_equal,
    mod,
    mul,
    norm_int,
    power,
    strict_equal,
    sub,
    to_int32,
    to_uint32,
)

Fn = Callable[[Runtime], Any]


def plus(left: Fn, right: Fn) -> Fn:
    def f(rt: Runtime) -> Any:
        a = left(rt)
        b = right(rt)
        ta = type(a)
        if ta is type(b):
            if ta is int:
                return norm_int(a + b)
            if ta is str:
                s = a + b
                return s if len(s) <= 4096 else check_string(rt, s)
        return add(rt, a, b)

    return f


NUMERIC: dict[str, Callable[[Any, Any], Any]] = {"-": sub, "*": mul, "/": div, "%": mod, "**": power}


def numeric(left: Fn, right: Fn, op: str) -> Fn:
    slow = NUMERIC[op]
    if op == "-":

        def minus(rt: Runtime) -> Any:
            a = left(rt)
            b = right(rt)
            if type(a) is int and type(b) is int:
                return norm_int(a - b)
            return sub(a, b)

        return minus
    if op == "*":

        def times(rt: Runtime) -> Any:
            a = left(rt)
            b = right(rt)
            if type(a) is int and type(b) is int:
                return norm_int(a * b)
            return mul(a, b)

        return times

    def other(rt: Runtime) -> Any:
        a = left(rt)
        return slow(a, right(rt))

    return other


RELATIONAL = ("<", ">", "<=", ">=", "===", "!==", "==", "!=")


def relational(left: Fn, right: Fn, op: str) -> Fn:
    if op == "<":

        def lt(rt: Runtime) -> Any:
            a = left(rt)
            b = right(rt)
            if type(a) is int and type(b) is int:
                return a < b
            return less_than(a, b)

        return lt
    if op == ">":

        def gt(rt: Runtime) -> Any:
            a = left(rt)
            b = right(rt)
            if type(a) is int and type(b) is int:
                return a > b
            return less_than(b, a)

        return gt
    if op == "<=":
        return lambda rt: less_equal(left(rt), right(rt))
    if op == ">=":

        def ge(rt: Runtime) -> Any:
            a = left(rt)
            return less_equal(right(rt), a)

        return ge
    if op == "===":
        return lambda rt: strict_equal(left(rt), right(rt))
    if op == "!==":
        return lambda rt: not strict_equal(left(rt), right(rt))
    if op == "==":
        return lambda rt: loose_equal(left(rt), right(rt))
    return lambda rt: not loose_equal(left(rt), right(rt))


def _instanceof(value: Any, ctor: Any) -> bool:
    if not isinstance(ctor, NativeFunction) or ctor.instance_check is None:
        raise JSError("Right-hand side of 'instanceof' is not callable")
    return ctor.instance_check(value)


OTHER_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "in": lambda a, b: has_property(b, a),
    "instanceof": _instanceof,
    "&": lambda a, b: to_int32(a) & to_int32(b),
    "|": lambda a, b: to_int32(a) | to_int32(b),
    "^": lambda a, b: to_int32(a) ^ to_int32(b),
    "<<": lambda a, b: to_int32(to_int32(a) << (to_uint32(b) & 31)),
    ">>": lambda a, b: to_int32(a) >> (to_uint32(b) & 31),
    ">>>": lambda a, b: to_uint32(a) >> (to_uint32(b) & 31),
}
