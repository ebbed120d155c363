"""Luxon-like ``DateTime`` (``$now``, ``$today``, ``DateTime.fromISO`` ...) and its ``Duration``.

The zone is the workflow's (``ctx.execution.extra["timezone"]``, an IANA name), else UTC.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions.errors import JSError
from workflows.engine.expressions.jsdate import JSDate
from workflows.engine.expressions.properties import Namespace, NativeFunction, arg
from workflows.engine.expressions.timeutil import (
    MONTHS,
    UNIT_MS,
    UNITS,
    WEEKDAYS,
    add_months,
    default_zone,
    end_of,
    format_datetime,
    from_millis,
    iso,
    millis,
    parse_iso,
    shift,
    start_of,
    unit_name,
    zone,
    zone_name,
)
from workflows.engine.expressions.values import (
    NAN,
    UNDEFINED,
    HostObject,
    to_integer,
    to_number,
    to_string,
    truthy,
)

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime


def _amounts(rt: Runtime, args: list[Any]) -> dict[str, float]:
    first = arg(args, 0)
    if type(first) is dict:
        return {unit_name(k): float(to_number(v)) for k, v in first.items()}
    if isinstance(first, Duration):
        return dict(first.values)
    number = to_number(first)
    if number != number:
        raise JSError("invalid duration", "RangeError")
    unit = "milliseconds" if arg(args, 1) is UNDEFINED else unit_name(args[1])
    return {unit: float(number)}


# -- DateTime ------------------------------------------------------------------------------
class DateTime(HostObject):
    """A Luxon-style immutable date-time in a zone; ``None`` means an invalid DateTime."""

    __slots__ = ("dt",)
    type_name = "DateTime"
    clean = True

    def __init__(self, dt: datetime | None) -> None:
        self.dt = dt

    def js_get(self, rt: Runtime, key: str) -> Any:
        dt = self.dt
        if key == "isValid":
            return dt is not None
        if dt is None:
            return None if key in _DT_PROPS else UNDEFINED
        getter = _DT_PROPS.get(key)
        if getter is not None:
            return getter(dt)
        return UNDEFINED

    def js_has(self, key: str) -> bool:
        return key in _DT_PROPS

    def js_call(self, rt: Runtime, key: str, args: list[Any]) -> Any:
        fn = _DT_METHODS.get(key)
        if fn is None:
            raise JSError(f"DateTime.{key} is not a function")
        rt.charge(1)
        if self.dt is None and key not in ("toString", "toISO", "toJSON", "isValid"):
            return DateTime(None) if key in _RETURNS_DATETIME else None
        return fn(rt, self, args)

    def js_to_string(self) -> str:
        return iso(self.dt) if self.dt is not None else "Invalid DateTime"

    def js_to_primitive(self, hint: str) -> Any:
        if hint == "string":
            return self.js_to_string()
        return millis(self.dt) if self.dt is not None else NAN

    def to_python(self) -> Any:
        return iso(self.dt) if self.dt is not None else None


def _dt(value: DateTime) -> datetime:
    assert value.dt is not None
    return value.dt


_DT_PROPS: dict[str, Callable[[datetime], Any]] = {
    "year": lambda d: d.year,
    "month": lambda d: d.month,
    "day": lambda d: d.day,
    "hour": lambda d: d.hour,
    "minute": lambda d: d.minute,
    "second": lambda d: d.second,
    "millisecond": lambda d: d.microsecond // 1000,
    "weekday": lambda d: d.isoweekday(),
    "weekdayLong": lambda d: WEEKDAYS[d.weekday()],
    "weekdayShort": lambda d: WEEKDAYS[d.weekday()][:3],
    "monthLong": lambda d: MONTHS[d.month - 1],
    "monthShort": lambda d: MONTHS[d.month - 1][:3],
    "ordinal": lambda d: d.timetuple().tm_yday,
    "quarter": lambda d: (d.month - 1) // 3 + 1,
    "weekNumber": lambda d: d.isocalendar()[1],
    "weekYear": lambda d: d.isocalendar()[0],
    "zoneName": zone_name,
    "offset": lambda d: int((d.utcoffset() or timedelta(0)).total_seconds() // 60),
    "daysInMonth": lambda d: calendar.monthrange(d.year, d.month)[1],
    "daysInYear": lambda d: 366 if calendar.isleap(d.year) else 365,
    "isInLeapYear": lambda d: calendar.isleap(d.year),
    "ts": millis,
}


def _other_datetime(rt: Runtime, value: Any) -> datetime:
    if isinstance(value, DateTime) and value.dt is not None:
        return value.dt
    if isinstance(value, JSDate) and value.ms == value.ms:
        return from_millis(value.ms, default_zone(rt))
    if type(value) is str:
        parsed = parse_iso(value, default_zone(rt))
        if parsed is not None:
            return parsed
    if type(value) in (int, float) and value == value:
        return from_millis(float(value), default_zone(rt))
    raise JSError(f"expected a date, got {to_string(value)!r}")


def _diff(rt: Runtime, this: DateTime, args: list[Any]) -> Any:
    start = _other_datetime(rt, arg(args, 0))
    end = _dt(this)
    units_arg = arg(args, 1)
    if units_arg is UNDEFINED:
        units = ["milliseconds"]
    elif type(units_arg) is list:
        units = [unit_name(u) for u in units_arg]
    else:
        units = [unit_name(units_arg)]
    return Duration(_duration_between(start, end, units))


def _duration_between(start: datetime, end: datetime, units: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    cursor = start
    if any(u in units for u in ("years", "quarters", "months")):
        months = (end.year - cursor.year) * 12 + (end.month - cursor.month)
        shifted = add_months(cursor.replace(tzinfo=None), months).replace(tzinfo=cursor.tzinfo)
        if months > 0 and shifted > end:
            months -= 1
        elif months < 0 and shifted < end:
            months += 1
        cursor = add_months(cursor.replace(tzinfo=None), months).replace(tzinfo=cursor.tzinfo)
        for unit, size in (("years", 12), ("quarters", 3), ("months", 1)):
            if unit in units:
                whole = int(months / size)
                values[unit] = whole
                months -= whole * size
    remaining = (end - cursor) / timedelta(milliseconds=1)
    time_units = [u for u in ("weeks", "days", "hours", "minutes", "seconds", "milliseconds") if u in units]
    for index, unit in enumerate(time_units):
        size = UNIT_MS.get(unit, 1)
        if index == len(time_units) - 1:
            values[unit] = remaining / size
        else:
            whole = int(remaining / size)
            values[unit] = whole
            remaining -= whole * size
    return {k: (int(v) if float(v).is_integer() else v) for k, v in values.items()}


class Duration(HostObject):
    """What ``DateTime.diff`` returns: ``.days``, ``.as('hours')``, ``.toObject()``."""

    __slots__ = ("values",)
    type_name = "Duration"
    clean = True

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values

    def millis(self) -> float:
        months = self.values.get("years", 0) * 12 + self.values.get("quarters", 0) * 3 + self.values.get("months", 0)
        total = months * 30 * 86_400_000
        for unit, size in (*UNIT_MS.items(), ("milliseconds", 1)):
            total += self.values.get(unit, 0) * size
        return total

    def js_get(self, rt: Runtime, key: str) -> Any:
        unit = UNITS.get(key, key)
        if unit in UNITS.values():
            return self.values.get(unit, 0)
        return UNDEFINED

    def js_call(self, rt: Runtime, key: str, args: list[Any]) -> Any:
        if key == "as":
            unit = unit_name(arg(args, 0))
            value = self.millis() / (UNIT_MS.get(unit) or (1 if unit == "milliseconds" else 30 * 86_400_000))
            return int(value) if float(value).is_integer() else value
        if key == "toObject":
            return dict(self.values)
        if key in ("toMillis", "valueOf"):
            value = self.millis()
            return int(value) if float(value).is_integer() else value
        if key in ("toString", "toISO"):
            return self.js_to_string()
        raise JSError(f"Duration.{key} is not a function")

    def js_to_string(self) -> str:
        seconds = self.millis() / 1000
        return f"PT{int(seconds) if seconds.is_integer() else seconds}S"

    def to_python(self) -> Any:
        return dict(self.values)


def _set(rt: Runtime, this: DateTime, args: list[Any]) -> Any:
    values = arg(args, 0)
    if type(values) is not dict:
        raise JSError("DateTime.set() expects an object")
    dt = _dt(this)
    changes: dict[str, int] = {}
    for key, value in values.items():
        name = key[:-1] if key.endswith("s") else key
        if name in ("year", "month", "day", "hour", "minute", "second", "millisecond"):
            changes[name] = to_integer(value)
    try:
        return DateTime(
            dt.replace(
                year=changes.get("year", dt.year),
                month=changes.get("month", dt.month),
                day=changes.get("day", dt.day),
                hour=changes.get("hour", dt.hour),
                minute=changes.get("minute", dt.minute),
                second=changes.get("second", dt.second),
                microsecond=changes["millisecond"] * 1000 if "millisecond" in changes else dt.microsecond,
            )
        )
    except (ValueError, OverflowError):
        return DateTime(None)


def _set_zone(rt: Runtime, this: DateTime, args: list[Any]) -> Any:
    return DateTime(_dt(this).astimezone(zone(to_string(arg(args, 0)))))


def _equals(rt: Runtime, this: DateTime, args: list[Any]) -> Any:
    other = arg(args, 0)
    return isinstance(other, DateTime) and other.dt == this.dt and zone_name(_dt(this)) == zone_name(_dt(other))


def _has_same(rt: Runtime, this: DateTime, args: list[Any]) -> Any:
    other = _other_datetime(rt, arg(args, 0)).astimezone(_dt(this).tzinfo)
    unit = unit_name(arg(args, 1))
    return start_of(_dt(this), unit) == start_of(other, unit)


def _is_between(rt: Runtime, this: DateTime, args: list[Any]) -> Any:
    first = _other_datetime(rt, arg(args, 0))
    second = _other_datetime(rt, arg(args, 1))
    low, high = min(first, second), max(first, second)
    return low < _dt(this) < high


def _to_object(rt: Runtime, this: DateTime, args: list[Any]) -> Any:
    d = _dt(this)
    return {
        "year": d.year,
        "month": d.month,
        "day": d.day,
        "hour": d.hour,
        "minute": d.minute,
        "second": d.second,
        "millisecond": d.microsecond // 1000,
    }


def _diff_to(rt: Runtime, this: DateTime, args: list[Any]) -> Any:
    other = _other_datetime(rt, arg(args, 0))
    unit = "days" if arg(args, 1) is UNDEFINED else unit_name(args[1])
    return _duration_between(other, _dt(this), [unit])[unit]


def _diff_to_now(rt: Runtime, this: DateTime, args: list[Any]) -> Any:
    unit = "days" if arg(args, 0) is UNDEFINED else unit_name(args[0])
    value = _duration_between(_dt(this), datetime.now(UTC), [unit])[unit]
    return value


_UNITS_SINGULAR: dict[str, str] = {**{v: k for k, v in UNITS.items()}, **{k: k for k in UNITS}, "week": "weekNumber"}


_DT_METHODS: dict[str, Callable[[Runtime, DateTime, list[Any]], Any]] = {
    "toISO": lambda rt, this, args: iso(this.dt) if this.dt is not None else None,
    "toJSON": lambda rt, this, args: iso(this.dt) if this.dt is not None else None,
    "toString": lambda rt, this, args: this.js_to_string(),
    "toISODate": lambda rt, this, args: _dt(this).strftime("%Y-%m-%d"),
    "toISOTime": lambda rt, this, args: iso(_dt(this))[11:],
    "toSQL": lambda rt, this, args: _dt(this).strftime("%Y-%m-%d %H:%M:%S") + f".{_dt(this).microsecond // 1000:03d}",
    "toMillis": lambda rt, this, args: millis(_dt(this)),
    "valueOf": lambda rt, this, args: millis(_dt(this)),
    "toSeconds": lambda rt, this, args: millis(_dt(this)) / 1000,
    "toUnixInteger": lambda rt, this, args: int(_dt(this).timestamp()),
    "toFormat": lambda rt, this, args: format_datetime(_dt(this), to_string(arg(args, 0))),
    "format": lambda rt, this, args: format_datetime(_dt(this), to_string(arg(args, 0))),
    "toLocaleString": lambda rt, this, args: format_datetime(_dt(this), "D, h:mm:ss a"),
    "plus": lambda rt, this, args: DateTime(shift(_dt(this), _amounts(rt, args), 1)),
    "minus": lambda rt, this, args: DateTime(shift(_dt(this), _amounts(rt, args), -1)),
    "startOf": lambda rt, this, args: DateTime(start_of(_dt(this), unit_name(arg(args, 0)))),
    "beginningOf": lambda rt, this, args: DateTime(start_of(_dt(this), unit_name(arg(args, 0)))),
    "endOf": lambda rt, this, args: DateTime(end_of(_dt(this), unit_name(arg(args, 0)))),
    "endOfMonth": lambda rt, this, args: DateTime(end_of(_dt(this), "months")),
    "set": _set,
    "setZone": _set_zone,
    "toUTC": lambda rt, this, args: DateTime(_dt(this).astimezone(UTC)),
    "toLocal": lambda rt, this, args: DateTime(_dt(this).astimezone(default_zone(rt))),
    "diff": _diff,
    "diffTo": _diff_to,
    "diffToNow": _diff_to_now,
    "equals": _equals,
    "hasSame": _has_same,
    "isBetween": _is_between,
    "isWeekend": lambda rt, this, args: _dt(this).isoweekday() >= 6,
    "isInLast": lambda rt, this, args: (
        shift(datetime.now(UTC), _amounts(rt, args or [1, "days"]), -1) <= _dt(this) <= datetime.now(UTC)
    ),
    "extract": lambda rt, this, args: _DT_PROPS[_UNITS_SINGULAR.get(to_string(arg(args, 0)), "year")](_dt(this)),
    "toObject": _to_object,
    "toDateTime": lambda rt, this, args: this,
    "toJsDate": lambda rt, this, args: JSDate(float(millis(_dt(this)))),
}
_RETURNS_DATETIME = frozenset({"plus", "minus", "startOf", "endOf", "set", "setZone", "toUTC", "toLocal"})


def _from_iso(rt: Runtime, args: list[Any]) -> Any:
    options = arg(args, 1)
    tz = default_zone(rt)
    if type(options) is dict and type(options.get("zone")) is str:
        tz = zone(options["zone"])
    parsed = parse_iso(to_string(arg(args, 0)), tz)
    if parsed is not None and type(options) is dict and truthy(options.get("setZone")):
        return DateTime(parsed)
    return DateTime(parsed.astimezone(tz) if parsed is not None else None)


def _dt_from_millis(rt: Runtime, args: list[Any]) -> Any:
    ms = to_number(arg(args, 0))
    return DateTime(from_millis(float(ms), default_zone(rt)) if ms == ms else None)


def _from_seconds(rt: Runtime, args: list[Any]) -> Any:
    seconds = to_number(arg(args, 0))
    return DateTime(from_millis(float(seconds) * 1000, default_zone(rt)) if seconds == seconds else None)


def _from_js_date(rt: Runtime, args: list[Any]) -> Any:
    value = arg(args, 0)
    if not isinstance(value, JSDate) or value.ms != value.ms:
        return DateTime(None)
    return DateTime(from_millis(value.ms, default_zone(rt)))


def _local(rt: Runtime, args: list[Any], tz: tzinfo | None = None) -> Any:
    tz = tz or default_zone(rt)
    if not args:
        return DateTime(datetime.now(tz))
    parts = [to_integer(a) for a in args[:7]] + [1, 1, 0, 0, 0, 0][len(args) - 1 :]
    try:
        year, month, day, hour, minute, second, ms = (parts + [0] * 7)[:7]
        return DateTime(datetime(year, month or 1, day or 1, hour, minute, second, ms * 1000, tzinfo=tz))
    except ValueError:
        return DateTime(None)


def now(rt: Runtime) -> DateTime:
    if rt.now is None:
        rt.now = DateTime(datetime.now(default_zone(rt)))
    value: DateTime = rt.now
    return value


def today(rt: Runtime) -> DateTime:
    moment = now(rt).dt
    assert moment is not None
    return DateTime(moment.replace(hour=0, minute=0, second=0, microsecond=0))


DATETIME = Namespace(
    "DateTime",
    {
        "now": NativeFunction("now", lambda rt, args: now(rt)),
        "local": NativeFunction("local", _local),
        "utc": NativeFunction("utc", lambda rt, args: _local(rt, args, UTC)),
        "fromISO": NativeFunction("fromISO", _from_iso),
        "fromMillis": NativeFunction("fromMillis", _dt_from_millis),
        "fromSeconds": NativeFunction("fromSeconds", _from_seconds),
        "fromJSDate": NativeFunction("fromJSDate", _from_js_date),
        "isDateTime": NativeFunction("isDateTime", lambda rt, args: isinstance(arg(args, 0), DateTime)),
    },
)
