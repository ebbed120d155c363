"""``n8n-nodes-base.executionData``: saves custom execution data (``dataToSave.values[] {key, value}``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.custom_data import custom_data_set
from workflows.engine.errors import NodeError, ParameterError
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Items


@registry.register
class ExecutionData(NodeType):
    type = "n8n-nodes-base.executionData"
    versions = (1.0,)
    description = "Saves key/value pairs as the execution's custom data (filterable in the execution list)."

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        require_choice(parameters, "operation", ("save",), "save")
        data = parameters.get("dataToSave")
        if data is None:
            return
        if not isinstance(data, Mapping):
            raise ParameterError("dataToSave", "must be an object like {values: [{key, value}]}")
        values = data.get("values")
        if values is None:
            return
        if not isinstance(values, list):
            raise ParameterError("dataToSave.values", "must be a list of {key, value} objects")
        for i, entry in enumerate(values):
            if not isinstance(entry, Mapping):
                raise ParameterError(f"dataToSave.values[{i}]", "must be an object {key, value}")

    def execute(self, ctx: NodeContext) -> list[Items]:
        items = ctx.input(0)
        # As n8n: the entries are read for every item (expressions see that item); a later
        # item's value for a key wins. Stored at once, so a refused entry stores nothing in a test run.
        entries: list[tuple[Any, Any]] = []
        for index in range(len(items)):
            values = ctx.param("dataToSave.values", [], index) or []
            if not isinstance(values, list) or not all(isinstance(entry, Mapping) for entry in values):
                raise NodeError(
                    "'dataToSave.values' must be a list of {key, value} objects",
                    item_index=index,
                    extra={"parameter": "dataToSave.values"},
                )
            entries.extend((entry.get("key", ""), entry.get("value", "")) for entry in values)
        custom_data_set(ctx, entries, parameter="dataToSave.values")
        return [[{**item, "pairedItem": {"item": i}} for i, item in enumerate(items)]]
