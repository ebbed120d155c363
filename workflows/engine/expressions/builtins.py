"""Global builtins: ``Math``, ``JSON``, ``Number``, ``String``, ``Object``, ``Array``, ``Date`` ...

n8n's sandbox maps ``isNaN``/``isFinite`` to ``Number.isNaN``/``Number.isFinite`` (no coercion);
so do we. The n8n helpers ``$if``, ``$ifEmpty``, ``$max`` and ``$min`` live here too.
"""

from __future__ import annotations

import math
import random
import re
import urllib.parse
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions import arrays as _arrays  # noqa: F401 - registers array methods
from workflows.engine.expressions import objects as _objects  # noqa: F401 - registers object/number methods
from workflows.engine.expressions import strings as _strings  # noqa: F401 - registers string methods
from workflows.engine.expressions.dates import DATETIME, DateTime
from workflows.engine.expressions.errors import JSError
from workflows.engine.expressions.jsdate import DATE, JSDate
from workflows.engine.expressions.jsonfns import json_parse, json_stringify
from workflows.engine.expressions.jsset import JSSet
from workflows.engine.expressions.objects import js_round
from workflows.engine.expressions.properties import Namespace, NativeFunction, arg, callback, get_property
from workflows.engine.expressions.regex import JSRegExp, regex_from_value
from workflows.engine.expressions.values import (
    INF,
    MAX_SAFE,
    NAN,
    UNDEFINED,
    HostObject,
    JSFunction,
    check_length,
    check_string,
    js_trim,
    norm,
    power,
    to_float,
    to_integer,
    to_number,
    to_string,
    truthy,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from workflows.engine.expressions.runtime import Runtime


def _nums(args: list[Any]) -> list[float]:
    return [to_float(to_number(a)) for a in args]


def _math1(fn: Callable[[float], float], name: str) -> NativeFunction:
    def call(rt: Runtime, args: list[Any]) -> Any:
        x = to_float(to_number(arg(args, 0)))
        try:
            return norm(fn(x))
        except (ValueError, OverflowError):
            return NAN if x != x or name in ("sqrt", "log", "log10", "log2", "asin", "acos") else INF

    return NativeFunction(name, call)


def _log(base: float | None) -> Callable[[float], float]:
    def fn(x: float) -> float:
        if x == 0:
            return -INF
        if x < 0 or x != x:
            return NAN
        if x == INF:
            return INF
        return math.log(x) if base is None else math.log(x, base) if base != 10 else math.log10(x)

    return fn


def _max(rt: Runtime, args: list[Any]) -> Any:
    values = _nums(args)
    if any(v != v for v in values):
        return NAN
    return norm(max(values)) if values else -INF


def _min(rt: Runtime, args: list[Any]) -> Any:
    values = _nums(args)
    if any(v != v for v in values):
        return NAN
    return norm(min(values)) if values else INF


def _round(rt: Runtime, args: list[Any]) -> Any:
    x = to_number(arg(args, 0))
    return js_round(x) if type(x) is int else norm(float(js_round(x)))


def _trunc(x: float) -> float:
    return x if x != x or x in (INF, -INF) else float(math.trunc(x))


def _sign(x: float) -> float:
    return x if x != x or x == 0 else (1.0 if x > 0 else -1.0)


def _cbrt(x: float) -> float:
    return math.copysign(abs(x) ** (1 / 3), x) if x == x and x not in (INF, -INF) else x


MATH = Namespace(
    "Math",
    {
        "PI": math.pi,
        "E": math.e,
        "LN2": math.log(2),
        "LN10": math.log(10),
        "LOG2E": 1 / math.log(2),
        "LOG10E": 1 / math.log(10),
        "SQRT2": math.sqrt(2),
        "SQRT1_2": math.sqrt(0.5),
        "abs": _math1(abs, "abs"),
        "ceil": _math1(lambda x: x if x != x or x in (INF, -INF) else float(math.ceil(x)), "ceil"),
        "floor": _math1(lambda x: x if x != x or x in (INF, -INF) else float(math.floor(x)), "floor"),
        "round": NativeFunction("round", _round),
        "trunc": _math1(_trunc, "trunc"),
        "sign": _math1(_sign, "sign"),
        "sqrt": _math1(lambda x: math.sqrt(x) if x >= 0 else NAN, "sqrt"),
        "cbrt": _math1(_cbrt, "cbrt"),
        "exp": _math1(math.exp, "exp"),
        "log": _math1(_log(None), "log"),
        "log10": _math1(_log(10), "log10"),
        "log2": _math1(_log(2), "log2"),
        "sin": _math1(math.sin, "sin"),
        "cos": _math1(math.cos, "cos"),
        "tan": _math1(math.tan, "tan"),
        "asin": _math1(math.asin, "asin"),
        "acos": _math1(math.acos, "acos"),
        "atan": _math1(math.atan, "atan"),
        "atan2": NativeFunction("atan2", lambda rt, args: norm(math.atan2(*[*_nums(args), NAN, NAN][:2]))),
        "hypot": NativeFunction("hypot", lambda rt, args: norm(math.hypot(*_nums(args)))),
        "pow": NativeFunction("pow", lambda rt, args: power(arg(args, 0), arg(args, 1))),
        "max": NativeFunction("max", _max),
        "min": NativeFunction("min", _min),
        "random": NativeFunction("random", lambda rt, args: random.random()),
    },
)

JSON_NAMESPACE = Namespace(
    "JSON",
    {
        "stringify": NativeFunction(
            "stringify", lambda rt, args: json_stringify(rt, arg(args, 0), arg(args, 1), arg(args, 2))
        ),
        "parse": NativeFunction("parse", lambda rt, args: json_parse(rt, arg(args, 0), arg(args, 1))),
    },
)


# -- numbers ---------------------------------------------------------------------------------
_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def parse_float(rt: Runtime, args: list[Any]) -> Any:
    text = js_trim(to_string(arg(args, 0)))[:1000]
    match = _FLOAT_PREFIX.match(text)
    if not match:
        return NAN
    token = match.group(0)
    if token.endswith("Infinity"):
        return -INF if token.startswith("-") else INF
    return norm(float(token))


def parse_int(rt: Runtime, args: list[Any]) -> Any:
    text = js_trim(to_string(arg(args, 0)))[:1000]
    radix = 0 if arg(args, 1) is UNDEFINED else to_integer(args[1])
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if radix == 0:
        radix = 10
        if text[:2].lower() == "0x":
            radix, text = 16, text[2:]
    elif radix == 16 and text[:2].lower() == "0x":
        text = text[2:]
    if not 2 <= radix <= 36:
        return NAN
    valid = _DIGITS[:radix]
    end = 0
    while end < len(text) and text[end].lower() in valid:
        end += 1
    if end == 0:
        return NAN
    value = sign * int(text[:end], radix)
    return value if -MAX_SAFE <= value <= MAX_SAFE else to_float(value)


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)


