"""``n8n-nodes-base.splitOut`` 1: one item per element of a list (or object) field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import NodeError, ParameterError
from workflows.engine.items import get_field, set_path, split_path
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Item, Items

INCLUDE = ("noOtherFields", "allOtherFields", "selectedOtherFields")
BINARY = "$binary"
_MISSING = object()
_JSON_PREFIX = re.compile(r"^\$json\.")


def field_list(value: Any, label: str) -> list[str]:
    """n8n's ``prepareFieldsArray``: a comma-separated string (or a list) of field names."""
    if isinstance(value, str):
        return [f.strip() for f in value.split(",") if f.strip()]
    if isinstance(value, list) and all(isinstance(f, str) for f in value):
        return list(value)
    raise NodeError(f"The '{label}' parameter must be a string of fields separated by commas or an array of strings.")


def missing_field_hints(found: Mapping[str, bool]) -> list[dict[str, str]]:
    """n8n's output-pane hints for fields that no input item had."""
    return [
        {"message": f"The field '{field}' wasn't found in any input item", "location": "outputPane"}
        for field, seen in found.items()
        if not seen
    ]


def _unset(obj: dict[str, Any], path: str, dot_notation: bool) -> dict[str, Any]:
    """A copy of ``obj`` without ``path`` (lodash ``unset``); nested objects on the path are copied."""
    out = dict(obj)
    if not dot_notation or path in out:
        out.pop(path, None)
        return out
    parts = split_path(path)
    target = out
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            return out
        target[part] = target = dict(child)
    target.pop(parts[-1], None)
    return out


def _elements(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())  # n8n splits an object into its values
    return [value]


def _place(entry: Item, field: str, name: str, element: Any, spread: bool, dot: bool) -> None:
    """Put one split-out element into its new item."""
    if field == BINARY:
        entry.setdefault("binary", {}).update(element)
    elif spread and isinstance(element, (dict, list)):
        values = element if isinstance(element, dict) else {str(k): v for k, v in enumerate(element)}
        entry["json"] = {**entry["json"], **values}
    else:
        set_path(entry["json"], name, element, dot)


@registry.register
class SplitOut(NodeType):
    type = "n8n-nodes-base.splitOut"
    versions = (1.0,)
    description = "Turns a list (or an object's values) in `fieldToSplitOut` into separate items."

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        field = parameters.get("fieldToSplitOut")
        if not isinstance(field, str) or not field.strip() or field.strip() == "=":
            raise ParameterError("fieldToSplitOut", "names the field(s) to split out, e.g. `items`")
        include = require_choice(parameters, "include", INCLUDE, "noOtherFields")
        if include == "selectedOtherFields":
            fields = parameters.get("fieldsToInclude", "")
            if not isinstance(fields, (str, list)):
                raise ParameterError("fieldsToInclude", "must be a comma-separated string of field names")
        options = parameters.get("options", {})
        if not isinstance(options, Mapping):
            raise ParameterError("options", "must be an object")
        destination = options.get("destinationFieldName", "")
        if not isinstance(destination, str):
            raise ParameterError("options.destinationFieldName", "must be a string")

    def execute(self, ctx: NodeContext) -> list[Items]:
        out: Items = []
        found: dict[str, bool] = {}
        for i, item in enumerate(ctx.input(0)):
            out.extend(self._split_item(ctx, item, i, found))
        hints = missing_field_hints(found)
        if hints:
            ctx.metadata.setdefault("hints", []).extend(hints)
        return [out]

    def _split_item(self, ctx: NodeContext, item: Item, i: int, found: dict[str, bool]) -> Items:
        fields = [_JSON_PREFIX.sub("", f.strip()) for f in str(ctx.param("fieldToSplitOut", "", i)).split(",")]
        options = ctx.param("options", {}, i) or {}
        dot = not options.get("disableDotNotation", False)
        destinations = [d.strip() for d in str(options.get("destinationFieldName") or "").split(",") if d.strip()]
        if destinations and len(destinations) != len(fields):
            raise NodeError(
                "If multiple fields to split out are given, the same number of destination fields must be given",
                item_index=i,
            )
        include = ctx.param("include", "noOtherFields", i)
        source: dict[str, Any] = item.get("json") or {}
        entries: list[Item] = []
        for index, field in enumerate(fields):
            destination = destinations[index] if destinations else ""
            if field == BINARY:
                elements: list[Any] = [{k: v} for k, v in (item.get("binary") or {}).items()]
            else:
                value = get_field(source, field, dot, _MISSING)
                found[field] = found.get(field, False) or value is not _MISSING
                elements = [] if value is _MISSING else _elements(value)
            # n8n spreads an object element into the new item (`{...json, ...element}`) only
            # when it is the one field split, without a destination or other fields.
            spread = include == "noOtherFields" and not destination and len(fields) == 1
            for position, element in enumerate(elements):
                if position == len(entries):
                    entries.append({"json": {}, "pairedItem": {"item": i}})
                _place(entries[position], field, destination or field, element, spread, dot)
        for entry in entries:
            self._add_other_fields(ctx, entry, source, fields, include, dot, i)
            if options.get("includeBinary") and item.get("binary") and "binary" not in entry:
                entry["binary"] = item["binary"]
        return entries

    @staticmethod
    def _add_other_fields(
        ctx: NodeContext, entry: Item, source: dict[str, Any], fields: list[str], include: str, dot: bool, i: int
    ) -> None:
        if include == "allOtherFields":
            rest = source
            for field in fields:
                rest = _unset(rest, field, dot)
            entry["json"] = {**rest, **entry["json"]}
        elif include == "selectedOtherFields":
            selected = field_list(ctx.param("fieldsToInclude", "", i), "Fields To Include")
            if not selected:
                raise NodeError("No fields specified", description="Please add a field to include", item_index=i)
            for field in selected:
                value = get_field(source, field, dot, _MISSING)
                if value is not _MISSING:
                    # n8n writes the selected field under its full name, dots included.
                    entry["json"][field] = value
