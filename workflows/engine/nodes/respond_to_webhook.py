"""``n8n-nodes-base.respondToWebhook`` 1.1–1.5: the answer of a ``responseNode`` webhook."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import NodeError, ParameterError
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Items

RESPOND_WITH = ("allIncomingItems", "firstIncomingItem", "json", "text", "noData", "redirect")


@registry.register
class RespondToWebhook(NodeType):
    type = "n8n-nodes-base.respondToWebhook"
    versions = (1.1, 1.2, 1.3, 1.4, 1.5)
    description = (
        "Answers a `responseNode` webhook: `respondWith` (`allIncomingItems`, `firstIncomingItem`, `json`, "
        "`text`, `noData`, `redirect`), `responseBody`, `redirectURL`, `options.responseCode`, "
        "`options.responseHeaders`; passes its items on."
    )
    side_effects = True

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        respond_with = require_choice(parameters, "respondWith", RESPOND_WITH, "firstIncomingItem")
        body = parameters.get("responseBody")
        if respond_with == "json" and isinstance(body, str) and body and not body.startswith("="):
            try:
                json.loads(body)
            except ValueError as exc:
                raise ParameterError("responseBody", f"is not valid JSON: {exc}") from None
        if respond_with == "redirect" and not parameters.get("redirectURL"):
            raise ParameterError("redirectURL", "is required to redirect")
        options = parameters.get("options", {})
        if not isinstance(options, Mapping):
            raise ParameterError("options", "must be an object")
        code = options.get("responseCode", 200)
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise ParameterError("options.responseCode", "must be an HTTP status code (100-599)")

    def execute(self, ctx: NodeContext) -> list[Items]:
        items = ctx.input(0)
        respond_with = ctx.param("respondWith", "firstIncomingItem")
        status = int(ctx.param("options.responseCode", 200) or 200)
        headers = {
            str(h.get("name")): str(h.get("value", ""))
            for h in (ctx.param("options.responseHeaders.entries", []) or [])
            if isinstance(h, Mapping) and h.get("name")
        }
        body: Any = None
        if respond_with == "allIncomingItems":
            body = [item.get("json", {}) for item in items]
        elif respond_with == "firstIncomingItem":
            body = items[0].get("json", {}) if items else {}
        elif respond_with == "json":
            raw = ctx.param("responseBody", "{}")
            try:
                body = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError as exc:
                raise NodeError(f"Invalid JSON in 'Response Body' field: {exc}") from None
        elif respond_with == "text":
            body = str(ctx.param("responseBody", ""))
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        elif respond_with == "redirect":
            status = status if 300 <= status < 400 else 307
            headers["Location"] = str(ctx.param("redirectURL", ""))
        key = ctx.param("options.responseKey", "")
        if key and respond_with in ("allIncomingItems", "firstIncomingItem"):
            body = {str(key): body}
        ctx.metadata["webhook_response"] = {
            "status": status,
            "headers": headers,
            "body": body,
            "kind": respond_with,
        }
        return [[{**item, "pairedItem": {"item": i}} for i, item in enumerate(items)]]
