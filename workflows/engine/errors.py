"""Errors raised by the engine and by node types."""

from __future__ import annotations

from typing import Any


class WorkflowValidationError(Exception):
    """A workflow definition is invalid; ``errors`` maps a field path to messages.

    Field paths name the node when there is one, e.g. ``nodes[2].parameters.mode`` or
    ``connections.If.main[1][0].node``.
    """

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class ParameterError(Exception):
    """A node parameter is invalid (raised by ``NodeType.validate_parameters``)."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        self.message = message
        super().__init__(f"{parameter}: {message}")


class NodeError(Exception):
    """A node failed while running. ``error_type`` is matched by retry policies."""

    error_type = "NodeOperationError"

    def __init__(
        self,
        message: str,
        *,
        description: str | None = None,
        http_code: int | None = None,
        item_index: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.description = description
        self.http_code = http_code
        self.item_index = item_index
        self.extra = extra or {}

    def to_dict(self, node: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "type": self.error_type}
        if node is not None:
            data["node"] = node
        if self.description:
            data["description"] = self.description
        if self.http_code is not None:
            data["http_code"] = self.http_code
        if self.item_index is not None:
            data["item_index"] = self.item_index
        if self.extra:
            data.update(self.extra)
        return data


class StopWorkflowError(NodeError):
    """Raised by the Stop and Error node: fails the run on purpose."""

    error_type = "StopAndError"


class NodeTimeoutError(NodeError):
    """A node ran longer than its ``timeout`` (or an HTTP call than ``options.timeout``)."""

    error_type = "NodeTimeoutError"


class ExecutionCanceledError(NodeError):
    """The run was asked to stop while a node ran, and the node gave up its work."""

    error_type = "ExecutionCanceled"


class ExecutionTimeoutError(NodeError):
    """The execution ran longer than its ``executionTimeout`` (time spent waiting not counted)."""

    error_type = "ExecutionTimeout"


class EndlessLoopError(NodeError):
    """The run exceeded the node-run budget (a cycle that never ends)."""

    error_type = "EndlessLoopError"


class StateError(Exception):
    """A saved execution state cannot be read back (corrupted or from an unknown version)."""
