"""``n8n-nodes-base.errorTrigger``: the entry of an error workflow.

An execution started for a failure gets the failure payload as its input (one item:
``{execution: {id, url, error, lastNodeExecuted, mode, retryOf}, workflow: {id, name}}``) and
the trigger emits it unchanged. Run by hand without input it emits n8n's example payload, so
the rest of an error workflow can be built and tried before anything fails.
"""

from __future__ import annotations

import copy
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.nodes.base import NodeType
from workflows.engine.registry import registry
from workflows.engine.state import Items

ERROR_TRIGGER_TYPE = "n8n-nodes-base.errorTrigger"
_TEST_MODES = ("manual", "test")

EXAMPLE_PAYLOAD: dict[str, Any] = {
    "execution": {
        "id": "231",
        "url": "https://budflow.example.com/api/executions/231",
        "retryOf": "34",
        "error": {"message": "Example Error Message", "stack": "Stacktrace", "node": None},
        "lastNodeExecuted": "Node With Error",
        "mode": "manual",
    },
    "workflow": {"id": "1", "name": "Example Workflow"},
}


@registry.register
class ErrorTrigger(NodeType):
    type = ERROR_TRIGGER_TYPE
    versions = (1.0,)
    description = (
        "Entry of an error workflow: outputs the failure payload "
        "(`execution {id, url, error {message, stack, node}, lastNodeExecuted, mode, retryOf}`, "
        "`workflow {id, name}`); a manual run without input outputs an example payload."
    )
    is_trigger = True
    inputs = 0

    def execute(self, ctx: NodeContext) -> list[Items]:
        items = ctx.input(0)
        if items:
            return [items]
        if ctx.execution.mode in _TEST_MODES:
            return [[{"json": copy.deepcopy(EXAMPLE_PAYLOAD)}]]
        return [[{"json": {}}]]
