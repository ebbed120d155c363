"""n8n's "filter" conditions (If, Filter, Switch): typed operators with strict or loose validation."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import NodeError, ParameterError

OPERATIONS: dict[str, tuple[str, ...]] = {
    "string": (
        "exists",
        "notExists",
        "empty",
        "notEmpty",
        "equals",
        "notEquals",
        "contains",
        "notContains",
        "startsWith",
        "notStartsWith",
        "endsWith",
        "notEndsWith",
        "regex",
        "notRegex",
    ),
    "number": ("exists", "notExists", "empty", "notEmpty", "equals", "notEquals", "gt", "lt", "gte", "lte"),
    "dateTime": (
        "exists",
        "notExists",
        "empty",
        "notEmpty",
        "equals",
        "notEquals",
        "after",
        "before",
        "afterOrEquals",
        "beforeOrEquals",
    ),
    "boolean": ("exists", "notExists", "empty", "notEmpty", "true", "false", "equals", "notEquals"),
    "array": (
        "exists",
        "notExists",
        "empty",
        "notEmpty",
        "contains",
        "notContains",
        "lengthEquals",
        "lengthNotEquals",
        "lengthGt",
        "lengthLt",
        "lengthGte",
        "lengthLte",
    ),
    "object": ("exists", "notExists", "empty", "notEmpty"),
    "any": ("exists", "notExists", "empty", "notEmpty", "equals", "notEquals"),
}
SINGLE_VALUE = {"exists", "notExists", "empty", "notEmpty", "true", "false"}


def validate_conditions(value: Any, field: str = "conditions") -> None:
    """Check the shape of an n8n filter parameter; raise :class:`ParameterError` naming the field."""
    if not isinstance(value, Mapping):
        raise ParameterError(field, "must be an object with `conditions` and `combinator`")
    combinator = value.get("combinator", "and")
    if combinator not in ("and", "or"):
        raise ParameterError(f"{field}.combinator", "must be `and` or `or`")
    conditions = value.get("conditions", [])
    if not isinstance(conditions, list):
        raise ParameterError(f"{field}.conditions", "must be a list")
    for i, cond in enumerate(conditions):
        where = f"{field}.conditions[{i}]"
        if not isinstance(cond, Mapping):
            raise ParameterError(where, "must be an object")
        operator = cond.get("operator")
        if not isinstance(operator, Mapping):
            raise ParameterError(f"{where}.operator", "must be an object with `type` and `operation`")
        kind, op = operator.get("type"), operator.get("operation")
        if not isinstance(kind, str) or kind not in OPERATIONS:
            raise ParameterError(f"{where}.operator.type", f"must be one of {', '.join(OPERATIONS)}")
        if not isinstance(op, str) or op not in OPERATIONS[kind]:
            raise ParameterError(f"{where}.operator.operation", f"{op!r} is not an operation of type {kind}")


def evaluate_conditions(ctx: NodeContext, path: str, item_index: int, loose: bool = False) -> bool:
    """Evaluate the filter at parameter ``path`` for one item."""
    return evaluate_filter(ctx, ctx.raw_param(path, {}) or {}, path, item_index, loose)


def evaluate_filter(ctx: NodeContext, spec: Mapping[str, Any], path: str, item_index: int, loose: bool = False) -> bool:
    """Evaluate one stored filter value (found at parameter ``path``, named in errors) for one item.

    For filters inside lists (Switch's ``rules.values[i].conditions``) that a dotted path cannot reach.
    """
    options = spec.get("options") or {}
    case_sensitive = options.get("caseSensitive", True) is not False
    if ctx.raw_param("options.ignoreCase", False):
        case_sensitive = False
    # n8n If/Filter 2.1+ keep the switch top-level (`looseTypeValidation`), 2.0 in `options`.
    loose = (
        loose
        or options.get("typeValidation") == "loose"
        or bool(ctx.raw_param("looseTypeValidation", False))
        or bool(ctx.raw_param("options.looseTypeValidation", False))
    )
    results = []
    for i, cond in enumerate(spec.get("conditions") or []):
        where = f"{path}.conditions[{i}]"
        left = ctx.resolve(cond.get("leftValue"), item_index, f"{where}.leftValue")
        operator = cond.get("operator") or {}
        kind, op = operator.get("type", "string"), operator.get("operation", "equals")
        right = None
        if op not in SINGLE_VALUE:
            right = ctx.resolve(cond.get("rightValue"), item_index, f"{where}.rightValue")
        results.append(_check(kind, op, left, right, case_sensitive, loose, where, item_index))
    if not results:
        return True
    return all(results) if spec.get("combinator", "and") == "and" else any(results)


def _is_empty(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, (list, dict)):
        return len(value) == 0
    if isinstance(value, float) and math.isnan(value):
        return True
    return False


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "dateTime": lambda v: isinstance(v, (str, datetime)),
}


def _coerce(kind: str, value: Any, loose: bool, where: str, side: str, item_index: int) -> Any:
    if value is None or kind == "any":
        return value
    if _TYPE_CHECKS[kind](value):
        return value
    if loose:
        try:
            if kind == "string":
                return (
                    value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
                )
            if kind == "number":
                if isinstance(value, bool):
                    return int(value)
                return float(value) if "." in str(value) else int(str(value).strip())
            if kind == "boolean":
                text = str(value).strip().lower()
                if text in ("true", "1", "yes"):
                    return True
                if text in ("false", "0", "no", ""):
                    return False
        except (TypeError, ValueError):
            pass
    label = {
        "string": "a string",
        "number": "a number",
        "boolean": "a boolean",
        "array": "an array",
        "object": "an object",
        "dateTime": "a date",
    }[kind]
    raise NodeError(
        f"Wrong type: '{value}' is {_type_label(value)} but was expecting {label}",
        description=f"{where}.{side}; enable loose type validation to convert values",
        item_index=item_index,
        extra={"parameter": f"{where}.{side}"},
    )


def _type_label(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _date(value: Any) -> datetime | None:
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    # A date without an offset is read as UTC, so it compares with one that has an offset
    # (Python refuses to compare naive and aware datetimes).
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _check(kind: str, op: str, left: Any, right: Any, case: bool, loose: bool, where: str, idx: int) -> bool:
    if op == "exists":
        return left is not None
    if op == "notExists":
        return left is None
    if op == "empty":
        return _is_empty(left)
    if op == "notEmpty":
        return not _is_empty(left)
    left = _coerce(kind, left, loose, where, "leftValue", idx)
    if kind == "boolean":
        if op == "true":
            return left is True
        if op == "false":
            return left is False
    if kind not in ("array",):
        right = _coerce(kind, right, loose, where, "rightValue", idx)
    fn = _OPS.get((kind, op)) or _OPS.get(("*", op))
    if fn is None:
        raise NodeError(f"unsupported operation {op!r} for type {kind}", extra={"parameter": where})
    if kind == "string" and not case:
        left = left.lower() if isinstance(left, str) else left
        right = right.lower() if isinstance(right, str) else right
    if kind == "dateTime":
        left, right = _date(left), _date(right)
        if left is None or right is None:
            return False
    return bool(fn(left, right))


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (list, str)) else 0


_OPS: dict[tuple[str, str], Callable[[Any, Any], bool]] = {
    ("*", "equals"): lambda a, b: a == b,
    ("*", "notEquals"): lambda a, b: a != b,
    ("string", "contains"): lambda a, b: a is not None and b is not None and b in a,
    ("string", "notContains"): lambda a, b: not (a is not None and b is not None and b in a),
    ("string", "startsWith"): lambda a, b: isinstance(a, str) and a.startswith(b or ""),
    ("string", "notStartsWith"): lambda a, b: not (isinstance(a, str) and a.startswith(b or "")),
    ("string", "endsWith"): lambda a, b: isinstance(a, str) and a.endswith(b or ""),
    ("string", "notEndsWith"): lambda a, b: not (isinstance(a, str) and a.endswith(b or "")),
    ("string", "regex"): lambda a, b: isinstance(a, str) and _regex(b).search(a) is not None,
    ("string", "notRegex"): lambda a, b: not (isinstance(a, str) and _regex(b).search(a) is not None),
    ("number", "gt"): lambda a, b: a is not None and b is not None and a > b,
    ("number", "lt"): lambda a, b: a is not None and b is not None and a < b,
    ("number", "gte"): lambda a, b: a is not None and b is not None and a >= b,
    ("number", "lte"): lambda a, b: a is not None and b is not None and a <= b,
    ("dateTime", "after"): lambda a, b: a > b,
    ("dateTime", "before"): lambda a, b: a < b,
    ("dateTime", "afterOrEquals"): lambda a, b: a >= b,
    ("dateTime", "beforeOrEquals"): lambda a, b: a <= b,
    ("array", "contains"): lambda a, b: isinstance(a, list) and b in a,
    ("array", "notContains"): lambda a, b: not (isinstance(a, list) and b in a),
    ("array", "lengthEquals"): lambda a, b: _length(a) == _num(b),
    ("array", "lengthNotEquals"): lambda a, b: _length(a) != _num(b),
    ("array", "lengthGt"): lambda a, b: _length(a) > _num(b),
    ("array", "lengthLt"): lambda a, b: _length(a) < _num(b),
    ("array", "lengthGte"): lambda a, b: _length(a) >= _num(b),
    ("array", "lengthLte"): lambda a, b: _length(a) <= _num(b),
}


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _regex(pattern: Any) -> re.Pattern[str]:
    text = str(pattern or "")
    match = re.fullmatch(r"/(.*)/([gimsuy]*)", text, re.S)
    flags = 0
    if match:
        text, mods = match.group(1), match.group(2)
        flags = (re.I if "i" in mods else 0) | (re.M if "m" in mods else 0) | (re.S if "s" in mods else 0)
    try:
        return re.compile(text, flags)
    except re.error as exc:
        raise NodeError(f"invalid regular expression {pattern!r}: {exc}") from exc
