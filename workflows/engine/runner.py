"""The resumable execution loop.

One loop serves every way of running: a full run starts with the trigger on the stack; a
partial run, a resume, a crash recovery and a retry start from a rebuilt or restored
:class:`ExecutionState`. Branch order is n8n's "v1": one branch runs to its end before the
next, and a node's children are taken top to bottom, then left to right, by canvas position.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from workflows.engine.approval import approval_request, approval_settings
from workflows.engine.context import Evaluator, ExecutionInfo, NodeContext
from workflows.engine.errors import (
    EndlessLoopError,
    ExecutionCanceledError,
    ExecutionTimeoutError,
    NodeError,
    NodeTimeoutError,
)
from workflows.engine.expressions import evaluate_template
from workflows.engine.graph import Edge, Graph
from workflows.engine.nodes.base import NodeType
from workflows.engine.registry import NodeRegistry
from workflows.engine.retry import RetryPolicy
from workflows.engine.state import (
    ExecutionState,
    Items,
    NodeRunRecord,
    PauseRequest,
    RunData,
    Task,
)

DEFAULT_MAX_NODE_RUNS = 100_000


class RunHooks(Protocol):
    """How the engine reports to its host (persistence, events, cancellation)."""

    def node_started(
        self, node: str, node_type: str, run_index: int, execution_index: int, side_effects: bool
    ) -> None: ...

    def node_finished(self, record: NodeRunRecord, runner: WorkflowRunner) -> None:
        """Called after a node ran and its children were queued: the moment to checkpoint."""

    def should_stop(self) -> bool: ...


class NullHooks:
    """Hooks that record nothing (benchmarks, pure engine tests)."""

    def node_started(self, node: str, node_type: str, run_index: int, execution_index: int, side_effects: bool) -> None:
        return None

    def node_finished(self, record: NodeRunRecord, runner: WorkflowRunner) -> None:
        return None

    def should_stop(self) -> bool:
        return False


@dataclass(slots=True)
class RunResult:
    """How a call to :meth:`WorkflowRunner.run` ended."""

    status: str  # success | error | waiting | canceled
    last_node: str | None = None
    error: dict[str, Any] | None = None
    pause: PauseRequest | None = None


@dataclass(slots=True)
class _NodePlan:
    """Per-node facts computed once per runner, so the loop does only dict lookups."""

    node: Mapping[str, Any]
    node_type: NodeType
    edges: list[Edge]  # sorted so that pushing in order leaves the top-left child on top
    input_count: int
    output_count: int
    disabled: bool
    execute_once: bool
    always_output: bool
    on_error: str
    retry: RetryPolicy | None
    timeout: float | None  # seconds the node may run
    approval: dict[str, Any] | None  # ``requireApproval``: pause for approval before running


class _Plans(dict[str, "_NodePlan"]):
    """Node plans, each made the first time it is needed."""

    __slots__ = ("_runner",)

    def __init__(self, runner: WorkflowRunner) -> None:
        super().__init__()
        self._runner = runner

    def __missing__(self, name: str) -> _NodePlan:
        plan = self[name] = self._runner.plan(name)
        return plan


class WorkflowRunner:
    """Runs a workflow over an :class:`ExecutionState` until it ends, pauses or is stopped."""

    def __init__(
        self,
        *,
        nodes: list[Mapping[str, Any]],
        connections: Mapping[str, Any],
        registry: NodeRegistry,
        state: ExecutionState,
        run_data: RunData | None = None,
        hooks: RunHooks | None = None,
        execution: ExecutionInfo | None = None,
        evaluator: Evaluator | None = None,
        max_node_runs: int = DEFAULT_MAX_NODE_RUNS,
        graph: Graph | None = None,
        pinned: Mapping[str, Mapping[str, Any]] | None = None,
        max_inline_retry_wait: float | None = None,
        interrupted: Callable[[], bool] | None = None,
        execution_timeout: float | None = None,
    ) -> None:
        self.graph = graph or Graph(nodes, connections)
        self.registry = registry
        self.state = state
        self.run_data: RunData = run_data if run_data is not None else {}
        self.hooks: RunHooks = hooks or NullHooks()
        self.execution = execution or ExecutionInfo()
        # n8n expressions (``={{ ... }}``) unless a host supplies another evaluator.
        self.evaluator: Evaluator = evaluator if evaluator is not None else evaluate_template
        self.max_node_runs = max_node_runs
        # Pin data: {node: {"ids": {output: pin id}, "outputs": {output: items}}}; such a node
        # is not executed, its output is the pin.
        self.pinned = pinned or {}
        # A retry wait longer than this pauses the run (a timed wait: no worker is held);
        # ``None`` waits in place whatever the length (hosts without durable waits).
        self.max_inline_retry_wait = max_inline_retry_wait
        # The host's stop request, read by nodes while they block (see ``NodeContext.interruptible``).
        self.interrupted = interrupted
        # ``executionTimeout`` in seconds of running time (waits do not count): the run ends
        # ``canceled`` once ``state.active_seconds`` reaches it, a node in flight included.
        self.execution_timeout = execution_timeout if execution_timeout and execution_timeout > 0 else None
        self._started: float | None = None  # monotonic start of this call of ``run``
        self._active_base = state.active_seconds
        self._deadline: float | None = None  # monotonic time the execution timeout is reached
        unknown = next((n for n in self.graph.nodes.values() if registry.get(n["type"]) is None), None)
        if unknown is not None:
            raise NodeError(f"node {unknown['name']!r} has unknown type {unknown['type']!r}")
        # Planned on first use: a run that touches a few nodes of a large workflow pays for those.
        self._plans = _Plans(self)
        self._filter = self._effective_filter()

    # -- setup -----------------------------------------------------------------------
    def plan(self, name: str) -> _NodePlan:
        return self._plan(self.graph.nodes[name])

    def _plan(self, node: Mapping[str, Any]) -> _NodePlan:
        node_type = self.registry.get(node["type"])
        if node_type is None:
            raise NodeError(f"node {node['name']!r} has unknown type {node['type']!r}")
        graph = self.graph
        edges = [e for out in graph.outgoing[node["name"]] for e in out]
        # n8n v1 sorts children bottom-right first and unshifts each onto the stack front;
        # pushing in the same order onto our stack's end gives the same pop order.
        if len(edges) > 1:
            edges.sort(key=lambda e: (-graph.position(e.target)[1], -graph.position(e.target)[0]))
        on_error = node.get("onError") or ("continueRegularOutput" if node.get("continueOnFail") else "stopWorkflow")
        outputs = node_type.output_count(node) + (1 if on_error == "continueErrorOutput" else 0)
        return _NodePlan(
            node=node,
            node_type=node_type,
            edges=edges,
            input_count=max(graph.input_count(node["name"]), 1),
            output_count=outputs,
            disabled=bool(node.get("disabled")),
            execute_once=bool(node.get("executeOnce")),
            always_output=bool(node.get("alwaysOutputData")),
            on_error=on_error,
            retry=RetryPolicy.of(node),
            timeout=float(node["timeout"]) if node.get("timeout") else None,
            approval=_approval_of(node),
        )

    def _effective_filter(self) -> set[str] | None:
        state = self.state
        allowed = set(state.node_filter) if state.node_filter is not None else None
        if state.destination and allowed is not None:
            # A planned filter (partial run, execute step) lies on the paths to the destination
            # already: no walk over the workflow, so the run's cost follows what runs.
            if state.destination_mode != "inclusive":
                allowed.discard(state.destination)
            return allowed
        if state.destination:
            upstream = self.graph.ancestors(state.destination)
            if state.destination_mode == "inclusive":
                upstream.add(state.destination)
            else:
                upstream.discard(state.destination)
            allowed = upstream if allowed is None else allowed & upstream
        return allowed

    # -- the loop --------------------------------------------------------------------
    def run(self) -> RunResult:
        self._started = time.monotonic()
        self._active_base = self.state.active_seconds
        if self.execution_timeout is not None:
            self._deadline = self._started + self.execution_timeout - self._active_base
        try:
            return self._loop()
        finally:
            self._account()
            self._started = None

    def _account(self) -> None:
        """Bring ``state.active_seconds`` up to now (called before every checkpoint)."""
        if self._started is not None:
            self.state.active_seconds = self._active_base + (time.monotonic() - self._started)

    def _timed_out(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _timeout_error(self, node: str | None = None) -> dict[str, Any]:
        error = ExecutionTimeoutError(
            f"The execution ran longer than its timeout of {self.execution_timeout:g} s and was canceled"
        ).to_dict(node)
        error["timeout"] = self.execution_timeout
        return error

    def _loop(self) -> RunResult:
        state = self.state
        stack = state.stack
        hooks = self.hooks
        while True:
            if not stack:
                if not state.waiting:
                    break
                # n8n v1: a node still waiting for some inputs runs once nothing else is left.
                name = self._next_waiting()
                pending = state.waiting[name]
                task = pending.pop(0)
                if not pending:
                    del state.waiting[name]
                plan = self._plans[name]
                if not plan.node_type.requires_all_inputs(plan.node):
                    stack.append(task)
                continue
            if hooks.should_stop():
                return RunResult("canceled", last_node=state.last_node)
            if self._timed_out():
                return RunResult("canceled", last_node=state.last_node, error=self._timeout_error())
            result = self._run_task(stack[-1])
            if result is not None:
                return result
        return RunResult("success", last_node=state.last_node)

    def _next_waiting(self) -> str:
        """The waiting node to run first: one with no other waiting node upstream (as n8n v1).

        Otherwise a Merge fed by another still-waiting Merge would run before it, then again.
        """
        waiting = self.state.waiting
        for name in waiting:
            if not any(other in waiting for other in self.graph.ancestors(name) if other != name):
                return name
        return next(iter(waiting))  # every candidate is in a cycle with another: keep going

    def _run_task(self, task: Task) -> RunResult | None:
        state = self.state
        name = task.node
        plan = self._plans[name]
        runs = self.run_data.get(name)
        run_index = task.run_index if task.run_index is not None else (len(runs) if runs else 0)
        execution_index = state.execution_index
        type_name = plan.node["type"]
        # Reported while the task is still on the stack: a host that checkpoints here (before
        # a node with side effects) saves a state that runs this node again after a crash.
        self.hooks.node_started(name, type_name, run_index, execution_index, plan.node_type.side_effects)
        state.stack.pop()
        state.execution_index += 1
        state.node_runs += 1
        start_time = time.time()
        started = time.perf_counter()
        error: dict[str, Any] | None = None
        metadata: dict[str, Any] = {}
        outputs: list[Items]
        fatal = False
        try:
            if state.node_runs > self.max_node_runs:
                # Fatal whatever the node's onError: continuing would feed the loop forever.
                fatal = True
                raise EndlessLoopError(
                    f"more than {self.max_node_runs} node runs in one execution: the workflow seems to loop endlessly"
                )
            if plan.disabled:
                outputs = [task.inputs[0] or []] if task.inputs else [[]]
                metadata["disabled"] = True
            elif name in self.pinned:
                pin = self.pinned[name]
                outputs = [list(pin["outputs"].get(i) or []) for i in range(plan.output_count)]
                metadata["pinned"] = True
                metadata["pin_ids"] = sorted(pin["ids"].values())
            elif plan.approval is not None and not (task.resume and task.resume.get("gate")):
                request = approval_request(
                    name, plan.approval, len(task.inputs[0] or []) if task.inputs else 0, gate=True
                )
                return self._pause(task, plan, request, run_index, execution_index, start_time)
            else:
                result = self._execute(plan, task, run_index, metadata)
                if isinstance(result, PauseRequest):
                    return self._pause(task, plan, result, run_index, execution_index, start_time)
                outputs = result
                if plan.always_output and not any(outputs):
                    outputs = [[{"json": {}, "pairedItem": {"item": 0}}], *outputs[1:]]
        except (ExecutionCanceledError, ExecutionTimeoutError) as exc:
            return self._interrupted(task, plan, exc, run_index, execution_index, start_time, started, metadata)
        except Exception as exc:  # a node's bug must fail the node, never the worker
            error = _error_of(exc, name)
        status = "success"
        if error is not None:
            if fatal or plan.on_error == "stopWorkflow" or plan.disabled:
                outputs = []
                status = "error"
            else:
                outputs = self._error_outputs(plan, task, error)
                metadata["continued_on_error"] = True
        record = NodeRunRecord(
            node=name,
            node_type=type_name,
            run_index=run_index,
            execution_index=execution_index,
            status=status,
            start_time=start_time,
            execution_time_ms=(time.perf_counter() - started) * 1000.0,
            source=task.source,
            output=outputs if status == "success" else None,
            error=error,
            metadata=metadata,
        )
        self._store(record)
        state.last_node = name
        if status == "success" and not (name == state.destination and state.destination_mode == "inclusive"):
            self._enqueue_children(plan, outputs, name, run_index)
        self.hooks.node_finished(record, self)
        if status == "error":
            return RunResult("error", last_node=name, error=error)
        return None

    def _interrupted(
        self,
        task: Task,
        plan: _NodePlan,
        exc: NodeError,
        run_index: int,
        execution_index: int,
        start_time: float,
        started: float,
        metadata: dict[str, Any],
    ) -> RunResult:
        """A node given up because the run was stopped or timed out: the run ends ``canceled``.

        The node's run is recorded ``canceled`` and its task goes back on the stack, so the saved
        state says it is still to run (a retry of the execution runs it).
        """
        name = task.node
        error = self._timeout_error(name) if isinstance(exc, ExecutionTimeoutError) else exc.to_dict(name)
        record = NodeRunRecord(
            node=name,
            node_type=plan.node["type"],
            run_index=run_index,
            execution_index=execution_index,
            status="canceled",
            start_time=start_time,
            execution_time_ms=(time.perf_counter() - started) * 1000.0,
            source=task.source,
            output=None,
            error=error,
            metadata=metadata,
        )
        self._store(record)
        task.run_index = None
        task.resume = None
        self.state.stack.append(task)
        self.state.last_node = name
        self.hooks.node_finished(record, self)
        return RunResult("canceled", last_node=name, error=error)

    def _execute(
        self, plan: _NodePlan, task: Task, run_index: int, metadata: dict[str, Any]
    ) -> list[Items] | PauseRequest:
        inputs = task.inputs
        if plan.execute_once:
            inputs = [items[:1] if items else items for items in inputs]
        resume = task.resume
        # A retry continued after a long wait: the node runs afresh, its earlier tries counted.
        retried: dict[str, Any] | None = resume.get("retry") if resume else None
        if retried is not None:
            self._sleep_until(resume.get("not_before") if resume else None)
            resume = None
        ctx = NodeContext(
            plan.node,
            inputs,
            task.source,
            run_index,
            self.execution,
            self.run_data,
            self.state.custom_data,
            resume,
            self.evaluator,
            metadata,
        )
        ctx.interrupted = self.interrupted
        policy = plan.retry
        errors: list[dict[str, Any]] = list((retried or {}).get("errors") or [])
        attempt = len(errors)
        while True:
            attempt += 1
            node_deadline = time.monotonic() + plan.timeout if plan.timeout else None
            deadlines = [d for d in (node_deadline, self._deadline) if d is not None]
            ctx.deadline = min(deadlines) if deadlines else None
            ctx.failed_items = []
            try:
                if self._timed_out():
                    raise ExecutionTimeoutError("The execution timed out")
                result = plan.node_type.execute(ctx)
                if ctx.deadline is not None and time.monotonic() > ctx.deadline:
                    raise NodeTimeoutError(f"The node ran longer than its timeout of {plan.timeout:g} s")
            except ExecutionCanceledError:
                raise
            except Exception as exc:
                if self._timed_out():
                    # Whatever the node reported, the execution's timeout ended it: no retry, no
                    # error output.
                    raise ExecutionTimeoutError("The execution timed out") from exc
                error = _error_of(exc, plan.node["name"])
                last = policy is None or attempt >= policy.tries or not policy.retryable(error)
                if attempt > 1 or errors:
                    metadata["tries"] = attempt
                if last or policy is None:
                    if errors:
                        metadata["try_errors"] = errors
                    raise
                delay = policy.delay(attempt, error)
                errors.append(
                    {
                        "attempt": attempt,
                        "message": error["message"],
                        "type": error["type"],
                        **({"http_code": error["http_code"]} if "http_code" in error else {}),
                        "at": time.time(),
                        "wait_s": round(delay, 3),
                    }
                )
                metadata["try_errors"] = errors
                if self.max_inline_retry_wait is not None and delay > self.max_inline_retry_wait:
                    gate = bool(task.resume and task.resume.get("gate")) or plan.approval is not None
                    return PauseRequest(
                        plan.node["name"],
                        "time",
                        run_index,
                        due_at=time.time() + delay,
                        metadata={"retry": {"errors": errors}, "gate": gate},
                    )
                if not self._sleep(delay):
                    if self._timed_out():
                        raise ExecutionTimeoutError("The execution timed out") from exc
                    raise
                continue
            if attempt > 1:
                metadata["tries"] = attempt
                metadata["try_errors"] = errors
            if isinstance(result, PauseRequest):
                return result
            while len(result) < plan.output_count:
                result.append([])
            if ctx.failed_items and plan.on_error == "continueErrorOutput":
                # Items the node gave up on one by one go to the error output (n8n's routing).
                failed = {id(item) for item in ctx.failed_items}
                result[0] = [item for item in result[0] if id(item) not in failed]
                result[-1] = [*result[-1], *ctx.failed_items]
            return result

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless the run is asked to stop or times out meanwhile (→ ``False``)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.hooks.should_stop() or self._timed_out():
                return False
            time.sleep(min(left, 0.1))
        return True

    def _sleep_until(self, epoch: float | None) -> None:
        if epoch is not None and epoch > time.time():
            self._sleep(epoch - time.time())

    def _error_outputs(self, plan: _NodePlan, task: Task, error: dict[str, Any]) -> list[Items]:
        items = (task.inputs[0] if task.inputs else None) or [{"json": {}}]
        message = error["message"]
        if plan.on_error == "continueErrorOutput":
            failed = [
                {"json": {**item.get("json", {}), "error": message}, "pairedItem": {"item": i}}
                for i, item in enumerate(items)
            ]
            return [[] for _ in range(plan.output_count - 1)] + [failed]
        carried = [{"json": {"error": message}, "pairedItem": {"item": i}} for i in range(len(items))]
        return [carried] + [[] for _ in range(plan.output_count - 1)]

    def _store(self, record: NodeRunRecord) -> None:
        runs = self.run_data.setdefault(record.node, [])
        if record.run_index < len(runs):
            runs[record.run_index] = record  # a paused run completing
        else:
            runs.append(record)

    def _enqueue_children(self, plan: _NodePlan, outputs: list[Items], name: str, run_index: int) -> None:
        state = self.state
        stack = state.stack
        allowed = self._filter
        plans = self._plans
        for edge in plan.edges:
            items = outputs[edge.output] if edge.output < len(outputs) else None
            if not items:
                continue
            target = edge.target
            if allowed is not None and target not in allowed:
                continue
            src = {"previousNode": name, "previousNodeOutput": edge.output, "previousNodeRun": run_index}
            count = plans[target].input_count
            if count == 1:
                stack.append(Task(target, [items], [src]))
                continue
            pending = state.waiting.setdefault(target, [])
            for task in pending:
                if task.inputs[edge.input] is None:
                    break
            else:
                task = Task(target, [None] * count, [None] * count)
                pending.append(task)
            task.inputs[edge.input] = items
            task.source[edge.input] = src
            if all(inp is not None for inp in task.inputs):
                pending.remove(task)
                if not pending:
                    del state.waiting[target]
                stack.append(task)

    def _pause(
        self,
        task: Task,
        plan: _NodePlan,
        request: PauseRequest,
        run_index: int,
        execution_index: int,
        start_time: float,
    ) -> RunResult:
        state = self.state
        request.node = task.node
        request.run_index = run_index
        task.run_index = run_index
        task.resume = None
        state.stack.append(task)  # continued from here on resume
        state.pause_sequence += 1
        state.pause = {
            "node": task.node,
            "type": request.pause_type,
            "run_index": run_index,
            "sequence": state.pause_sequence,
            "due_at": request.due_at,
            "expires_at": request.expires_at,
            "metadata": request.metadata,
        }
        record = NodeRunRecord(
            node=task.node,
            node_type=plan.node["type"],
            run_index=run_index,
            execution_index=execution_index,
            status="waiting",
            start_time=start_time,
            execution_time_ms=0.0,
            source=task.source,
            output=None,
            metadata={"pause_type": request.pause_type},
        )
        self._store(record)
        state.last_node = task.node
        self.hooks.node_finished(record, self)
        return RunResult("waiting", last_node=task.node, pause=request)

    # -- helpers for hosts -------------------------------------------------------------
    def has_side_effects(self, node: str) -> bool:
        return self._plans[node].node_type.side_effects

    def state_dict(self) -> dict[str, Any]:
        self._account()
        return self.state.to_dict(self.run_data)


def _approval_of(node: Mapping[str, Any]) -> dict[str, Any] | None:
    spec = node.get("requireApproval")
    if not spec:
        return None
    return approval_settings(spec if isinstance(spec, Mapping) else {}, "requireApproval.")


def start_state(
    trigger: str,
    items: Items,
    *,
    destination: str | None = None,
    destination_mode: str = "inclusive",
    node_filter: list[str] | None = None,
) -> ExecutionState:
    """The state of a full run: the trigger on the stack with ``items`` as its input."""
    return ExecutionState(
        stack=[Task(trigger, [items], [None])],
        destination=destination,
        destination_mode=destination_mode,
        node_filter=node_filter,
    )


def _error_of(exc: BaseException, node: str) -> dict[str, Any]:
    """A node's failure as stored on its run (and matched by retry policies)."""
    if isinstance(exc, NodeError):
        return exc.to_dict(node)
    return {"message": str(exc) or type(exc).__name__, "type": type(exc).__name__, "node": node}
