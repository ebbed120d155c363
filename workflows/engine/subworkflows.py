"""Sub-workflow calls: what the Execute Workflow node asks its host for, and the pure rules
around a call (depth and cycle limits, caller policy, which trigger starts the child, which
items come back, the error-item shape).

The engine never runs a child itself: the host puts a :class:`SubWorkflowPort` on
:class:`~workflows.engine.context.ExecutionInfo` and the node hands it :class:`SubWorkflowCall`
objects. The host creates and runs the child executions and answers with one
:class:`SubWorkflowOutcome` per call, so persistence stays outside the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from workflows.engine.errors import NodeError
from workflows.engine.state import Item, Items, RunData

TRIGGER_TYPE = "n8n-nodes-base.executeWorkflowTrigger"
SOURCES = ("database", "parameter")
MODES = ("once", "each")
OUTPUT_MODES = ("lastNode", "allNodes", "specificNode", "summary")
ON_ERROR = ("stopParent", "continueWithEmpty", "continueWithError")
CALLER_POLICIES = ("any", "none", "workflowsFromSameOwner", "workflowsFromAList")
DEFAULT_CALLER_POLICY = "workflowsFromSameOwner"
DEFAULT_MAX_DEPTH = 10
# How an inline (``source: parameter``) child appears on the execution stack: it has no id.
INLINE_STACK_ENTRY = "parameter"
# The pause a caller takes while some of its awaited children wait (a wait, an approval...).
PAUSE_TYPE = "subworkflow"
WAITING = "waiting"


# -- errors ---------------------------------------------------------------------------------
class SubWorkflowRefused(NodeError):
    """A call refused before any child execution exists (limits, policy, missing workflow)."""

    error_type = "SubWorkflowRefused"


class MaxDepthError(SubWorkflowRefused):
    error_type = "MaxExecutionDepthError"


class CircularExecutionError(SubWorkflowRefused):
    error_type = "CircularExecutionError"


class WorkflowNotFoundError(SubWorkflowRefused):
    error_type = "WorkflowNotFoundError"


class CallerPolicyError(SubWorkflowRefused):
    error_type = "CallerPolicyError"


class NotCallableError(SubWorkflowRefused):
    """The child has no enabled Execute Workflow Trigger, or its inline JSON is not a workflow."""

    error_type = "WorkflowNotCallableError"


class SubWorkflowError(NodeError):
    """A call failed and the node's ``onSubWorkflowError`` is ``stopParent``.

    ``error_type`` is the child's own (``StopAndError``, ``NodeApiError`` ...) or the refusal's.
    """

    def __init__(self, message: str, *, error_type: str, item_index: int | None, extra: dict[str, Any]) -> None:
        super().__init__(message, item_index=item_index, extra=extra)
        self.error_type = error_type


# -- the port -------------------------------------------------------------------------------
@dataclass(slots=True)
class SubWorkflowCall:
    """One child to start: which workflow, with which items, and what the caller wants back."""

    node: str
    run_index: int
    item_index: int | None  # ``each`` mode: the input item this child is for
    source: str  # ``database`` | ``parameter``
    workflow_ref: str | None  # ``database``: the id (or n8n id alias) of the workflow
    workflow_json: dict[str, Any] | None  # ``parameter``: the inline workflow
    items: Items
    wait: bool = True
    timeout: float | None = None  # seconds; None: no limit
    # The caller's own running time left (its node or execution timeout): a child run in place
    # is stopped when it is spent. ``None``: the caller has no limit.
    caller_time_left: float | None = None
    output_mode: str = "lastNode"
    output_node: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)  # what the host records about the call


@dataclass(slots=True)
class SubWorkflowOutcome:
    """How one call ended, as the parent sees it.

    ``status``: ``success``, ``error``, ``canceled``, ``waiting`` (the child waits: a wait
    node, an approval; the caller waits too), ``queued`` (fire and forget: handed to the queue)
    or ``skipped`` (not started because an earlier call failed and the node stops on the first
    error). ``output`` is already selected by the call's output mode. ``deadline`` (epoch
    seconds) is when a waiting child's call times out, ``None`` without a ``timeout``.
    """

    status: str
    execution_id: str | None = None
    workflow_id: str | None = None
    output: Items = field(default_factory=list)
    error: dict[str, Any] | None = None
    deadline: float | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


class SubWorkflowPort(Protocol):
    """Provided by the host: starts children and, for waiting calls, runs them to the end.

    A child that waits is left waiting (outcome ``waiting``); the node then pauses its run
    (:data:`PAUSE_TYPE`) and the host resumes it once those children have ended.
    """

    def run(
        self, calls: Sequence[SubWorkflowCall], *, concurrency: int = 1, stop_on_error: bool = False
    ) -> list[SubWorkflowOutcome]:
        """One outcome per call, in call order. Never raises for a failing or refused child."""
        ...

    def collect(self, node: str, run_index: int) -> list[SubWorkflowOutcome]:
        """After a resume: the outcomes of the calls the paused run of ``node`` made, in call
        order, as they stand now (``waiting`` for a child that has not ended)."""
        ...

    def abandon(self, execution_ids: Sequence[str], *, status: str, error: dict[str, Any]) -> None:
        """Give up waiting for these children: stop them and record their calls as ``status``
        (``error`` / ``canceled``) with ``error``."""
        ...


# -- limits and policy ----------------------------------------------------------------------
def check_call(*, stack: Sequence[str], depth: int, target: str | None, max_depth: int) -> None:
    """Refuse a call that would revisit a workflow of the chain or go deeper than ``max_depth``.

    ``stack`` holds the workflow ids of the chain, root first, ending with the caller; so a
    workflow calling itself is refused on its first call. ``target`` is ``None`` for an inline
    child, which has no id to revisit.
    """
    if target is not None and target in stack:
        chain = " → ".join([*stack, target])
        raise CircularExecutionError(
            f"Circular sub-workflow call: workflow {target} is already running in this chain ({chain})",
            extra={"subWorkflowId": target, "stack": list(stack)},
        )
    if depth + 1 > max_depth:
        raise MaxDepthError(
            f"Maximum sub-workflow depth of {max_depth} exceeded: the child would run at depth {depth + 1}",
            extra={"subWorkflowId": target, "depth": depth + 1, "maxDepth": max_depth},
        )


def caller_ids(settings: Mapping[str, Any]) -> set[str]:
    """``callerIds``: a comma-separated string as n8n stores it (a list is accepted too)."""
    raw = settings.get("callerIds") or ""
    parts = raw if isinstance(raw, list) else str(raw).split(",")
    return {str(part).strip() for part in parts if str(part).strip()}


def check_caller_policy(
    *, settings: Mapping[str, Any], target: str, caller: str, caller_aliases: Iterable[str], same_owner: bool
) -> None:
    """Whether the child's ``callerPolicy`` lets workflow ``caller`` call it (n8n's rules).

    ``caller_aliases`` are every id the caller is known by (its id, its n8n id).
    """
    policy = settings.get("callerPolicy") or DEFAULT_CALLER_POLICY
    if policy == "any":
        return
    if policy == "none":
        raise CallerPolicyError(
            f"Workflow {target} may not be called by other workflows (its callerPolicy is `none`)",
            extra={"subWorkflowId": target, "callerPolicy": policy},
        )
    if policy == "workflowsFromAList":
        if caller_ids(settings) & set(caller_aliases):
            return
        raise CallerPolicyError(
            f"Workflow {target} may be called only by the workflows in its callerIds; workflow {caller} is not listed",
            extra={"subWorkflowId": target, "callerPolicy": policy},
        )
    if not same_owner:
        raise CallerPolicyError(
            f"Workflow {target} may be called only by workflows of the same owner "
            "(its callerPolicy is `workflowsFromSameOwner`)",
            extra={"subWorkflowId": target, "callerPolicy": DEFAULT_CALLER_POLICY},
        )


def find_trigger(nodes: Sequence[Mapping[str, Any]], workflow: str) -> str:
    """The child's entry: its first enabled Execute Workflow Trigger by position (as n8n)."""
    triggers = [n for n in nodes if n.get("type") == TRIGGER_TYPE and not n.get("disabled")]
    if not triggers:
        raise NotCallableError(
            f"Workflow {workflow} has no enabled Execute Workflow Trigger node, so it cannot be called",
            extra={"subWorkflowId": workflow},
        )

    def key(node: Mapping[str, Any]) -> tuple[float, float]:
        pos = node.get("position") or [0, 0]
        return float(pos[1]), float(pos[0])

    return str(sorted(triggers, key=key)[0]["name"])


