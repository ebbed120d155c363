"""The node-type interface: every node type is one module with one ``NodeType`` subclass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from workflows.engine.errors import ParameterError

if TYPE_CHECKING:
    from workflows.engine.context import NodeContext
    from workflows.engine.state import Items, PauseRequest


class NodeType:
    """Base class of node types.

    ``execute`` receives a :class:`NodeContext` and returns one item list per output, or a
    :class:`PauseRequest` to stop the run here. Node types are stateless singletons and treat
    their input items as read-only: outputs are new item dicts that may share ``json`` values.
    """

    type: ClassVar[str]
    versions: ClassVar[tuple[float, ...]]
    description: ClassVar[str] = ""
    is_trigger: ClassVar[bool] = False
    # Side effects outside the execution (HTTP, sub-workflows, waits, responses): such a
    # node's run is committed on its own, never batched with others.
    side_effects: ClassVar[bool] = False
    inputs: ClassVar[int] = 1

    def output_count(self, node: Mapping[str, Any]) -> int:
        return 1

    def requires_all_inputs(self, node: Mapping[str, Any]) -> bool:
        """Whether a multi-input node is skipped, not run, when some input never receives items
        (n8n's ``requiredInputs``); by default it runs with what it has once nothing else is left."""
        return False

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        """Raise :class:`ParameterError` naming the parameter when ``parameters`` are invalid."""

    def execute(self, ctx: NodeContext) -> list[Items] | PauseRequest:
        raise NotImplementedError


# -- small validation helpers shared by node types ---------------------------------------
def require_choice(params: Mapping[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = params.get(name, default)
    if isinstance(value, str) and value.startswith("="):
        return value  # an expression: checked when it is evaluated
    if value not in choices:
        raise ParameterError(name, f"must be one of {', '.join(choices)} (got {value!r})")
    return str(value)


def require_type(params: Mapping[str, Any], name: str, kind: type | tuple[type, ...], label: str) -> Any:
    value = params.get(name)
    if value is None or isinstance(value, kind):
        return value
    if isinstance(value, str) and value.startswith("="):
        return value
    raise ParameterError(name, f"must be {label} (got {type(value).__name__})")
