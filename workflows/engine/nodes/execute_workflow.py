"""``n8n-nodes-base.executeWorkflow`` 1.2–1.3: run another workflow as a step.

The node builds one :class:`SubWorkflowCall` (``mode: once``) or one per item (``each``) and
hands them to the host's :class:`SubWorkflowPort`; the host creates the child executions, runs
them (or queues them: ``waitForSubWorkflow`` false) and answers with their outcomes. What
comes out, and what a failure does, is decided here.

When awaited children wait (a Wait node, an approval), the node pauses the run with a
``subworkflow`` pause naming them; the host resumes it once they have ended, and the node then
builds its output from all its calls' outcomes, as if they had ended at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import NodeError, ParameterError
from workflows.engine.nodes.base import NodeType, require_choice, require_type
from workflows.engine.registry import registry
from workflows.engine.state import Item, Items, PauseRequest
from workflows.engine.subworkflows import (
    MODES,
    ON_ERROR,
    OUTPUT_MODES,
    PAUSE_TYPE,
    SOURCES,
    WAITING,
    SubWorkflowCall,
    SubWorkflowError,
    SubWorkflowOutcome,
    SubWorkflowPort,
    error_item,
    paired,
)

MAX_CONCURRENCY = 32


@dataclass(slots=True)
class _Slot:
    """What the output of one call needs to know of the call."""

    item_index: int | None  # ``each`` mode: the input item; ``once``: every item
    workflow_ref: str | None
    wait: bool


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def workflow_ref(value: Any) -> str | None:
    """``workflowId`` as a string: n8n writes a plain id or a resource locator ``{value: id}``."""
    if isinstance(value, Mapping):
        value = value.get("value")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        text = str(value).strip()
        return text or None
    return None


def parse_workflow_json(value: Any) -> dict[str, Any]:
    """``workflowJson``: a JSON string or an object holding at least a ``nodes`` list."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError as exc:
            raise ValueError(f"is not valid JSON: {exc}") from None
    if not isinstance(value, dict) or not isinstance(value.get("nodes"), list):
        raise ValueError("must be a workflow object with a `nodes` list")
    if not isinstance(value.get("connections", {}), dict):
        raise ValueError("`connections` must be an object")
    return value


def variable_mapping(value: Any) -> dict[str, Any]:
    """``variableMapping``: ``{name: value}`` or a list of ``{name, value}``."""
    if value in (None, "", {}, []):
        return {}
    if isinstance(value, Mapping):
        if isinstance(value.get("values"), list):
            value = value["values"]
        else:
            return {str(k): v for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(v, Mapping) and isinstance(v.get("name"), str) for v in value):
        return {str(v["name"]): v.get("value") for v in value}
    raise ValueError("must be an object of name → value, or a list of {name, value}")


