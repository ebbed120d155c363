"""What a node sees while it runs: its inputs, parameters and the execution around it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from workflows.engine.errors import ExecutionCanceledError, NodeError, NodeTimeoutError

if TYPE_CHECKING:
    from workflows.engine.state import Item, Items, RunData, Source
    from workflows.engine.subworkflows import SubWorkflowPort

# evaluate(template, ctx, item_index, parameter_name) -> value
Evaluator = Callable[[str, "NodeContext", int, str], Any]

_MISSING = object()
_T = TypeVar("_T")

# How often a node waiting on an interruptible call looks for a stop request or its deadline.
INTERRUPT_POLL_SECONDS = 0.05


@dataclass(slots=True)
class ExecutionInfo:
    """Facts about the execution, read by nodes and expressions (``$execution``, ``$workflow``)."""

    execution_id: str = ""
    mode: str = "manual"
    workflow_id: str = ""
    workflow_name: str = ""
    workflow_active: bool = False
    root_mode: str = "manual"
    resume_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Sub-workflows: the chain this execution belongs to (``$depth``, ``$stack``, ``$parent``)
    # and the host's runner of child executions (``None`` where children cannot run).
    depth: int = 0
    stack: list[str] = field(default_factory=list)  # workflow ids, root first, ending with this one
    parent: dict[str, Any] | None = None  # {executionId, workflowId, mode} of the caller
    subworkflows: SubWorkflowPort | None = None
    # Instance variables (``$vars``) and the workflow's static data, or loaders the host reads
    # them with when an expression first asks (most runs never do): see ``loaded``.
    variables: Mapping[str, str] | Callable[[], Mapping[str, str]] = field(default_factory=dict)
    static_data: Mapping[str, Any] | Callable[[], Mapping[str, Any]] = field(default_factory=dict)

    @property
    def n8n_mode(self) -> str:
        """``$execution.mode``: ``test`` when the root execution is manual or test, else ``production``."""
        return "test" if self.root_mode in ("manual", "test") else "production"

    def loaded(self, name: Literal["variables", "static_data"]) -> Mapping[str, Any]:
        """``variables`` or ``static_data``, calling its loader once."""
        value = getattr(self, name)
        if callable(value):
            value = value()
            setattr(self, name, value)
        return cast("Mapping[str, Any]", value)


class NodeContext:
    """Built once per node run; cheap (slots, no copies of items)."""

    __slots__ = (
        "custom_data",
        "deadline",
        "evaluator",
        "execution",
        "failed_items",
        "inputs",
        "interrupted",
        "metadata",
        "name",
        "node",
        "resume",
        "run_data",
        "run_index",
        "source",
    )

    def __init__(
        self,
        node: Mapping[str, Any],
        inputs: list[Items | None],
        source: list[Source | None],
        run_index: int,
        execution: ExecutionInfo,
        run_data: RunData,
        custom_data: dict[str, Any],
        resume: dict[str, Any] | None = None,
        evaluator: Evaluator | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.node = node
        self.name: str = node["name"]
        self.inputs = inputs
        self.source = source
        self.run_index = run_index
        self.execution = execution
        self.run_data = run_data
        self.custom_data = custom_data
        self.resume = resume
        self.evaluator = evaluator
        # Facts a node reports about its run (stored on the NodeRun, e.g. a webhook response).
        self.metadata: dict[str, Any] = metadata if metadata is not None else {}
        # ``time.monotonic()`` by which the node must be done (the sooner of its ``timeout`` and
        # the execution's ``executionTimeout``), or ``None``.
        self.deadline: float | None = None
        # The host's "stop now" signal (a stop request), read while a node blocks; ``None``: none.
        self.interrupted: Callable[[], bool] | None = None
        # Items a node gave up on one by one (``item_failed``), routed by the node's ``onError``.
        self.failed_items: Items = []

    @property
    def continue_on_fail(self) -> bool:
        """Whether a failing item should become an error item instead of failing the node."""
        node = self.node
        return node.get("onError") in ("continueRegularOutput", "continueErrorOutput") or bool(
            node.get("continueOnFail")
        )

    def item_failed(self, index: int, error: BaseException) -> Item:
        """The item that stands for input item ``index`` failing (``continue_on_fail`` nodes).

        As n8n: on the regular output it carries ``{error}``; routed to the error output
        (``continueErrorOutput``) it keeps the input's fields and adds ``error``.
        """
        message = str(getattr(error, "message", "") or error) or type(error).__name__
        if self.node.get("onError") == "continueErrorOutput":
            source = self.input(0)[index].get("json", {}) if index < len(self.input(0)) else {}
            item: Item = {"json": {**source, "error": message}, "pairedItem": {"item": index}}
        else:
            item = {"json": {"error": message}, "pairedItem": {"item": index}}
        self.failed_items.append(item)
        self.metadata["failed_items"] = len(self.failed_items)
        return item

    def time_left(self) -> float | None:
        """Seconds until the node's deadline (≥ 0), ``None`` without one: bound blocking calls by it."""
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def cancelled(self) -> bool:
        """Whether the run was asked to stop while this node runs (a node may give up then)."""
        return self.interrupted is not None and self.interrupted()

    def interruptible(self, call: Callable[[], _T], abort: Callable[[], object] | None = None) -> _T:
        """``call()``, given up when the run is asked to stop or the deadline passes.

        Without a stop signal or a deadline the call runs here. Otherwise it runs on a helper
        thread while this one polls every ``INTERRUPT_POLL_SECONDS``; on a stop (raises
        :class:`ExecutionCanceledError`) or a passed deadline (raises :class:`NodeTimeoutError`)
        ``abort()`` is called to free what the call holds (a connection), and the helper thread,
        a daemon, is left to unwind by itself.
        """
        if self.interrupted is None and self.deadline is None:
            return call()
        done = threading.Event()
        outcome: list[Any] = []

        def target() -> None:
            try:
                outcome.append((True, call()))
            except BaseException as exc:  # handed to the node's thread
                outcome.append((False, exc))
            finally:
                done.set()

        threading.Thread(target=target, name=f"node-{self.name}", daemon=True).start()
        while not done.wait(INTERRUPT_POLL_SECONDS):
            cancelled = self.cancelled()
            if cancelled or (self.deadline is not None and time.monotonic() >= self.deadline):
                if abort is not None:
                    with contextlib.suppress(Exception):  # best effort: the call is given up anyway
                        abort()
                if cancelled:
                    raise ExecutionCanceledError("The execution was canceled while the node was running")
                raise NodeTimeoutError("The node ran longer than its timeout: its call was aborted")
        ok, value = outcome[0]
        if not ok:
            raise value
        return cast("_T", value)

    def input(self, index: int = 0) -> Items:
        """Items on input ``index`` (an empty list when that input received nothing)."""
        if index < len(self.inputs):
            return self.inputs[index] or []
        return []

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self.node.get("parameters") or {}

    def raw_param(self, path: str, default: Any = None) -> Any:
        """The stored parameter at a dotted ``path``, without evaluating expressions."""
        value: Any = self.parameters
        for part in path.split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            else:
                return default
        return value

    def param(self, path: str, default: Any = None, item_index: int = 0) -> Any:
        """The parameter at ``path`` with every expression in it evaluated for one item."""
        value = self.raw_param(path, _MISSING)
        if value is _MISSING:
            return default
        return self.resolve(value, item_index, path)

    def resolve(self, value: Any, item_index: int, path: str) -> Any:
        if isinstance(value, str):
            if value.startswith("="):
                return self.evaluate(value, item_index, path)
            return value
        if isinstance(value, dict):
            return {k: self.resolve(v, item_index, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, item_index, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    def evaluate(self, template: str, item_index: int, path: str) -> Any:
        if self.evaluator is None:
            raise NodeError(
                f"parameter {path!r} is an expression but no expression engine is configured",
                extra={"parameter": path, "expression": template},
            )
        return self.evaluator(template, self, item_index, path)
