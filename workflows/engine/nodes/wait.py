"""``n8n-nodes-base.wait`` 1.1: pause the run until a time, a webhook or form call, a manual
resume or an approval. The node asks for a pause; the host stores it durably and continues the
run later with ``ctx.resume`` set, when the node produces its output.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from typing import Any

from workflows.engine.approval import approval_request, approval_settings
from workflows.engine.context import NodeContext
from workflows.engine.errors import NodeError, ParameterError
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Items, PauseRequest

MODES = ("timeInterval", "specificTime", "webhook", "form", "manual", "approval")
PAUSE_TYPES = {
    "timeInterval": "time",
    "specificTime": "time",
    "webhook": "webhook",
    "form": "form",
    "manual": "manual",
    "approval": "approval",
}
MAX_EARLY_SECONDS = 5.0
UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_datetime(value: Any) -> dt.datetime:
    """ISO date-time (a date without a zone is UTC, as n8n's server time)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError("not a date-time")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@registry.register
class Wait(NodeType):
    type = "n8n-nodes-base.wait"
    versions = (1.1,)
    description = (
        "Pauses the run: `resume` `timeInterval` (`amount`, `unit`), `specificTime` (`dateTime`), `webhook`, "
        "`form` (`formFields`), and BudFlow's `manual` (`inputSchema`) and `approval` (`approvers`, `message`, "
        "`timeout`, `onTimeout`); `limitWaitTime` bounds webhook/form/manual waits."
    )
    # The pause itself is committed by the pause path (a waiting run always checkpoints), and
    # completing a resumed wait has no effect outside the execution: no commit of its own.
    side_effects = False

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        mode = require_choice(parameters, "resume", MODES, "timeInterval")
        if mode == "timeInterval":
            amount = parameters.get("amount", 1)
            if not (isinstance(amount, str) and amount.startswith("=")) and (not _number(amount) or amount < 0):
                raise ParameterError("amount", "must be a number ≥ 0")
            require_choice(parameters, "unit", tuple(UNITS), "hours")
        elif mode == "specificTime":
            value = parameters.get("dateTime")
            if not (isinstance(value, str) and value.startswith("=")):
                try:
                    parse_datetime(value)
                except ValueError:
                    raise ParameterError("dateTime", "must be an ISO date-time") from None
        elif mode == "manual":
            schema = parameters.get("inputSchema")
            if isinstance(schema, str) and schema.strip():
                try:
                    schema = json.loads(schema)
                except ValueError as exc:
                    raise ParameterError("inputSchema", f"is not valid JSON: {exc}") from None
            if schema not in (None, "") and not isinstance(schema, dict):
                raise ParameterError("inputSchema", "must be a JSON Schema object")
        elif mode == "approval":
            approval_settings(parameters, "")
        elif mode == "form":
            fields = (parameters.get("formFields") or {}).get("values", [])
            if not isinstance(fields, list) or not all(isinstance(f, Mapping) and f.get("fieldLabel") for f in fields):
                raise ParameterError("formFields.values", "must be a list of fields with a `fieldLabel`")
        if mode == "webhook":
            method = parameters.get("httpMethod", "GET")
            if not isinstance(method, str) or method.upper() not in METHODS:
                raise ParameterError("httpMethod", f"must be one of {', '.join(METHODS)}")
        if mode in ("webhook", "form", "manual") and parameters.get("limitWaitTime"):
            kind = require_choice(
                parameters, "limitType", ("afterTimeInterval", "atSpecifiedTime"), "afterTimeInterval"
            )
            if kind == "afterTimeInterval":
                amount = parameters.get("resumeAmount", 1)
                if not _number(amount) or amount < 0:
                    raise ParameterError("resumeAmount", "must be a number ≥ 0")
                require_choice(parameters, "resumeUnit", tuple(UNITS), "hours")
            else:
                try:
                    parse_datetime(parameters.get("maxDateAndTime"))
                except ValueError:
                    raise ParameterError("maxDateAndTime", "must be an ISO date-time") from None

    # -- pausing ---------------------------------------------------------------------
    def execute(self, ctx: NodeContext) -> list[Items] | PauseRequest:
        mode = ctx.param("resume", "timeInterval")
        if ctx.resume is None:
            return self._pause(ctx, mode)
        return self._resumed(ctx, mode, ctx.resume)

    def _limit(self, ctx: NodeContext) -> float | None:
        if not ctx.param("limitWaitTime", False):
            return None
        if ctx.param("limitType", "afterTimeInterval") == "atSpecifiedTime":
            return parse_datetime(ctx.param("maxDateAndTime")).timestamp()
        return time.time() + float(ctx.param("resumeAmount", 1)) * UNITS[ctx.param("resumeUnit", "hours")]

    def _pause(self, ctx: NodeContext, mode: str) -> PauseRequest:
        items = len(ctx.input(0))
        if mode == "approval":
            settings = approval_settings(ctx.resolve(dict(ctx.parameters), 0, "parameters"), "")
            return approval_request(ctx.name, settings, items, gate=False)
        metadata: dict[str, Any] = {"items": items}
        due: float | None
        if mode == "timeInterval":
            try:
                amount = float(ctx.param("amount", 1))
            except (TypeError, ValueError):
                raise NodeError("'Amount' must be a number", extra={"parameter": "amount"}) from None
            if amount < 0:
                raise NodeError("'Amount' must not be negative", extra={"parameter": "amount"})
            due = time.time() + amount * UNITS[ctx.param("unit", "hours")]
        elif mode == "specificTime":
            try:
                due = parse_datetime(ctx.param("dateTime")).timestamp()
            except ValueError:
                raise NodeError("'Date and Time' is not a valid date-time", extra={"parameter": "dateTime"}) from None
        else:
            due = self._limit(ctx)
            if mode == "webhook":
                metadata["http_method"] = str(ctx.param("httpMethod", "GET")).upper()
            if mode == "form":
                metadata["form"] = {
                    "title": ctx.param("formTitle", "") or ctx.name,
                    "description": ctx.param("formDescription", ""),
                    "fields": ctx.param("formFields.values", []) or [],
                }
            if mode == "manual":
                schema = ctx.param("inputSchema")
                metadata["input_schema"] = (
                    json.loads(schema) if isinstance(schema, str) and schema.strip() else (schema or None)
                )
                metadata["message"] = str(ctx.param("message", "") or "")
        return PauseRequest(
            node=ctx.name,
            pause_type=PAUSE_TYPES[mode],
            run_index=ctx.run_index,
            due_at=due,
            expires_at=None if mode in ("timeInterval", "specificTime") else due,
            metadata=metadata,
        )

    # -- continuing --------------------------------------------------------------------
    def _resumed(self, ctx: NodeContext, mode: str, resume: Mapping[str, Any]) -> list[Items]:
        items = ctx.input(0)
        passthrough = [{**item, "pairedItem": {"item": i}} for i, item in enumerate(items)]
        trigger = resume.get("trigger")
        not_before = resume.get("not_before")
        if isinstance(not_before, (int, float)):
            # Handed over a little early by the timer process: continue exactly at the due time.
            time.sleep(min(max(0.0, not_before - time.time()), MAX_EARLY_SECONDS))
        if mode in ("timeInterval", "specificTime") or (trigger == "timeout" and mode != "approval"):
            return [passthrough]
        data = resume.get("data")
        if mode in ("webhook", "form"):
            request = data if isinstance(data, Mapping) else {}
            return [
                [
                    {
                        "json": {
                            "headers": request.get("headers", {}),
                            "params": request.get("params", {}),
                            "query": request.get("query", {}),
                            "body": request.get("body", {}),
                        },
                        "pairedItem": {"item": 0},
                    }
                ]
            ]
        if mode == "manual":
            if data in (None, {}):
                return [passthrough]
            values = data if isinstance(data, list) else [data]
            return [[{"json": v if isinstance(v, dict) else {"data": v}, "pairedItem": {"item": 0}} for v in values]]
        approval = {
            "decision": "approved",
            "by": resume.get("by"),
            "at": resume.get("at"),
            "comment": resume.get("comment", ""),
            "data": data,
        }
        return [
            [
                {**item, "json": {**item.get("json", {}), "approval": approval}, "pairedItem": {"item": i}}
                for i, item in enumerate(items)
            ]
        ]
