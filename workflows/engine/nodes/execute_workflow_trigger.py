"""``n8n-nodes-base.executeWorkflowTrigger`` 1–1.1: the entry of a workflow called by another.

Its input is the caller's items. ``inputSource`` (1.1) says what it keeps: ``workflowInputs``
(the declared fields, a missing one as ``null``), ``jsonExample`` (the top-level keys of an
example object) or ``passthrough`` (everything; version 1 always passes through).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import ParameterError
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Items
from workflows.engine.subworkflows import apply_input_schema

INPUT_SOURCES = ("workflowInputs", "jsonExample", "passthrough")
FIELD_TYPES = ("any", "string", "number", "boolean", "array", "object")


def _example(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as exc:
            raise ValueError(f"is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


def declared_fields(node: Mapping[str, Any]) -> list[str] | None:
    """The fields the trigger keeps, or ``None`` to pass every field through.

    A ``workflowInputs`` source without any field declared passes through too, so a 1.1
    trigger added without configuration does not empty every item.
    """
    params = node.get("parameters") or {}
    if float(node.get("typeVersion", 1)) < 1.1:
        return None
    source = params.get("inputSource", "workflowInputs")
    if source == "jsonExample":
        return list(_example(params.get("jsonExample", "{}")))
    if source == "workflowInputs":
        values = (params.get("workflowInputs") or {}).get("values") or []
        names = [str(v["name"]) for v in values if isinstance(v, Mapping) and v.get("name")]
        return names or None
    return None


@registry.register
class ExecuteWorkflowTrigger(NodeType):
    type = "n8n-nodes-base.executeWorkflowTrigger"
    versions = (1.0, 1.1)
    description = (
        "Entry of a sub-workflow: outputs the caller's items; `inputSource` `workflowInputs` "
        "(`workflowInputs.values[] {name, type}`: declared fields only, missing ones null), `jsonExample`, "
        "`passthrough`."
    )
    is_trigger = True
    inputs = 0

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        source = require_choice(parameters, "inputSource", INPUT_SOURCES, "workflowInputs")
        if source == "jsonExample":
            try:
                _example(parameters.get("jsonExample", "{}"))
            except ValueError as exc:
                raise ParameterError("jsonExample", str(exc)) from None
        elif source == "workflowInputs":
            inputs = parameters.get("workflowInputs", {})
            values = inputs.get("values", []) if isinstance(inputs, Mapping) else None
            if not isinstance(values, list):
                raise ParameterError("workflowInputs.values", "must be a list of {name, type}")
            seen: set[str] = set()
            for i, value in enumerate(values):
                where = f"workflowInputs.values[{i}]"
                if not isinstance(value, Mapping) or not isinstance(value.get("name"), str) or not value["name"]:
                    raise ParameterError(f"{where}.name", "must be a non-empty string")
                if value["name"] in seen:
                    raise ParameterError(f"{where}.name", f"field {value['name']!r} is declared twice")
                seen.add(value["name"])
                if value.get("type", "any") not in FIELD_TYPES:
                    raise ParameterError(f"{where}.type", f"must be one of {', '.join(FIELD_TYPES)}")

    def execute(self, ctx: NodeContext) -> list[Items]:
        items = ctx.input(0) or [{"json": {}}]
        fields = declared_fields(ctx.node)
        if fields is None:
            return [[{**item, "pairedItem": {"item": i}} for i, item in enumerate(items)]]
        return [apply_input_schema(items, fields)]
