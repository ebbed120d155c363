"""``n8n-nodes-base.webhook`` 2, 2.1: starts an execution from an HTTP request.

The web layer turns the request into the trigger's input item ``{headers, params, query, body,
webhookUrl, executionMode}``; the node passes it on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import ParameterError
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Items

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
RESPONSE_MODES = ("onReceived", "lastNode", "responseNode")
RESPONSE_DATA = ("firstEntryJson", "allEntries", "noData")


def webhook_path(node: Mapping[str, Any]) -> str:
    """The node's path without surrounding slashes (n8n falls back to the ``webhookId``)."""
    params = node.get("parameters") or {}
    path = params.get("path") or node.get("webhookId") or ""
    return str(path).strip().strip("/")


def webhook_method(node: Mapping[str, Any]) -> str:
    return str((node.get("parameters") or {}).get("httpMethod") or "GET").upper()


@registry.register
class Webhook(NodeType):
    type = "n8n-nodes-base.webhook"
    versions = (2.0, 2.1)
    description = (
        "HTTP trigger on `/webhook/{path}` (active workflows) and `/webhook-test/{path}` (manual runs): "
        "`httpMethod`, `path`, `responseMode` (`onReceived`, `lastNode`, `responseNode`), `responseCode`, "
        "`responseData`."
    )
    is_trigger = True
    inputs = 0

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        if parameters.get("multipleMethods"):
            raise ParameterError("multipleMethods", "several HTTP methods on one Webhook node are not supported yet")
        method = parameters.get("httpMethod", "GET")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise ParameterError("httpMethod", f"must be one of {', '.join(METHODS)}")
        path = parameters.get("path", "")
        if not isinstance(path, str):
            raise ParameterError("path", "must be a string")
        if path.startswith("="):
            raise ParameterError("path", "must be a fixed path, not an expression")
        if not webhook_path(node):
            raise ParameterError("path", "is required (or a webhookId on the node)")
        if any(c in path for c in "?#") or ".." in path.split("/"):
            raise ParameterError("path", "must not contain '?', '#' or '..'")
        require_choice(parameters, "responseMode", RESPONSE_MODES, "onReceived")
        require_choice(parameters, "responseData", RESPONSE_DATA, "firstEntryJson")
        code = parameters.get("responseCode", 200)
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise ParameterError("responseCode", "must be an HTTP status code (100-599)")
        options = parameters.get("options", {})
        if not isinstance(options, Mapping):
            raise ParameterError("options", "must be an object")

    def execute(self, ctx: NodeContext) -> list[Items]:
        items = ctx.input(0)
        return [items if items else [{"json": {"headers": {}, "params": {}, "query": {}, "body": {}}}]]
