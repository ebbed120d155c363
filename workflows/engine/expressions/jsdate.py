"""JavaScript's ``Date`` (read-only: getters and formatting, no setters)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions.errors import JSError
from workflows.engine.expressions.properties import NativeFunction, arg
from workflows.engine.expressions.timeutil import (
    default_zone,
    format_datetime,
    from_millis,
    iso,
    millis,
    parse_date_string,
)
from workflows.engine.expressions.values import NAN, HostObject, to_number, to_string

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime


class JSDate(HostObject):
    """JavaScript's ``Date`` (read-only: no setters). ``ms`` is NaN for an invalid date."""

    __slots__ = ("ms",)
    type_name = "Date"
    clean = True

    def __init__(self, ms: float) -> None:
        self.ms = ms

    def local(self, rt: Runtime) -> datetime:
        if self.ms != self.ms:
            raise JSError("Invalid time value", "RangeError")
        return from_millis(self.ms, default_zone(rt))

    def utc(self) -> datetime:
        if self.ms != self.ms:
            raise JSError("Invalid time value", "RangeError")
        return from_millis(self.ms, UTC)

    def js_call(self, rt: Runtime, key: str, args: list[Any]) -> Any:
        fn = _DATE_METHODS.get(key)
        if fn is None:
            raise JSError(f"Date.{key} is not a function")
        if self.ms != self.ms and key not in ("getTime", "valueOf", "toISOString", "toJSON", "toString"):
            return NAN if key.startswith("get") else "Invalid Date"
        return fn(rt, self)

    def js_to_string(self) -> str:
        if self.ms != self.ms:
            return "Invalid Date"
        dt = self.utc()
        return dt.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")

    def js_to_primitive(self, hint: str) -> Any:
        # Dates are the one type whose default hint is "string".
        return self.ms if hint == "number" else self.js_to_string()

    def to_python(self) -> Any:
        return iso(self.utc()) if self.ms == self.ms else None


def _iso_utc(rt: Runtime, date: JSDate) -> Any:
    return iso(date.utc())


_DATE_METHODS: dict[str, Callable[[Runtime, JSDate], Any]] = {
    "getTime": lambda rt, d: d.ms if d.ms != d.ms else int(d.ms),
    "valueOf": lambda rt, d: d.ms if d.ms != d.ms else int(d.ms),
    "toISOString": _iso_utc,
    "toJSON": lambda rt, d: iso(d.utc()) if d.ms == d.ms else None,
    "toString": lambda rt, d: d.js_to_string(),
    "toUTCString": lambda rt, d: d.utc().strftime("%a, %d %b %Y %H:%M:%S GMT"),
    "toDateString": lambda rt, d: d.local(rt).strftime("%a %b %d %Y"),
    "toLocaleDateString": lambda rt, d: format_datetime(d.local(rt), "D"),
    "toLocaleTimeString": lambda rt, d: format_datetime(d.local(rt), "h:mm:ss a"),
    "toLocaleString": lambda rt, d: format_datetime(d.local(rt), "D, h:mm:ss a"),
    "getFullYear": lambda rt, d: d.local(rt).year,
    "getMonth": lambda rt, d: d.local(rt).month - 1,
    "getDate": lambda rt, d: d.local(rt).day,
    "getDay": lambda rt, d: d.local(rt).isoweekday() % 7,
    "getHours": lambda rt, d: d.local(rt).hour,
    "getMinutes": lambda rt, d: d.local(rt).minute,
    "getSeconds": lambda rt, d: d.local(rt).second,
    "getMilliseconds": lambda rt, d: d.local(rt).microsecond // 1000,
    "getUTCFullYear": lambda rt, d: d.utc().year,
    "getUTCMonth": lambda rt, d: d.utc().month - 1,
    "getUTCDate": lambda rt, d: d.utc().day,
    "getUTCDay": lambda rt, d: d.utc().isoweekday() % 7,
    "getUTCHours": lambda rt, d: d.utc().hour,
    "getUTCMinutes": lambda rt, d: d.utc().minute,
    "getUTCSeconds": lambda rt, d: d.utc().second,
    "getUTCMilliseconds": lambda rt, d: d.utc().microsecond // 1000,
    "getTimezoneOffset": lambda rt, d: -int((d.local(rt).utcoffset() or timedelta(0)).total_seconds() // 60),
}


def _date_from_parts(rt: Runtime, args: list[Any], tz: tzinfo) -> float:
    """``new Date(y, m, d, h, mi, s, ms)`` (month 0-based; overflowing fields roll over)."""
    numbers = [to_number(a) for a in args[:7]]
    if any(n != n or n in (math.inf, -math.inf) for n in numbers):
        return NAN
    values = [int(n) for n in numbers] + [0, 1, 0, 0, 0, 0][len(numbers) - 1 :]
    year, month, day, hour, minute, second, ms = values[:7]
    if 0 <= year <= 99:
        year += 1900
    try:
        base = datetime(year + month // 12, month % 12 + 1, 1)
        wall = base + timedelta(days=day - 1, hours=hour, minutes=minute, seconds=second, milliseconds=ms)
        return float(millis(wall.replace(tzinfo=tz)))
    except (ValueError, OverflowError):
        return NAN


def _construct_date(rt: Runtime, args: list[Any]) -> Any:
    if not args:
        return JSDate(float(int(time.time() * 1000)))
    if len(args) == 1:
        value = args[0]
        if isinstance(value, JSDate):
            return JSDate(value.ms)
        if type(value) is str:
            return JSDate(parse_date_string(value, default_zone(rt)))
        ms = to_number(value)  # a Luxon DateTime gives its epoch milliseconds
        return JSDate(float(int(ms)) if ms == ms and abs(ms) <= 8.64e15 else NAN)
    return JSDate(_date_from_parts(rt, args, default_zone(rt)))


def _date_utc(rt: Runtime, args: list[Any]) -> Any:
    ms = _date_from_parts(rt, args or [NAN], UTC)
    return ms if ms != ms else int(ms)


def _date_parse(rt: Runtime, args: list[Any]) -> Any:
    ms = parse_date_string(to_string(arg(args, 0)), default_zone(rt))
    return ms if ms != ms else int(ms)


DATE = NativeFunction(
    "Date",
    lambda rt, args: JSDate(float(int(time.time() * 1000))).js_to_string(),
    props={
        "now": NativeFunction("now", lambda rt, args: int(time.time() * 1000)),
        "parse": NativeFunction("parse", _date_parse),
        "UTC": NativeFunction("UTC", _date_utc),
    },
    construct=_construct_date,
    instance_check=lambda v: isinstance(v, JSDate),
)