def _is_integer(v: Any) -> bool:
    return type(v) is int or (type(v) is float and v == v and v not in (INF, -INF) and v.is_integer())


NUMBER = NativeFunction(
    "Number",
    lambda rt, args: to_number(args[0]) if args else 0,
    props={
        "isInteger": NativeFunction("isInteger", lambda rt, args: _is_integer(arg(args, 0))),
        "isSafeInteger": NativeFunction(
            "isSafeInteger", lambda rt, args: _is_integer(arg(args, 0)) and abs(arg(args, 0)) <= MAX_SAFE - 1
        ),
        "isFinite": NativeFunction(
            "isFinite", lambda rt, args: _is_number(arg(args, 0)) and arg(args, 0) not in (INF, -INF, NAN)
        ),
        "isNaN": NativeFunction("isNaN", lambda rt, args: type(arg(args, 0)) is float and arg(args, 0) != arg(args, 0)),
        "parseFloat": NativeFunction("parseFloat", parse_float),
        "parseInt": NativeFunction("parseInt", parse_int),
        "MAX_SAFE_INTEGER": MAX_SAFE - 1,
        "MIN_SAFE_INTEGER": -(MAX_SAFE - 1),
        "MAX_VALUE": 1.7976931348623157e308,
        "MIN_VALUE": 5e-324,
        "EPSILON": 2.220446049250313e-16,
        "POSITIVE_INFINITY": INF,
        "NEGATIVE_INFINITY": -INF,
        "NaN": NAN,
    },
    construct=lambda rt, args: to_number(args[0]) if args else 0,
    instance_check=lambda v: False,
)


# -- strings -----------------------------------------------------------------------------------
def _from_char_code(rt: Runtime, args: list[Any]) -> Any:
    check_length(rt, len(args))
    return "".join(chr(to_integer(a) & 0xFFFF) for a in args)


