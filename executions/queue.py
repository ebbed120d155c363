"""Handing executions to workers (django-q2). The execution row, not the broker, is the truth."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_q.brokers.redis_broker import Redis
from django_q.tasks import async_task


class UrgentRedis(Redis):  # type: ignore[misc]  # django-q2 ships no type hints
    """Puts a task at the head of the Redis list: workers take it before the backlog."""

    def enqueue(self, task: Any) -> Any:
        return self.connection.lpush(self.list_key, task)


_urgent: UrgentRedis | None = None


def _urgent_broker() -> UrgentRedis | None:
    global _urgent
    if not settings.REDIS_URL:
        return None  # the ORM broker (embedded default) is first in, first out
    if _urgent is None:
        _urgent = UrgentRedis()
    return _urgent


def enqueue_execution(execution_id: int, *, urgent: bool = False) -> None:
    """Ask a worker to run (or continue) an execution. Duplicates are harmless: claims are CAS.

    ``urgent`` continuations (resumed waits) jump the queue, so a burst of new executions does
    not make due waits late.
    """
    if settings.BUDFLOW["RUN_INLINE"]:
        from executions.services.worker import execution_run

        execution_run(execution_id=execution_id)
        return
    options: dict[str, Any] = {"task_name": f"execution-{execution_id}"}
    broker = _urgent_broker() if urgent else None
    if broker is not None:
        options["broker"] = broker
    async_task("executions.tasks.run_execution", execution_id, **options)
