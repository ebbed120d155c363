"""Methods of plain objects, numbers and booleans (JavaScript's plus n8n's extensions)."""

from __future__ import annotations

import math
import urllib.parse
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions.dates import DateTime
from workflows.engine.expressions.errors import JSError
from workflows.engine.expressions.jsonfns import json_stringify
from workflows.engine.expressions.properties import BOOLEAN_METHODS, NUMBER_METHODS, OBJECT_METHODS, arg, method
from workflows.engine.expressions.timeutil import default_zone
from workflows.engine.expressions.values import (
    INF,
    UNDEFINED,
    norm,
    number_to_string,
    to_integer,
    to_string,
)

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime

OBJ = OBJECT_METHODS
N = NUMBER_METHODS
B = BOOLEAN_METHODS


# -- objects ---------------------------------------------------------------------------------
@method(OBJ, "hasOwnProperty")
def _has_own(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return to_string(arg(args, 0)) in obj


@method(OBJ, "toString")
def _object_to_string(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return "[object Object]"


@method(OBJ, "valueOf")
def _object_value_of(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return obj


@method(OBJ, "isEmpty")
def _object_is_empty(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return not obj


@method(OBJ, "isNotEmpty")
def _object_is_not_empty(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return bool(obj)


@method(OBJ, "hasField")
def _has_field(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return to_string(arg(args, 0)) in obj


@method(OBJ, "removeField")
def _remove_field(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    key = to_string(arg(args, 0))
    return {k: v for k, v in obj.items() if k != key}


@method(OBJ, "removeFieldsContaining")
def _remove_containing(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    text = to_string(arg(args, 0))
    return {k: v for k, v in obj.items() if not (type(v) is str and text in v)}


@method(OBJ, "keepFieldsContaining")
def _keep_containing(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    text = to_string(arg(args, 0))
    return {k: v for k, v in obj.items() if type(v) is str and text in v}


@method(OBJ, "compact")
def _object_compact(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return {k: v for k, v in obj.items() if v is not None and v is not UNDEFINED and v != "nil" and v != ""}


@method(OBJ, "keys")
def _object_keys(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return list(obj)


@method(OBJ, "values")
def _object_values(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return list(obj.values())


@method(OBJ, "merge")
def _object_merge(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    other = arg(args, 0)
    if type(other) is not dict:
        return dict(obj)
    return {**other, **obj}


@method(OBJ, "toJsonString")
def _object_to_json(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return json_stringify(rt, obj)


@method(OBJ, "urlEncode")
def _object_url_encode(rt: Runtime, obj: dict[str, Any], args: list[Any]) -> Any:
    return urllib.parse.urlencode({k: to_string(v) for k, v in obj.items()})


# -- numbers ---------------------------------------------------------------------------------
def _digits_arg(value: Any, low: int, high: int, name: str) -> int:
    digits = 0 if value is UNDEFINED else to_integer(value)
    if not low <= digits <= high:
        raise JSError(f"{name}() digits argument must be between {low} and {high}", "RangeError")
    return digits


def to_fixed(x: float | int, digits: int) -> str:
    """Number.prototype.toFixed: exact decimal value of the double, rounded half up."""
    if x != x:
        return "NaN"
    if abs(x) >= 1e21 or x in (INF, -INF):
        return number_to_string(x)
    quantum = Decimal(1).scaleb(-digits)
    return format(Decimal(x if x != 0 else 0).quantize(quantum, rounding=ROUND_HALF_UP), "f")


@method(N, "toFixed")
def _to_fixed(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    return to_fixed(x, _digits_arg(arg(args, 0), 0, 100, "toFixed"))


def _significant(x: float | int, precision: int) -> tuple[str, int]:
    """Digits (exactly ``precision`` of them) and decimal exponent of ``x``, rounded half up."""
    d = Decimal(abs(x))
    exponent = d.adjusted()
    scaled = d.scaleb(precision - 1 - exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    digits = str(scaled)
    if len(digits) > precision:  # rounding carried into a new digit
        exponent += 1
        digits = digits[:precision]
    return digits, exponent


@method(N, "toPrecision")
def _to_precision(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    if arg(args, 0) is UNDEFINED:
        return number_to_string(x)
    precision = _digits_arg(args[0], 1, 100, "toPrecision")
    if x != x or x in (INF, -INF):
        return number_to_string(x)
    sign = "-" if x < 0 else ""
    if x == 0:
        return "0" + ("." + "0" * (precision - 1) if precision > 1 else "")
    digits, e = _significant(x, precision)
    if e < -6 or e >= precision:
        mantissa = digits[0] + ("." + digits[1:] if precision > 1 else "")
        return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    if e >= 0:
        head, tail = digits[: e + 1], digits[e + 1 :]
        return sign + head + ("." + tail if tail else "")
    return sign + "0." + "0" * (-e - 1) + digits


@method(N, "toExponential")
def _to_exponential(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    if x != x or x in (INF, -INF):
        return number_to_string(x)
    sign = "-" if x < 0 else ""
    if arg(args, 0) is UNDEFINED:
        text = number_to_string(abs(x))
        digits = text.replace(".", "").lstrip("0") or "0"
        digits = digits.split("e")[0].rstrip("0") or "0"
        precision = len(digits)
    else:
        precision = _digits_arg(args[0], 0, 100, "toExponential") + 1
    if x == 0:
        digits, e = "0" * precision, 0
    else:
        digits, e = _significant(x, precision)
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@method(N, "toString")
def _number_to_string(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    radix = 10 if arg(args, 0) is UNDEFINED else to_integer(args[0])
    if not 2 <= radix <= 36:
        raise JSError("toString() radix must be between 2 and 36", "RangeError")
    if radix == 10 or x != x or x in (INF, -INF):
        return number_to_string(x)
    negative = x < 0
    value = abs(x)
    whole = int(value)
    frac = value - whole
    out = ""
    while True:
        whole, rem = divmod(whole, radix)
        out = _DIGITS[rem] + out
        if whole == 0:
            break
    if frac:
        out += "."
        for _ in range(52):
            frac *= radix
            digit = int(frac)
            out += _DIGITS[digit]
            frac -= digit
            if not frac:
                break
    return ("-" if negative else "") + out


@method(N, "valueOf")
def _number_value_of(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    return x


@method(N, "toLocaleString", "format")
def _to_locale(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    if x != x or x in (INF, -INF):
        return "NaN" if x != x else ("∞" if x > 0 else "-∞")
    text = f"{Decimal(x).quantize(Decimal('0.001'), rounding=ROUND_HALF_UP):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def js_round(x: float | int) -> float | int:
    """Math.round: the closest integer, ties toward +Infinity."""
    if type(x) is int or x != x or x in (INF, -INF):
        return x
    floor = math.floor(x)
    return floor + 1 if x - floor >= 0.5 else floor


@method(N, "round")
def _round(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    # n8n: Math.round(value * 10 ** decimals) / 10 ** decimals
    digits = 0 if arg(args, 0) is UNDEFINED else to_integer(args[0])
    if x != x or x in (INF, -INF):
        return x
    factor = 10.0**digits
    return norm(js_round(x * factor) / factor)


@method(N, "floor")
def _floor(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    return x if type(x) is int or x != x or x in (INF, -INF) else math.floor(x)


@method(N, "ceil")
def _ceil(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    return x if type(x) is int or x != x or x in (INF, -INF) else math.ceil(x)


@method(N, "abs")
def _abs(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    return abs(x)


@method(N, "isEven")
def _is_even(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    if type(x) is not int:
        raise JSError("isEven() is only defined for integers")
    return x % 2 == 0


@method(N, "isOdd")
def _is_odd(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    if type(x) is not int:
        raise JSError("isOdd() is only defined for integers")
    return x % 2 == 1


@method(N, "isInteger")
def _is_integer(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    return type(x) is int or (x == x and x not in (INF, -INF) and float(x).is_integer())


@method(N, "toBoolean")
def _number_to_boolean(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    return x != 0 and x == x


@method(N, "toInt")
def _number_to_int(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    return x if type(x) is int or x != x or x in (INF, -INF) else int(x)


@method(N, "toDateTime")
def _number_to_date_time(rt: Runtime, x: float | int, args: list[Any]) -> Any:
    unit = "ms" if arg(args, 0) is UNDEFINED else to_string(args[0])
    millis = x * 1000 if unit == "s" else x
    if millis != millis or abs(millis) > 8.64e15:
        raise JSError("invalid timestamp", "RangeError")
    return DateTime(datetime.fromtimestamp(millis / 1000, default_zone(rt)))


# -- booleans --------------------------------------------------------------------------------
@method(B, "toString")
def _bool_to_string(rt: Runtime, b: bool, args: list[Any]) -> Any:
    return "true" if b else "false"


@method(B, "valueOf")
def _bool_value_of(rt: Runtime, b: bool, args: list[Any]) -> Any:
    return b


@method(B, "toNumber", "toInt", "toFloat")
def _bool_to_number(rt: Runtime, b: bool, args: list[Any]) -> Any:
    return 1 if b else 0
