"""``n8n-nodes-base.set`` 3.4 ("Edit Fields"): manual assignments or raw JSON output."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import NodeError, ParameterError
from workflows.engine.items import set_path
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Items

FIELD_TYPES = ("string", "number", "boolean", "array", "object")


def _is_expr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def convert(name: str, value: Any, kind: str, ignore_errors: bool) -> Any:
    """n8n's type validation of an assignment: convert when unambiguous, else fail."""
    try:
        if kind == "string":
            if isinstance(value, str):
                return value
            if isinstance(value, (dict, list)):
                return json.dumps(value, separators=(",", ":"))
            if isinstance(value, bool):
                return "true" if value else "false"
            return "" if value is None else _js_number_str(value)
        if kind == "number":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, (int, float)):
                return value
            if isinstance(value, str) and value.strip():
                num = float(value)
                return int(num) if num.is_integer() and "." not in value and "e" not in value.lower() else num
            raise ValueError
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
                return value.strip().lower() in ("true", "1")
            raise ValueError
        if kind in ("array", "object"):
            parsed = json.loads(value) if isinstance(value, str) else value
            if kind == "array" and isinstance(parsed, list):
                return parsed
            if kind == "object" and isinstance(parsed, dict):
                return parsed
            raise ValueError
    except (ValueError, TypeError):
        if ignore_errors:
            return value
        raise NodeError(
            f"'{name}' expects a {kind} but we got '{value}'",
            extra={"parameter": f"assignments.{name}"},
        ) from None
    return value


def _js_number_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@registry.register
class SetNode(NodeType):
    type = "n8n-nodes-base.set"
    versions = (3.4,)
    description = "Edit Fields: `manual` assignments (name, value, type) or `raw` JSON output."

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        mode = require_choice(parameters, "mode", ("manual", "raw"), "manual")
        if mode == "raw":
            raw = parameters.get("jsonOutput", "{}")
            if not isinstance(raw, (str, dict)):
                raise ParameterError("jsonOutput", "must be a JSON object string")
            if isinstance(raw, str) and not _is_expr(raw):
                try:
                    if not isinstance(json.loads(raw), dict):
                        raise ParameterError("jsonOutput", "must be a JSON object")
                except ValueError as exc:
                    raise ParameterError("jsonOutput", f"is not valid JSON: {exc}") from exc
            return
        assignments = parameters.get("assignments", {})
        if not isinstance(assignments, dict):
            raise ParameterError("assignments", "must be an object with an `assignments` list")
        entries = assignments.get("assignments", [])
        if not isinstance(entries, list):
            raise ParameterError("assignments.assignments", "must be a list")
        for i, entry in enumerate(entries):
            where = f"assignments.assignments[{i}]"
            if not isinstance(entry, dict):
                raise ParameterError(where, "must be an object")
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                raise ParameterError(f"{where}.name", "must be a non-empty string")
            kind = entry.get("type", "string")
            if kind not in FIELD_TYPES:
                raise ParameterError(f"{where}.type", f"must be one of {', '.join(FIELD_TYPES)}")
        include = parameters.get("include", "all")
        if include not in ("all", "selected", "except", "none"):
            raise ParameterError("include", "must be one of all, selected, except, none")

    def execute(self, ctx: NodeContext) -> list[Items]:
        mode = ctx.raw_param("mode", "manual")
        include_other = bool(ctx.raw_param("includeOtherFields", False))
        options = ctx.raw_param("options", {}) or {}
        dot = options.get("dotNotation", True) is not False
        ignore = bool(options.get("ignoreConversionErrors", False))
        entries = (ctx.raw_param("assignments", {}) or {}).get("assignments", []) or []
        raw_json = ctx.raw_param("jsonOutput", "{}")
        out: Items = []
        for i, item in enumerate(ctx.input(0)):
            base = self._base(ctx, item, include_other)
            if mode == "raw":
                value = ctx.resolve(raw_json, i, "jsonOutput")
                try:
                    parsed = json.loads(value) if isinstance(value, str) else value
                except ValueError as exc:
                    raise NodeError(
                        f"'JSON Output' in item {i} does not contain a valid JSON object", item_index=i
                    ) from exc
                if not isinstance(parsed, dict):
                    raise NodeError(f"'JSON Output' in item {i} does not contain a valid JSON object", item_index=i)
                for key, value in parsed.items():
                    set_path(base, key, value, dot)
            else:
                for entry in entries:
                    value = entry.get("value")
                    if _is_expr(value):
                        value = ctx.evaluate(value, i, f"assignments.{entry['name']}")
                    name = entry["name"]
                    if _is_expr(name):
                        name = str(ctx.evaluate(name, i, "assignments.name"))
                    set_path(base, name, convert(name, value, entry.get("type", "string"), ignore), dot)
            new_item: dict[str, Any] = {"json": base, "pairedItem": {"item": i}}
            if "binary" in item and include_other:
                new_item["binary"] = item["binary"]
            out.append(new_item)
        return [out]

    @staticmethod
    def _base(ctx: NodeContext, item: dict[str, Any], include_other: bool) -> dict[str, Any]:
        if not include_other:
            return {}
        src = item.get("json", {})
        include = ctx.raw_param("include", "all")
        if include in ("all", None):
            return dict(src)
        fields = [f.strip() for f in str(ctx.raw_param("includeFields", "") or "").split(",") if f.strip()]
        excluded = [f.strip() for f in str(ctx.raw_param("excludeFields", "") or "").split(",") if f.strip()]
        if include == "selected":
            return {k: v for k, v in src.items() if k in fields}
        if include == "except":
            return {k: v for k, v in src.items() if k not in excluded}
        return {}
