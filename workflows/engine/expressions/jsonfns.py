"""``JSON.stringify`` and ``JSON.parse`` with JavaScript's output (number format, undefined handling)."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions import limits
from workflows.engine.expressions.errors import Abort, JSError
from workflows.engine.expressions.values import (
    INF,
    UNDEFINED,
    HostObject,
    JSFunction,
    check_string,
    norm,
    norm_int,
    number_to_string,
    to_integer,
    to_string,
)

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime

MAX_JSON_DEPTH = 512


def json_stringify(rt: Runtime, value: Any, replacer: Any = UNDEFINED, space: Any = UNDEFINED) -> Any:
    """``JSON.stringify(value, replacer, space)``; ``undefined`` for unserialisable top values."""
    indent = ""
    if type(space) in (int, float) and space == space:
        indent = " " * max(0, min(10, to_integer(space)))
    elif type(space) is str:
        indent = space[:10]
    allowed: set[str] | None = None
    fn: JSFunction | None = None
    if isinstance(replacer, JSFunction):
        fn = replacer
    elif type(replacer) is list:
        allowed = {to_string(k) for k in replacer if type(k) in (str, int, float)}
    writer = _Writer(rt, indent, allowed, fn)
    if fn is not None:
        value = fn.call(rt, ["", value])
    parts: list[str] = []
    if not writer.write(value, parts, "", 0):
        return UNDEFINED
    return check_string(rt, "".join(parts))


class _Writer:
    def __init__(self, rt: Runtime, indent: str, allowed: set[str] | None, replacer: JSFunction | None) -> None:
        self.rt = rt
        self.indent = indent
        self.allowed = allowed
        self.replacer = replacer
        self.size = 0

    def write(self, v: Any, out: list[str], current: str, depth: int) -> bool:
        """Append ``v``'s JSON to ``out``; False when ``v`` is not serialisable (undefined, function)."""
        t = type(v)
        if t is str:
            out.append(encode_basestring(v))
            self.size += len(v)
            if self.size > limits.MAX_STRING:
                raise Abort(f"a string would exceed the limit of {limits.MAX_STRING:,} characters")
        elif t is bool:
            out.append("true" if v else "false")
        elif t is int or t is float:
            out.append(number_to_string(v) if v == v and v not in (INF, -INF) else "null")
        elif v is None:
            out.append("null")
        elif t is list:
            self.container(v, out, current, depth, is_list=True)
        elif t is dict:
            self.container(v, out, current, depth, is_list=False)
        elif isinstance(v, JSFunction) or v is UNDEFINED:
            return False
        elif isinstance(v, HostObject):
            return self.write(_host_json(v), out, current, depth)
        else:
            return False
        return True

    def container(self, v: Any, out: list[str], current: str, depth: int, is_list: bool) -> None:
        if depth >= MAX_JSON_DEPTH:
            raise Abort(f"JSON.stringify: value nested more than {MAX_JSON_DEPTH} levels")
        self.rt.charge(1 + (len(v) >> 4))
        inner = current + self.indent
        entries: list[str] = []
        if is_list:
            for i, item in enumerate(v):
                if self.replacer is not None:
                    item = self.replacer.call(self.rt, [str(i), item])
                piece: list[str] = []
                entries.append("".join(piece) if self.write(item, piece, inner, depth + 1) else "null")
        else:
            colon = ": " if self.indent else ":"
            for key, item in v.items():
                key = key if type(key) is str else to_string(key)
                if self.allowed is not None and key not in self.allowed:
                    continue
                if self.replacer is not None:
                    item = self.replacer.call(self.rt, [key, item])
                piece = []
                if self.write(item, piece, inner, depth + 1):
                    entries.append(encode_basestring(key) + colon + "".join(piece))
        open_, close = ("[", "]") if is_list else ("{", "}")
        if not entries:
            out.append(open_ + close)
        elif self.indent:
            out.append(open_ + "\n" + inner + (",\n" + inner).join(entries) + "\n" + current + close)
        else:
            out.append(open_ + ",".join(entries) + close)


def _host_json(v: HostObject) -> Any:
    """What a host object serialises as (``toJSON``)."""
    try:
        return v.to_python()
    except Abort:
        return {}


def json_parse(rt: Runtime, text: Any, reviver: Any = UNDEFINED) -> Any:
    source = to_string(text)
    rt.charge(len(source) >> 6)
    try:
        value = json.loads(source, parse_float=_parse_float, parse_int=_parse_int, parse_constant=_reject)
    except (ValueError, RecursionError) as exc:
        raise JSError(f"Unexpected token in JSON: {exc}", "SyntaxError") from None
    if isinstance(reviver, JSFunction):
        value = _revive(rt, reviver, {"": value}, "")
    return value


def _parse_float(text: str) -> Any:
    return norm(float(text))


def _parse_int(text: str) -> Any:
    return norm_int(int(text))


def _reject(text: str) -> Any:
    raise ValueError(f"{text} is not valid JSON")


def _revive(rt: Runtime, reviver: JSFunction, holder: Any, key: str) -> Any:
    value = holder[key] if type(holder) is dict else holder[int(key)]
    if type(value) is dict:
        for k in list(value):
            new = _revive(rt, reviver, value, k)
            if new is UNDEFINED:
                del value[k]
            else:
                value[k] = new
    elif type(value) is list:
        for i in range(len(value)):
            value[i] = _revive(rt, reviver, value, str(i))
    return reviver.call(rt, [key, value])