@registry.register
class ExecuteWorkflow(NodeType):
    type = "n8n-nodes-base.executeWorkflow"
    versions = (1.2, 1.3)
    description = (
        "Runs another workflow as a child execution: `source` `database` (`workflowId`) or `parameter` "
        "(`workflowJson`); `mode` `once` / `each` (BudFlow's `concurrency`); `options.waitForSubWorkflow`; "
        "BudFlow's `outputMode` (`outputNode`), `onSubWorkflowError`, `inheritVariables`, `variableMapping`, "
        "`timeout`."
    )
    side_effects = True

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        source = require_choice(parameters, "source", SOURCES, "database")
        if source == "database":
            raw = parameters.get("workflowId")
            inner = raw.get("value") if isinstance(raw, Mapping) else raw
            if not _is_expression(inner) and workflow_ref(raw) is None:
                raise ParameterError("workflowId", "is required: the id of the workflow to call")
        elif source == "parameter":
            raw = parameters.get("workflowJson")
            if not _is_expression(raw):
                try:
                    parse_workflow_json(raw)
                except ValueError as exc:
                    raise ParameterError("workflowJson", str(exc)) from None
        require_choice(parameters, "mode", MODES, "once")
        output_mode = require_choice(parameters, "outputMode", OUTPUT_MODES, "lastNode")
        if output_mode == "specificNode":
            output_node = parameters.get("outputNode")
            if not isinstance(output_node, str) or not output_node.strip():
                raise ParameterError("outputNode", "is required with outputMode `specificNode`")
        require_choice(parameters, "onSubWorkflowError", ON_ERROR, "stopParent")
        require_type(parameters, "inheritVariables", bool, "true or false")
        timeout = parameters.get("timeout")
        if timeout is not None and not _is_expression(timeout) and not _positive(timeout):
            raise ParameterError("timeout", "must be a number of seconds > 0")
        concurrency = parameters.get("concurrency")
        if concurrency is not None and not _is_expression(concurrency) and not _count(concurrency):
            raise ParameterError("concurrency", f"must be a whole number from 1 to {MAX_CONCURRENCY}")
        mapping = parameters.get("variableMapping")
        if not _is_expression(mapping):
            try:
                variable_mapping(mapping)
            except ValueError as exc:
                raise ParameterError("variableMapping", str(exc)) from None
        options = parameters.get("options", {})
        if not isinstance(options, Mapping):
            raise ParameterError("options", "must be an object")
        require_type(options, "waitForSubWorkflow", bool, "true or false")

    def execute(self, ctx: NodeContext) -> list[Items] | PauseRequest:
        port = ctx.execution.subworkflows
        if port is None:
            raise NodeError("Sub-workflows cannot run here: this host provides no runner for child executions")
        items = ctx.input(0)
        on_error = str(ctx.param("onSubWorkflowError", "stopParent"))
        # Resumed after the pause for waiting children. Not after an approval gate before the
        # node (``gate``), nor on a retry of a resumed run that failed (``try_errors``, set by
        # the runner): those call the children afresh.
        if ctx.resume is not None and not ctx.resume.get("gate") and "try_errors" not in ctx.metadata:
            return self._resumed(ctx, port, items, on_error)
        each = ctx.param("mode", "once") == "each"
        wait = ctx.param("options.waitForSubWorkflow", True) is not False
        if each:
            calls = [self._call(ctx, [item], i, wait) for i, item in enumerate(items)]
        else:
            calls = [self._call(ctx, items, None, wait)]
        concurrency = _int_param(ctx, "concurrency", 1) if each else 1
        outcomes = port.run(calls, concurrency=concurrency, stop_on_error=on_error == "stopParent")
        slots = [_Slot(c.item_index, c.workflow_ref, c.wait) for c in calls]
        return self._settle(ctx, port, items, on_error, slots, outcomes)

    def _resumed(
        self, ctx: NodeContext, port: SubWorkflowPort, items: Items, on_error: str
    ) -> list[Items] | PauseRequest:
        """Continued after the pause for waiting children: their calls' outcomes as they are now."""
        outcomes = port.collect(ctx.name, ctx.run_index)
        each = ctx.param("mode", "once") == "each"
        slots = [_Slot(i if each else None, o.workflow_id, True) for i, o in enumerate(outcomes)]
        now = time.time()
        for slot, outcome in zip(slots, outcomes, strict=True):
            if outcome.status != WAITING or outcome.deadline is None or outcome.deadline > now:
                continue
            timeout = ctx.param("timeout", None, slot.item_index or 0)
            after = f" after {float(timeout):g} s" if _positive(timeout) else ""
            outcome.status = "error"
            outcome.error = {
                "message": f"Sub-workflow execution {outcome.execution_id} timed out{after}",
                "type": "SubWorkflowTimeoutError",
            }
            port.abandon([str(outcome.execution_id)], status="error", error=outcome.error)
        return self._settle(ctx, port, items, on_error, slots, outcomes)

    def _settle(
        self,
        ctx: NodeContext,
        port: SubWorkflowPort,
        items: Items,
        on_error: str,
        slots: list[_Slot],
        outcomes: list[SubWorkflowOutcome],
    ) -> list[Items] | PauseRequest:
        """Pause while awaited children wait (unless a failure stops the parent anyway), else
        build the output."""
        waiting = [o for o in outcomes if o.status == WAITING]
        abandoned: set[str] = set()
        if waiting:
            if not (on_error == "stopParent" and any(o.failed for o in outcomes)):
                return _pause(ctx, on_error, outcomes, len(items))
            # The parent fails: nobody would collect what the waiting children return.
            error = {
                "message": f"Canceled: another sub-workflow call of node '{ctx.name}' failed",
                "type": "ExecutionCanceled",
            }
            abandoned = {str(o.execution_id) for o in waiting}
            port.abandon(sorted(abandoned), status="canceled", error=error)
            for outcome in waiting:
                outcome.status, outcome.error = "canceled", error
        ctx.metadata["sub_executions"] = [
            {"executionId": o.execution_id, "workflowId": o.workflow_id, "status": o.status}
            for o in outcomes
            if o.execution_id is not None
        ]
        pairs = list(zip(slots, outcomes, strict=True))
        if on_error == "stopParent":
            failures = [(slot, o) for slot, o in pairs if o.failed]
            # A sibling canceled because of the failure is not the failure to report.
            real = [(slot, o) for slot, o in failures if o.execution_id not in abandoned] or failures
            if real:
                raise _stop_parent(*real[0])
        out: Items = []
        for slot, outcome in pairs:
            indices = [slot.item_index] if slot.item_index is not None else list(range(len(items)))
            if outcome.failed:
                if on_error == "continueWithError":
                    assert outcome.error is not None
                    out.extend(error_item(outcome.error, outcome.execution_id, items[i], i) for i in indices)
                continue
            if outcome.status == "skipped":
                continue
            if not slot.wait:
                out.extend(_tagged(items[i], i, outcome) for i in indices)
            else:
                out.extend(paired(outcome.output, indices))
        return [out]

    def _call(self, ctx: NodeContext, items: Items, item_index: int | None, wait: bool) -> SubWorkflowCall:
        at = item_index or 0
        source = str(ctx.param("source", "database", at))
        ref: str | None = None
        inline: dict[str, Any] | None = None
        if source == "parameter":
            try:
                inline = parse_workflow_json(ctx.param("workflowJson", None, at))
            except ValueError as exc:
                raise NodeError(f"'workflowJson' {exc}", item_index=item_index, extra={"parameter": "workflowJson"})
        else:
            ref = workflow_ref(ctx.param("workflowId", None, at))
            if ref is None:
                raise NodeError(
                    "'workflowId' is empty: no workflow to call",
                    item_index=item_index,
                    extra={"parameter": "workflowId"},
                )
        timeout = ctx.param("timeout", None, at)
        if timeout is not None and not _positive(timeout):
            raise NodeError("'timeout' must be a number of seconds > 0", extra={"parameter": "timeout"})
        output_mode = str(ctx.param("outputMode", "lastNode", at))
        output_node = ctx.param("outputNode", None, at) if output_mode == "specificNode" else None
        inherit = ctx.param("inheritVariables", True, at) is not False
        try:
            mapped = variable_mapping(ctx.param("variableMapping", None, at))
        except ValueError as exc:
            raise NodeError(f"'variableMapping' {exc}", extra={"parameter": "variableMapping"})
        inherited = ctx.execution.extra.get("vars") if inherit else None
        variables = {**(inherited if isinstance(inherited, dict) else {}), **mapped}
        return SubWorkflowCall(
            node=ctx.name,
            run_index=ctx.run_index,
            item_index=item_index,
            source=source,
            workflow_ref=ref,
            workflow_json=inline,
            items=_inputs(ctx, items, item_index),
            wait=wait,
            timeout=float(timeout) if timeout is not None else None,
            caller_time_left=ctx.time_left(),
            output_mode=output_mode,
            output_node=str(output_node) if output_node else None,
            variables=variables,
            config={
                "source": source,
                "workflowId": ref,
                "mode": "each" if item_index is not None else "once",
                "waitForSubWorkflow": wait,
                "outputMode": output_mode,
                "outputNode": output_node,
                "onSubWorkflowError": ctx.param("onSubWorkflowError", "stopParent", at),
                "timeout": timeout,
                "inheritVariables": inherit,
                "variables": variables,
            },
        )


