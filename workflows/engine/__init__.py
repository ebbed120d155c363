"""BudFlow's execution engine: pure Python, no Django.

The engine runs a workflow graph over a JSON-serialisable :class:`ExecutionState`.
Persistence, events and scheduling reach it only through :class:`RunHooks`.
"""

from __future__ import annotations

from workflows.engine.errors import NodeError, WorkflowValidationError
from workflows.engine.graph import Graph
from workflows.engine.runner import RunHooks, RunResult, WorkflowRunner
from workflows.engine.state import ExecutionState, NodeRunRecord, Task

__all__ = [
    "ExecutionState",
    "Graph",
    "NodeError",
    "NodeRunRecord",
    "RunHooks",
    "RunResult",
    "Task",
    "WorkflowRunner",
    "WorkflowValidationError",
]
