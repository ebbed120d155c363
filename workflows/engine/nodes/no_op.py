"""``n8n-nodes-base.noOp``: passes items through."""

from __future__ import annotations

from workflows.engine.context import NodeContext
from workflows.engine.nodes.base import NodeType
from workflows.engine.registry import registry
from workflows.engine.state import Items


@registry.register
class NoOp(NodeType):
    type = "n8n-nodes-base.noOp"
    versions = (1.0,)
    description = "Passes its input items through unchanged."

    def execute(self, ctx: NodeContext) -> list[Items]:
        return [[{**item, "pairedItem": {"item": i}} for i, item in enumerate(ctx.input(0))]]
