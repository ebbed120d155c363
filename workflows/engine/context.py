"""What a node sees while it runs: its inputs, parameters and the execution around it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflows.engine.errors import NodeError

if TYPE_CHECKING:
    from workflows.engine.state import Items, RunData, Source

# evaluate(template, ctx, item_index, parameter_name) -> value
Evaluator = Callable[[str, "NodeContext", int, str], Any]

_MISSING = object()


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


class NodeContext:
    """Built once per node run; cheap (slots, no copies of items)."""

    __slots__ = (
        "custom_data",
        "evaluator",
        "execution",
        "inputs",
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