def _string(rt: Runtime, args: list[Any]) -> Any:
    return to_string(args[0]) if args else ""


STRING = NativeFunction(
    "String",
    _string,
    props={
        "fromCharCode": NativeFunction("fromCharCode", _from_char_code),
        "fromCodePoint": NativeFunction(
            "fromCodePoint", lambda rt, args: "".join(chr(min(max(to_integer(a), 0), 0x10FFFF)) for a in args)
        ),
    },
    construct=_string,
    instance_check=lambda v: False,
)
BOOLEAN = NativeFunction(
    "Boolean",
    lambda rt, args: truthy(arg(args, 0)),
    construct=lambda rt, args: truthy(arg(args, 0)),
    instance_check=lambda v: False,
)


# -- arrays ------------------------------------------------------------------------------------
def _array_from(rt: Runtime, args: list[Any]) -> Any:
    source = arg(args, 0)
    mapper = callback(args, 1, "Array.from") if len(args) > 1 and args[1] is not UNDEFINED else None
    if type(source) is list or type(source) is str:
        items = list(source)
    elif isinstance(source, JSSet):
        items = source.values()
    elif type(source) is dict:
        length = to_number(source.get("length", 0))
        count = 0 if length != length else to_integer(length)
        if count < 0:
            count = 0
        check_length(rt, count)
        items = [source.get(str(i), UNDEFINED) for i in range(count)] if len(source) > 1 else [UNDEFINED] * count
    elif source is None or source is UNDEFINED:
        raise JSError(f"{to_string(source)} is not iterable")
    else:
        items = []
    if mapper is None:
        return items
    call = mapper.call
    return [call(rt, [x, i]) for i, x in enumerate(items)]


def _new_array(rt: Runtime, args: list[Any]) -> Any:
    if len(args) == 1 and type(args[0]) in (int, float):
        n = args[0]
        if n != n or n < 0 or not float(n).is_integer() or n >= 2**32:
            raise JSError("Invalid array length", "RangeError")
        check_length(rt, int(n))
        return [UNDEFINED] * int(n)
    return list(args)


ARRAY = NativeFunction(
    "Array",
    _new_array,
    props={
        "isArray": NativeFunction("isArray", lambda rt, args: type(arg(args, 0)) is list),
        "from": NativeFunction("from", _array_from),
        "of": NativeFunction("of", lambda rt, args: list(args)),
    },
    construct=_new_array,
    instance_check=lambda v: type(v) is list,
)


# -- objects ---------------------------------------------------------------------------------
def object_keys(value: Any) -> list[str]:
    t = type(value)
    if t is dict:
        return list(value)
    if t is list or t is str:
        return [str(i) for i in range(len(value))]
    if isinstance(value, HostObject) and not isinstance(value, JSFunction):
        return value.js_keys()
    if value is None or value is UNDEFINED:
        raise JSError("Cannot convert undefined or null to object")
    return []


def _values(rt: Runtime, args: list[Any]) -> Any:
    value = arg(args, 0)
    return [get_property(rt, value, k) for k in object_keys(value)]


def _entries(rt: Runtime, args: list[Any]) -> Any:
    value = arg(args, 0)
    keys = object_keys(value)
    check_length(rt, 2 * len(keys))
    return [[k, get_property(rt, value, k)] for k in keys]


def _assign(rt: Runtime, args: list[Any]) -> Any:
    # Returns a new object instead of writing into the target: node data stays read-only.
    target = arg(args, 0)
    if target is None or target is UNDEFINED:
        raise JSError("Cannot convert undefined or null to object")
    out: dict[str, Any] = dict(target) if type(target) is dict else {}
    for source in args[1:]:
        if source is None or source is UNDEFINED:
            continue
        for key in object_keys(source):
            out[key] = get_property(rt, source, key)
    return out


def _from_entries(rt: Runtime, args: list[Any]) -> Any:
    entries = arg(args, 0)
    if type(entries) is not list:
        raise JSError("Object.fromEntries requires an array of [key, value] pairs")
    out: dict[str, Any] = {}
    for entry in entries:
        if type(entry) is not list:
            raise JSError("Iterator value is not an entry object")
        out[to_string(entry[0] if entry else UNDEFINED)] = entry[1] if len(entry) > 1 else UNDEFINED
    return out


