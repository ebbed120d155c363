"""``n8n-nodes-base.aggregate`` 1: many items into one (individual fields, or all item data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import NodeError, ParameterError
from workflows.engine.items import get_field, set_path
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.nodes.split_out import field_list, missing_field_hints
from workflows.engine.registry import registry
from workflows.engine.state import Item, Items

MODES = ("aggregateIndividualFields", "aggregateAllItemData")
INCLUDE = ("allFields", "specifiedFields", "allFieldsExcept")
_MISSING = object()
_BINARY_IDENTITY = ("mimeType", "fileType", "fileSize", "fileExtension")


def _validate_field_entries(parameters: Mapping[str, Any]) -> None:
    collection = parameters.get("fieldsToAggregate", {})
    if not isinstance(collection, Mapping):
        raise ParameterError("fieldsToAggregate", "must be an object with a `fieldToAggregate` list")
    entries = collection.get("fieldToAggregate", [])
    if not isinstance(entries, list):
        raise ParameterError("fieldsToAggregate.fieldToAggregate", "must be a list")
    for i, entry in enumerate(entries):
        where = f"fieldsToAggregate.fieldToAggregate[{i}]"
        if not isinstance(entry, Mapping):
            raise ParameterError(where, "must be an object with `fieldToAggregate`")
        for key in ("fieldToAggregate", "outputFieldName"):
            if not isinstance(entry.get(key, ""), str):
                raise ParameterError(f"{where}.{key}", "must be a string")
        if not isinstance(entry.get("renameField", False), bool):
            raise ParameterError(f"{where}.renameField", "must be true or false")


def _add_binaries(target: Item, items: Items, unique_only: bool) -> None:
    """n8n's ``addBinariesToItem``: every binary of ``items``, clashing keys suffixed ``_1``, ``_2``…"""
    seen: list[tuple[Any, ...]] = []
    binary: dict[str, Any] = {}
    for item in items:
        for key, data in (item.get("binary") or {}).items():
            if unique_only:
                identity = tuple(data.get(k) for k in _BINARY_IDENTITY) if isinstance(data, dict) else (id(data),)
                if identity in seen:
                    continue
                seen.append(identity)
            name, n = key, 1
            while name in binary:
                name, n = f"{key}_{n}", n + 1
            binary[name] = data
    if binary:
        target["binary"] = binary


def _collect(
    items: Items, field: str, dot: bool, keep_missing: bool, merge_lists: bool, found: dict[str, bool]
) -> list[Any]:
    """One field's values across ``items``, recording in ``found`` whether any item had it."""
    collected: list[Any] = []
    for item in items:
        value = get_field(item.get("json") or {}, field, dot, _MISSING)
        found[field] = found.get(field, False) or value is not _MISSING
        if not keep_missing:
            if isinstance(value, list):
                value = [v for v in value if v is not None]
            elif value is None or value is _MISSING:
                continue
        value = None if value is _MISSING else value
        if isinstance(value, list) and merge_lists:
            collected.extend(value)
        else:
            collected.append(value)
    return collected


@registry.register
class Aggregate(NodeType):
    type = "n8n-nodes-base.aggregate"
    versions = (1.0,)
    description = "Combines items into one: listed fields into lists, or every item's data into one list."

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        mode = require_choice(parameters, "aggregate", MODES, "aggregateIndividualFields")
        if mode == "aggregateIndividualFields":
            _validate_field_entries(parameters)
        else:
            destination = parameters.get("destinationFieldName", "data")
            if not isinstance(destination, str) or not destination.strip():
                raise ParameterError("destinationFieldName", "names the output field, e.g. `data`")
            include = require_choice(parameters, "include", INCLUDE, "allFields")
            for name, needed in (("fieldsToInclude", "specifiedFields"), ("fieldsToExclude", "allFieldsExcept")):
                if include == needed and not isinstance(parameters.get(name, ""), (str, list)):
                    raise ParameterError(name, "must be a comma-separated string of field names")
        options = parameters.get("options", {})
        if not isinstance(options, Mapping):
            raise ParameterError("options", "must be an object")

    def execute(self, ctx: NodeContext) -> list[Items]:
        items = ctx.input(0)
        # n8n reads every Aggregate parameter for item 0: the node runs once for all items.
        if ctx.param("aggregate", "aggregateIndividualFields") == "aggregateAllItemData":
            result = self._all_item_data(ctx, items)
        else:
            result = self._individual_fields(ctx, items)
        if ctx.param("options.includeBinaries", False):
            paired = result["pairedItem"]
            aggregated = [items[p["item"]] for p in paired]
            _add_binaries(result, aggregated, bool(ctx.param("options.keepOnlyUnique", False)))
        return [[result]]

    def _individual_fields(self, ctx: NodeContext, items: Items) -> Item:
        dot = not ctx.param("options.disableDotNotation", False)
        merge_lists = bool(ctx.param("options.mergeLists", False))
        keep_missing = bool(ctx.param("options.keepMissing", False))
        entries = ctx.param("fieldsToAggregate.fieldToAggregate", []) or []
        if not entries:
            raise NodeError("No fields specified", description="Please add a field to aggregate")
        values: dict[str, list[Any]] = {}
        used: list[str] = []
        found: dict[str, bool] = {}
        for entry in entries:
            field = str(entry.get("fieldToAggregate", ""))
            rename = str(entry.get("outputFieldName") or "")
            label = rename if entry.get("renameField") else field
            if label in used:
                raise NodeError(
                    f"The '{label}' output field is used more than once",
                    description="Please make sure each output field name is unique",
                )
            used.append(label)
            if not field:
                continue
            # Without a new name, `a.b` is collected under `b` (n8n keeps the last segment).
            output = rename or (field.split(".")[-1] if dot and "." in field else field)
            values[output] = _collect(items, field, dot, keep_missing, merge_lists, found)
        hints = missing_field_hints(found)
        if hints:
            ctx.metadata.setdefault("hints", []).extend(hints)
        json: dict[str, Any] = {}
        for key, collected in values.items():
            set_path(json, key, collected, dot)
        return {"json": json, "pairedItem": [{"item": i} for i in range(len(items))]}

    def _all_item_data(self, ctx: NodeContext, items: Items) -> Item:
        destination = str(ctx.param("destinationFieldName", "data"))
        include = ctx.param("include", "allFields")
        names: list[str] = []
        if include == "specifiedFields":
            names = field_list(ctx.param("fieldsToInclude", ""), "Fields To Include")
        elif include == "allFieldsExcept":
            names = field_list(ctx.param("fieldsToExclude", ""), "Fields To Exclude")
        if not names:
            data = [item.get("json") or {} for item in items]
            return {"json": {destination: data}, "pairedItem": [{"item": i} for i in range(len(items))]}
        kept: list[dict[str, Any]] = []
        paired: list[dict[str, int]] = []
        listed_means_keep = include == "specifiedFields"
        for i, item in enumerate(items):
            json = item.get("json") or {}
            picked = {k: v for k, v in json.items() if (k in names) == listed_means_keep}
            if picked:  # n8n drops items left with no fields
                kept.append(picked)
                paired.append({"item": i})
        return {"json": {destination: kept}, "pairedItem": paired}
