"""``n8n-nodes-base.manualTrigger``: the start of manual runs."""

from __future__ import annotations

from workflows.engine.context import NodeContext
from workflows.engine.nodes.base import NodeType
from workflows.engine.registry import registry
from workflows.engine.state import Items


@registry.register
class ManualTrigger(NodeType):
    type = "n8n-nodes-base.manualTrigger"
    versions = (1.0,)
    description = "Starts a manual run; outputs the run's input items (or one empty item)."
    is_trigger = True
    inputs = 0

    def execute(self, ctx: NodeContext) -> list[Items]:
        items = ctx.input(0)
        return [items if items else [{"json": {}}]]