OBJECT = NativeFunction(
    "Object",
    lambda rt, args: args[0] if args and args[0] is not None and args[0] is not UNDEFINED else {},
    props={
        "keys": NativeFunction("keys", lambda rt, args: object_keys(arg(args, 0))),
        "values": NativeFunction("values", _values),
        "entries": NativeFunction("entries", _entries),
        "assign": NativeFunction("assign", _assign),
        "fromEntries": NativeFunction("fromEntries", _from_entries),
        "hasOwn": NativeFunction("hasOwn", lambda rt, args: to_string(arg(args, 1)) in object_keys(arg(args, 0))),
        "freeze": NativeFunction("freeze", lambda rt, args: arg(args, 0)),
        "isFrozen": NativeFunction("isFrozen", lambda rt, args: True),
    },
    construct=lambda rt, args: args[0] if args and type(args[0]) in (dict, list) else {},
    instance_check=lambda v: type(v) in (dict, list) or isinstance(v, HostObject),
)


def _new_set(rt: Runtime, args: list[Any]) -> Any:
    source = arg(args, 0)
    if source is None or source is UNDEFINED:
        return JSSet(rt, [])
    if type(source) is list or type(source) is str:
        return JSSet(rt, list(source))
    if isinstance(source, JSSet):
        return JSSet(rt, source.values())
    raise JSError(f"{to_string(source)} is not iterable")


def _set_called(rt: Runtime, args: list[Any]) -> Any:
    raise JSError("Constructor Set requires 'new'")


SET = NativeFunction("Set", _set_called, construct=_new_set, instance_check=lambda v: isinstance(v, JSSet))

REGEXP = NativeFunction(
    "RegExp",
    lambda rt, args: regex_from_value(arg(args, 0), arg(args, 1)),
    construct=lambda rt, args: regex_from_value(arg(args, 0), arg(args, 1)),
    instance_check=lambda v: isinstance(v, JSRegExp),
)


# -- URI functions -----------------------------------------------------------------------------
def _uri(safe: str, decode: bool) -> Callable[[Runtime, list[Any]], Any]:
    def call(rt: Runtime, args: list[Any]) -> Any:
        text = to_string(arg(args, 0))
        if decode:
            try:
                return urllib.parse.unquote(text, errors="strict")
            except UnicodeDecodeError:
                raise JSError("URI malformed", "URIError") from None
        return check_string(rt, urllib.parse.quote(text, safe=safe))

    return call


# -- n8n helpers -------------------------------------------------------------------------------
def _is_empty_value(value: Any) -> bool:
    if value is None or value is UNDEFINED or value == "":
        return True
    if type(value) in (list, dict):
        return len(value) == 0
    return False


def _if(rt: Runtime, args: list[Any]) -> Any:
    return arg(args, 1) if truthy(arg(args, 0)) else arg(args, 2) if len(args) > 2 else False


def _if_empty(rt: Runtime, args: list[Any]) -> Any:
    return arg(args, 1) if _is_empty_value(arg(args, 0)) else arg(args, 0)


GLOBAL_VALUES: dict[str, Any] = {
    "Math": MATH,
    "JSON": JSON_NAMESPACE,
    "Number": NUMBER,
    "String": STRING,
    "Boolean": BOOLEAN,
    "Array": ARRAY,
    "Object": OBJECT,
    "RegExp": REGEXP,
    "Set": SET,
    "Date": DATE,
    "DateTime": DATETIME,
    "NaN": NAN,
    "Infinity": INF,
    "parseInt": NativeFunction("parseInt", parse_int),
    "parseFloat": NativeFunction("parseFloat", parse_float),
    "isNaN": NUMBER.props["isNaN"],
    "isFinite": NUMBER.props["isFinite"],
    "encodeURIComponent": NativeFunction("encodeURIComponent", _uri("-_.!~*'()", False)),
    "encodeURI": NativeFunction("encodeURI", _uri("-_.!~*'();/?:@&=+$,#", False)),
    "decodeURIComponent": NativeFunction("decodeURIComponent", _uri("", True)),
    "decodeURI": NativeFunction("decodeURI", _uri("", True)),
    "$if": NativeFunction("$if", _if),
    "$ifEmpty": NativeFunction("$ifEmpty", _if_empty),
    "$max": NativeFunction("$max", _max),
    "$min": NativeFunction("$min", _min),
}

__all__ = ["GLOBAL_VALUES", "DateTime", "JSDate"]
