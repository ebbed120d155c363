"""django-q2 task entry points: thin wrappers that call one service."""

from __future__ import annotations

from executions.services.pruning import executions_prune
from executions.services.worker import execution_run


def run_execution(execution_id: int) -> str:
    """Run or continue an execution on this worker; returns the status it ended with."""
    return execution_run(execution_id=execution_id)


def prune_executions() -> dict[str, int]:
    """The scheduled pruning pass (``executions.services.pruning``); returns what it deleted."""
    return executions_prune()