# -- items in and out -----------------------------------------------------------------------
def child_items(items: Items) -> Items:
    """The items a child starts with: json and binary pass through, lineage starts afresh."""
    out: Items = []
    for i, item in enumerate(items):
        child: Item = {"json": item.get("json", {})}
        if item.get("binary"):
            child["binary"] = item["binary"]
        child["pairedItem"] = {"item": i}
        out.append(child)
    return out


def _strip(item: Item) -> Item:
    return {k: v for k, v in item.items() if k != "pairedItem"}


def _run_items(output: list[Items] | None) -> Items:
    """A run's items as the parent receives them: output 0, or the first output that has items."""
    if not output:
        return []
    for items in output:
        if items:
            return items
    return []


def select_output(
    *,
    run_data: RunData,
    last_node: str | None,
    output_mode: str,
    output_node: str | None,
    execution_id: str | None,
    status: str,
    execution_time_ms: float,
) -> Items:
    """The items a finished child hands back, by ``outputMode``.

    ``lastNode``: the last run of the node that ran last; ``specificNode``: the last successful
    run of ``output_node`` (none when it did not run); ``allNodes``: every run's items in
    execution order; ``summary``: one item describing the run.
    """
    if output_mode == "summary":
        runs = sorted((r for recs in run_data.values() for r in recs), key=lambda r: r.execution_index)
        last = run_data.get(last_node or "") or []
        return [
            {
                "json": {
                    "executionId": execution_id,
                    "status": status,
                    "success": status == "success",
                    "executionTime": round(execution_time_ms, 3),
                    "nodesExecuted": len(run_data),
                    "summary": {
                        "lastNodeExecuted": last_node,
                        "nodeRuns": len(runs),
                        "outputItems": len(_run_items(last[-1].output)) if last else 0,
                    },
                }
            }
        ]
    if output_mode == "allNodes":
        runs = sorted((r for recs in run_data.values() for r in recs), key=lambda r: r.execution_index)
        return [_strip(item) for run in runs for items in (run.output or []) for item in items]
    name = output_node if output_mode == "specificNode" else last_node
    done = [r for r in run_data.get(name or "") or [] if r.status == "success"]
    return [_strip(item) for item in _run_items(done[-1].output)] if done else []


