"""Schedules of the Schedule Trigger: n8n's interval rules and 5/6-field cron expressions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflows.engine.errors import ParameterError

FIELDS = ("seconds", "minutes", "hours", "days", "weeks", "months", "cronExpression")
_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_NAMES = {
    4: {
        m: i
        for i, m in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
        )
    },
    5: {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
}
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class Cron:
    """A parsed cron expression (seconds optional). ``next_after`` gives the next fire time."""

    def __init__(self, expression: str) -> None:
        text = _ALIASES.get(expression.strip().lower(), expression.strip())
        parts = text.split()
        if len(parts) == 5:
            parts = ["0", *parts]
        if len(parts) != 6:
            raise ValueError(f"cron expression {expression!r} must have 5 or 6 fields")
        self.expression = expression
        self.sets = [_parse_field(p, i) for i, p in enumerate(parts)]
        self.dom_any = parts[3] in ("*", "?")
        self.dow_any = parts[5] in ("*", "?")

    def _day_matches(self, day: dt.datetime) -> bool:
        dom_ok = day.day in self.sets[3]
        dow_ok = (day.isoweekday() % 7) in self.sets[5]
        if self.dom_any and self.dow_any:
            return True
        if self.dom_any:
            return dow_ok
        if self.dow_any:
            return dom_ok
        return dom_ok or dow_ok  # cron's rule when both are restricted

    def next_after(self, after: dt.datetime) -> dt.datetime:
        """The first matching time strictly after ``after`` (an aware datetime, in its zone)."""
        tz = after.tzinfo
        t = (after.replace(microsecond=0) + dt.timedelta(seconds=1)).replace(tzinfo=None)
        seconds, minutes, hours, _, months, _ = self.sets
        for _ in range(366 * 5 * 24 * 60):  # bounded: at most minute steps over five years
            if t.month not in months:
                t = (t.replace(day=1, hour=0, minute=0, second=0) + dt.timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = (t + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0)
                continue
            if t.hour not in hours:
                t = (t + dt.timedelta(hours=1)).replace(minute=0, second=0)
                continue
            if t.minute not in minutes:
                t = (t + dt.timedelta(minutes=1)).replace(second=0)
                continue
            later = [s for s in sorted(seconds) if s >= t.second]
            if not later:
                t = (t + dt.timedelta(minutes=1)).replace(second=0)
                continue
            return t.replace(second=later[0], tzinfo=tz)
        raise ValueError(f"cron expression {self.expression!r} never fires")


def _parse_field(text: str, index: int) -> set[int]:
    low, high = _RANGES[index]
    names = _NAMES.get(index, {})
    values: set[int] = set()
    for part in text.lower().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"bad step in cron field {text!r}")
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        if index == 5:
            start, end = start % 7 if start == 7 else start, 6 if end == 7 else end
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"cron field {text!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: Mapping[str, int]) -> int:
    if text in names:
        return names[text]
    if not text.isdigit():
        raise ValueError(f"bad cron value {text!r}")
    return int(text)


def _int(rule: Mapping[str, Any], key: str, default: int, low: int, high: int, where: str) -> int:
    value = rule.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ParameterError(f"{where}.{key}", f"must be an integer from {low} to {high}")
    return value


def rule_to_cron(rule: Mapping[str, Any], where: str = "rule.interval[0]") -> str:
    """n8n's interval rule → a 6-field cron expression (validated; raises ParameterError)."""
    field = rule.get("field", "days")
    if field not in FIELDS:
        raise ParameterError(f"{where}.field", f"must be one of {', '.join(FIELDS)}")
    minute = _int(rule, "triggerAtMinute", 0, 0, 59, where)
    hour = _int(rule, "triggerAtHour", 0, 0, 23, where)
    if field == "seconds":
        return f"*/{_int(rule, 'secondsInterval', 30, 1, 59, where)} * * * * *"
    if field == "minutes":
        return f"0 */{_int(rule, 'minutesInterval', 5, 1, 59, where)} * * * *"
    if field == "hours":
        return f"0 {minute} */{_int(rule, 'hoursInterval', 1, 1, 23, where)} * * *"
    if field == "days":
        return f"0 {minute} {hour} */{_int(rule, 'daysInterval', 1, 1, 31, where)} * *"
    if field == "weeks":
        days = rule.get("triggerAtDay", [0])
        if not isinstance(days, list) or not days or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise ParameterError(f"{where}.triggerAtDay", "must be a list of weekdays 0 (Sunday) to 6")
        return f"0 {minute} {hour} * * {','.join(str(d) for d in sorted(set(days)))}"
    if field == "months":
        dom = _int(rule, "triggerAtDayOfMonth", 1, 1, 31, where)
        return f"0 {minute} {hour} {dom} */{_int(rule, 'monthsInterval', 1, 1, 12, where)} *"
    expression = rule.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        raise ParameterError(f"{where}.expression", "a cron expression is required")
    try:
        Cron(expression)
    except ValueError as exc:
        raise ParameterError(f"{where}.expression", str(exc)) from None
    return expression


def schedule_crons(parameters: Mapping[str, Any]) -> list[str]:
    rule = parameters.get("rule", {"interval": [{}]})
    if not isinstance(rule, Mapping) or not isinstance(rule.get("interval", [{}]), list):
        raise ParameterError("rule.interval", "must be a list of interval rules")
    intervals = rule.get("interval") or [{}]
    crons = []
    for i, entry in enumerate(intervals):
        if not isinstance(entry, Mapping):
            raise ParameterError(f"rule.interval[{i}]", "must be an object")
        crons.append(rule_to_cron(entry, f"rule.interval[{i}]"))
    return crons


def zone(name: str | None) -> dt.tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def next_fire(crons: list[str], after: dt.datetime) -> dt.datetime:
    """Earliest next fire time over several rules."""
    return min(Cron(c).next_after(after) for c in crons)
