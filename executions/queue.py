"""Handing executions to workers (django-q2). The execution row, not the broker, is the truth."""

from __future__ import annotations

from django.conf import settings
from django_q.tasks import async_task


def enqueue_execution(execution_id: int) -> None:
    """Ask a worker to run (or continue) an execution. Duplicates are harmless: claims are CAS."""
    if settings.BUDFLOW["RUN_INLINE"]:
        from executions.services.worker import execution_run

        execution_run(execution_id=execution_id)
        return
    async_task("executions.tasks.run_execution", execution_id, task_name=f"execution-{execution_id}")
