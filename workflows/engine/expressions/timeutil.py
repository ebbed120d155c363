"""Date and time helpers shared by ``DateTime`` and ``Date``: zones, ISO text, Luxon formats, arithmetic."""

from __future__ import annotations

import calendar
import email.utils
import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflows.engine.expressions.errors import JSError
from workflows.engine.expressions.values import NAN, to_string

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime

_ZONES: dict[str, tzinfo] = {}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
UNITS = {
    "year": "years",
    "quarter": "quarters",
    "month": "months",
    "week": "weeks",
    "day": "days",
    "hour": "hours",
    "minute": "minutes",
    "second": "seconds",
    "millisecond": "milliseconds",
}
UNIT_MS = {"weeks": 604_800_000, "days": 86_400_000, "hours": 3_600_000, "minutes": 60_000, "seconds": 1000}


def zone(name: str | None) -> tzinfo:
    if not name or name.upper() in ("UTC", "Z", "GMT", "ETC/UTC"):
        return UTC
    found = _ZONES.get(name)
    if found is None:
        try:
            found = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise JSError(f"unknown time zone {name!r}", "RangeError") from None
        _ZONES[name] = found
    return found


def default_zone(rt: Runtime) -> tzinfo:
    extra = rt.ctx.execution.extra
    name = extra.get("timezone") if isinstance(extra, dict) else None
    return zone(name if isinstance(name, str) else None)


def unit_name(value: Any) -> str:
    name = to_string(value)
    unit = UNITS.get(name, name)
    if unit not in UNITS.values():
        raise JSError(f"invalid unit {name!r}", "RangeError")
    return unit


def millis(dt: datetime) -> int:
    return round(dt.timestamp() * 1000)


def from_millis(ms: float, tz: tzinfo) -> datetime:
    try:
        return datetime.fromtimestamp(ms / 1000, tz)
    except (OverflowError, OSError, ValueError):
        raise JSError("date out of range", "RangeError") from None


def offset_text(dt: datetime, colon: bool = True) -> str:
    offset = dt.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}" if colon else f"{sign}{hours:02d}{mins:02d}"


def zone_name(dt: datetime) -> str:
    tz = dt.tzinfo
    if tz is UTC or tz is None:
        return "UTC"
    return getattr(tz, "key", None) or str(tz)