def _inputs(ctx: NodeContext, items: Items, item_index: int | None) -> Items:
    """The child's input items; n8n 1.2's ``workflowInputs`` (``defineBelow``) maps each item's fields."""
    mapping = ctx.raw_param("workflowInputs")
    if not isinstance(mapping, Mapping) or mapping.get("mappingMode") != "defineBelow":
        return items
    out: Items = []
    for offset, item in enumerate(items):
        index = item_index if item_index is not None else offset
        value = ctx.param("workflowInputs.value", {}, index)
        out.append({**item, "json": dict(value) if isinstance(value, Mapping) else {}})
    return out


def _pause(ctx: NodeContext, on_error: str, outcomes: list[SubWorkflowOutcome], items: int) -> PauseRequest:
    """Wait for the children that wait; the host resumes the run once they have all ended (or,
    with ``stopParent``, once one fails), and when the earliest call ``timeout`` passes."""
    awaiting = [str(o.execution_id) for o in outcomes if o.status == WAITING]
    deadlines = [o.deadline for o in outcomes if o.status == WAITING and o.deadline is not None]
    which = "execution" if len(awaiting) == 1 else "executions"
    return PauseRequest(
        node=ctx.name,
        pause_type=PAUSE_TYPE,
        run_index=ctx.run_index,
        due_at=min(deadlines) if deadlines else None,
        metadata={
            "message": f"Waiting for sub-workflow {which} {', '.join(awaiting)}",
            "awaiting": awaiting,
            "calls": [
                {
                    "executionId": o.execution_id,
                    "workflowId": o.workflow_id,
                    "status": o.status,
                    "deadline": o.deadline,
                    # A refused call has no execution to read its error from later.
                    **({"error": o.error} if o.execution_id is None and o.error else {}),
                }
                for o in outcomes
            ],
            "onSubWorkflowError": on_error,
            "items": items,
        },
    )


