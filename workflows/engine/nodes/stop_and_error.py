"""``n8n-nodes-base.stopAndError``: fails the run on purpose."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import ParameterError, StopWorkflowError
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Items


@registry.register
class StopAndError(NodeType):
    type = "n8n-nodes-base.stopAndError"
    versions = (1.0,)
    description = "Fails the execution with `errorMessage` or `errorObject`."

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        kind = require_choice(parameters, "errorType", ("errorMessage", "errorObject"), "errorMessage")
        if kind == "errorObject":
            raw = parameters.get("errorObject")
            if isinstance(raw, str) and not raw.startswith("="):
                try:
                    json.loads(raw or "{}")
                except ValueError as exc:
                    raise ParameterError("errorObject", f"is not valid JSON: {exc}") from exc

    def execute(self, ctx: NodeContext) -> list[Items]:
        if ctx.param("errorType", "errorMessage") == "errorObject":
            raw = ctx.param("errorObject", "{}")
            obj = json.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(obj, dict):
                obj = {"message": str(obj)}
            message = str(obj.get("message") or obj.get("description") or json.dumps(obj))
            raise StopWorkflowError(message, extra={"errorObject": obj})
        raise StopWorkflowError(str(ctx.param("errorMessage", "") or "Workflow stopped by Stop and Error node"))