def iso(dt: datetime) -> str:
    base = dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{dt.microsecond // 1000:03d}"
    return base + ("Z" if dt.tzinfo is UTC else offset_text(dt))


def add_months(dt: datetime, months: int) -> datetime:
    total = dt.year * 12 + dt.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise JSError("date out of range", "RangeError")
    day = min(dt.day, calendar.monthrange(year, month + 1)[1])
    return dt.replace(year=year, month=month + 1, day=day)


def shift(dt: datetime, amounts: dict[str, float], sign: int) -> datetime:
    """Luxon's plus/minus: calendar units on wall time, then time units on the timeline."""
    tz = dt.tzinfo or UTC
    wall = dt.replace(tzinfo=None)
    months = sign * (amounts.get("years", 0) * 12 + amounts.get("quarters", 0) * 3 + amounts.get("months", 0))
    if months:
        wall = add_months(wall, int(months))
    days = sign * (amounts.get("weeks", 0) * 7 + amounts.get("days", 0))
    try:
        if days:
            wall += timedelta(days=days)
        result = wall.replace(tzinfo=tz)
        millis = sign * (
            amounts.get("hours", 0) * 3_600_000
            + amounts.get("minutes", 0) * 60_000
            + amounts.get("seconds", 0) * 1000
            + amounts.get("milliseconds", 0)
        )
        if millis:
            result = (result.astimezone(UTC) + timedelta(milliseconds=millis)).astimezone(tz)
        return result
    except (OverflowError, ValueError):
        raise JSError("date out of range", "RangeError") from None


def start_of(dt: datetime, unit: str) -> datetime:
    if unit == "milliseconds":
        return dt
    dt = dt.replace(microsecond=(dt.microsecond // 1000) * 1000)
    if unit == "seconds":
        return dt.replace(microsecond=0)
    if unit == "minutes":
        return dt.replace(second=0, microsecond=0)
    if unit == "hours":
        return dt.replace(minute=0, second=0, microsecond=0)
    day = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "days":
        return day
    if unit == "weeks":
        return day - timedelta(days=day.weekday())
    if unit == "months":
        return day.replace(day=1)
    if unit == "quarters":
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    return day.replace(day=1, month=1)


def end_of(dt: datetime, unit: str) -> datetime:
    start = start_of(dt, unit)
    if unit in ("years", "quarters", "months"):
        following = add_months(start.replace(tzinfo=None), {"years": 12, "quarters": 3, "months": 1}[unit])
        following = following.replace(tzinfo=start.tzinfo)
    else:
        following = start + timedelta(milliseconds={**UNIT_MS, "milliseconds": 1}[unit])
    return following - timedelta(milliseconds=1)


# -- Luxon toFormat --------------------------------------------------------------------------
def format_datetime(dt: datetime, fmt: str) -> str:
    out: list[str] = []
    i = 0
    n = len(fmt)
    while i < n:
        ch = fmt[i]
        if ch == "'":
            end = fmt.find("'", i + 1)
            end = n if end < 0 else end
            out.append(fmt[i + 1 : end] if end > i + 1 else "'")
            i = end + 1
            continue
        j = i
        while j < n and fmt[j] == ch:
            j += 1
        token = fmt[i:j]
        out.append(_token(dt, token) if ch.isalpha() else token)
        i = j
    return "".join(out)


def _token(dt: datetime, token: str) -> str:
    ch, size = token[0], len(token)
    ms = dt.microsecond // 1000
    if ch in "yk":
        year = dt.isocalendar()[0] if ch == "k" else dt.year
        return f"{year % 100:02d}" if size == 2 else f"{year:0{max(size, 1)}d}"
    if ch in "ML":
        if size <= 2:
            return f"{dt.month:0{size}d}"
        name = MONTHS[dt.month - 1]
        return name[:3] if size == 3 else name[0] if size == 5 else name
    if ch == "d":
        return f"{dt.day:0{size}d}"
    if ch in "Ec":
        if size <= 2:
            return str(dt.isoweekday())
        name = WEEKDAYS[dt.weekday()]
        return name[:3] if size == 3 else name[0] if size == 5 else name
    if ch == "H":
        return f"{dt.hour:0{size}d}"
    if ch == "h":
        return f"{(dt.hour % 12) or 12:0{size}d}"
    if ch == "m":
        return f"{dt.minute:0{size}d}"
    if ch == "s":
        return f"{dt.second:0{size}d}"
    if ch == "S":
        return f"{ms:03d}" if size >= 3 else str(ms)
    if ch == "u":
        return f"{dt.microsecond:06d}"[:size]
    if ch == "a":
        return "AM" if dt.hour < 12 else "PM"
    if ch == "o":
        return f"{dt.timetuple().tm_yday:0{size}d}"
    if ch == "q":
        return f"{(dt.month - 1) // 3 + 1:0{size}d}"
    if ch == "W":
        return f"{dt.isocalendar()[1]:0{size}d}"
    if ch == "Z":
        if size == 1:
            offset = int((dt.utcoffset() or timedelta(0)).total_seconds() // 60)
            hours, mins = divmod(abs(offset), 60)
            return ("+" if offset >= 0 else "-") + str(hours) + (f":{mins:02d}" if mins else "")
        if size == 2:
            return offset_text(dt)
        if size == 3:
            return offset_text(dt, colon=False)
        return dt.tzname() or offset_text(dt)
    if ch == "z":
        return zone_name(dt)
    if ch == "X":
        return str(int(dt.timestamp()))
    if ch == "x":
        return str(millis(dt))
    if ch == "D":
        if size == 1:
            return f"{dt.month}/{dt.day}/{dt.year}"
        if size == 2:
            return f"{MONTHS[dt.month - 1][:3]} {dt.day}, {dt.year}"
        if size == 3:
            return f"{MONTHS[dt.month - 1]} {dt.day}, {dt.year}"
        return f"{WEEKDAYS[dt.weekday()]}, {MONTHS[dt.month - 1]} {dt.day}, {dt.year}"
    if ch == "t":
        return f"{(dt.hour % 12) or 12}:{dt.minute:02d} {'AM' if dt.hour < 12 else 'PM'}"
    if ch == "T":
        return f"{dt.hour:02d}:{dt.minute:02d}"
    return token


# -- parsing -------------------------------------------------------------------------------------
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_iso(text: str, tz: tzinfo) -> datetime | None:
    """ISO 8601 (date, date-time, with or without offset); naive values are read in ``tz``."""
    value = text.strip()
    if not value or len(value) > 64:
        return None
    value = _FRACTION.sub(r"\1", value.replace("z", "Z"))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=tz)
    return parsed


def parse_date_string(text: str, tz: tzinfo) -> float:
    """Date.parse: ISO first (date-only forms are UTC), then RFC 2822; NaN when neither fits."""
    value = text.strip()
    if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
        parsed = parse_iso(value if len(value) == 10 else (value + "-01-01")[:10], UTC)
    else:
        parsed = parse_iso(value, tz)
    if parsed is None:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return NAN
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
    return float(millis(parsed))