def _tagged(item: Item, index: int, outcome: SubWorkflowOutcome) -> Item:
    """Fire and forget: the input item, tagged (n8n's item ``metadata.subExecution``) with its child."""
    tag = {"executionId": outcome.execution_id, "workflowId": outcome.workflow_id}
    return {**item, "metadata": {**(item.get("metadata") or {}), "subExecution": tag}, "pairedItem": {"item": index}}


def _stop_parent(call: _Slot, outcome: SubWorkflowOutcome) -> SubWorkflowError:
    error = outcome.error or {}
    message = str(error.get("message") or "Sub-workflow failed")
    if outcome.execution_id is not None:
        where = f" at node '{error['node']}'" if error.get("node") else ""
        message = f"Sub-workflow execution {outcome.execution_id} failed{where}: {message}"
    return SubWorkflowError(
        message,
        error_type=str(error.get("type") or "SubWorkflowError"),
        item_index=call.item_index,
        extra={"executionId": outcome.execution_id, "subWorkflowId": outcome.workflow_id or call.workflow_ref},
    )


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_CONCURRENCY


def _int_param(ctx: NodeContext, name: str, default: int) -> int:
    value = ctx.param(name, default)
    if value is None:
        return default
    if not _count(value):
        raise NodeError(f"'{name}' must be a whole number from 1 to {MAX_CONCURRENCY}", extra={"parameter": name})
    return int(value)
