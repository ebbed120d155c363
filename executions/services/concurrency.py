"""Concurrency limits for production executions: a first-in, first-out queue of ``new`` ones.

``BUDFLOW["PRODUCTION_CONCURRENCY"]`` (0 = unlimited) bounds how many ``webhook`` and ``trigger``
executions run at once; a workflow's ``concurrencyLimit`` setting bounds its own. A slot is a
``running`` execution of those modes (a waiting one holds none). An execution over a limit stays
``new`` (``held_at`` set, shown as ``queued``) until a slot frees.

Who may start is decided by one admission pass, run under one lock (a PostgreSQL advisory lock;
SQLite's ``IMMEDIATE`` transactions serialise writers already): the limited ``new`` executions
are taken oldest first and each is admitted when its limits still have room, counting those
admitted before it. So a newer execution never takes the slot an older one is waiting for, and
one workflow at its own limit does not hold back the others. A worker claiming an execution runs
the pass (:func:`concurrency_admits`); an execution ending runs it after its commit and queues
the held ones it admits (:func:`concurrency_release_on_commit`); the timer process runs it too
(:func:`concurrency_start_queued`), so a lost task or a crashed worker delays a start by one
sweep at most. A resumed wait continues at once, even over the limit.
"""

from __future__ import annotations

import logging
from collections import Counter
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from executions.choices import CONCURRENCY_LIMITED_MODES, ExecutionStatus
from executions.models import Execution, version_snapshot
from executions.queue import enqueue_execution

log = logging.getLogger(__name__)

_LOCK_KEY = 0x62756466_6C6F77  # "budflow": the advisory lock of admission passes
_SCAN = 1000  # queued executions looked at per pass (the oldest first)


def global_limit() -> int:
    return int(settings.BUDFLOW["PRODUCTION_CONCURRENCY"])


def workflow_limit(version_id: str) -> int:
    """The ``concurrencyLimit`` of the workflow version an execution runs (0: none)."""
    value = (version_snapshot(version_id).get("settings") or {}).get("concurrencyLimit")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return 0
    return int(value)


def is_limited(execution: Execution) -> bool:
    """Whether a limit applies to ``execution`` (its mode, and a limit set at all)."""
    if execution.mode not in CONCURRENCY_LIMITED_MODES:
        return False
    return global_limit() > 0 or workflow_limit(execution.workflow_version_id) > 0


def _lock() -> None:
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _admitted() -> list[int]:
    """Ids of the limited ``new`` executions that may start now, oldest first (caller holds the lock)."""
    limit = global_limit()
    waiting = list(
        Execution.objects.filter(
            status=ExecutionStatus.NEW,
            cancel_requested=False,
            mode__in=CONCURRENCY_LIMITED_MODES,
            enqueued_at__isnull=False,
            deleted_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", "workflow_id", "workflow_version_id")[:_SCAN]
    )
    if not waiting:
        return []
    running = Execution.objects.filter(status=ExecutionStatus.RUNNING, mode__in=CONCURRENCY_LIMITED_MODES)
    total = running.count() if limit else 0
    per_workflow: Counter[int] = Counter()
    limits = {version: workflow_limit(version) for version in {v for _, _, v in waiting}}
    limited_workflows = {wf for _, wf, v in waiting if limits[v]}
    if limited_workflows:
        rows = running.filter(workflow_id__in=limited_workflows).values("workflow_id").annotate(n=Count("pk"))
        per_workflow.update({row["workflow_id"]: row["n"] for row in rows})
    admitted: list[int] = []
    for pk, workflow_id, version in waiting:
        own = limits[version]
        if (limit and total >= limit) or (own and per_workflow[workflow_id] >= own):
            continue
        admitted.append(pk)
        total += 1
        per_workflow[workflow_id] += 1
        if limit and total >= limit:
            break
    return admitted


def concurrency_admits(*, execution: Execution) -> bool:
    """Whether a limited ``new`` execution may start now; if not it is marked held (``queued``).

    Call inside the claim's transaction, with the execution's row locked. Older executions the
    pass admits instead are queued after the commit.
    """
    _lock()
    admitted = _admitted()
    if execution.pk in admitted:
        return True
    if execution.held_at is None:
        from django.utils import timezone

        execution.held_at = timezone.now()
        Execution.objects.filter(pk=execution.pk).update(held_at=execution.held_at)
        log.info("execution %s: held by a concurrency limit", execution.pk)
    _queue_held_on_commit(admitted)
    return False


def _queue_held_on_commit(ids: list[int]) -> None:
    if not ids:
        return
    held = list(Execution.objects.filter(pk__in=ids, held_at__isnull=False).values_list("pk", flat=True))
    for pk in held:
        transaction.on_commit(partial(enqueue_execution, pk))


def concurrency_start_queued() -> list[int]:
    """Queue the held executions that may start now; returns their ids (timer sweep, releases)."""
    with transaction.atomic():
        if not Execution.objects.filter(status=ExecutionStatus.NEW, held_at__isnull=False).exists():
            return []
        _lock()
        admitted = _admitted()
        held = list(Execution.objects.filter(pk__in=admitted, held_at__isnull=False).values_list("pk", flat=True))
        for pk in held:
            transaction.on_commit(partial(enqueue_execution, pk))
    return held


def concurrency_release_on_commit(*, execution: Execution) -> None:
    """After the transaction that ends or parks ``execution`` commits, start whom its slot admits."""
    if is_limited(execution):
        transaction.on_commit(_start_queued_quietly, robust=True)


def _start_queued_quietly(**_: Any) -> None:
    try:
        concurrency_start_queued()
    except Exception:  # the timer's sweep starts them later
        log.exception("queued executions could not be started")


def queue_position(execution: Execution) -> int | None:
    """1 for the next held execution to start, 2 for the one after, ...; ``None`` if not held."""
    if not execution.queued:
        return None
    ahead = Execution.objects.filter(
        status=ExecutionStatus.NEW,
        cancel_requested=False,
        mode__in=CONCURRENCY_LIMITED_MODES,
        enqueued_at__isnull=False,
        held_at__isnull=False,
        pk__lt=execution.pk,
    ).count()
    return ahead + 1