def paired(items: Items, indices: Sequence[int]) -> Items:
    """Child output items linked to the parent's input items they came from.

    One child per item (``each``), or as many items out as in: one to one; otherwise every
    output item derives from all the inputs (as n8n).
    """
    if len(indices) == 1:
        link: Any = {"item": indices[0]}
        return [{**item, "pairedItem": link} for item in items]
    if len(items) == len(indices):
        return [{**item, "pairedItem": {"item": index}} for item, index in zip(items, indices, strict=True)]
    every = [{"item": index} for index in indices]
    return [{**item, "pairedItem": every} for item in items]


def error_item(error: Mapping[str, Any], execution_id: str | None, item: Item, index: int) -> Item:
    """The one shape of a failed call's item (``continueWithError``)."""
    return {
        "json": {
            "error": str(error.get("message") or "Sub-workflow failed"),
            "errorType": str(error.get("type") or SubWorkflowRefused.error_type),
            "executionId": execution_id,
            "input": item.get("json", {}),
            "success": False,
        },
        "pairedItem": {"item": index},
    }


def apply_input_schema(items: Items, fields: Sequence[str]) -> Items:
    """Keep only the declared fields of each item's json; a missing field becomes ``null``."""
    return [
        {
            **item,
            "json": {name: (item.get("json") or {}).get(name) for name in fields},
            "pairedItem": {"item": i},
        }
        for i, item in enumerate(items)
    ]
