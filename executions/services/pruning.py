"""Which ended executions are kept: the workflow's saving settings, then pruning by age and count.

- Saving (n8n's workflow settings, instance defaults in ``BUDFLOW["SAVE_*"]`` for absent or
  ``"DEFAULT"`` values): a manual or test run of a workflow with ``saveManualExecutions: false``,
  and a production run ending ``success`` with ``saveDataSuccessExecution: "none"`` or ending
  otherwise (error, canceled, crashed) with ``saveDataErrorExecution: "none"``, is deleted
  ``UNSAVED_KEEP_SECONDS`` after it ends (its caller may still read the result meanwhile).
  ``saveExecutionProgress`` is accepted but progress is always saved: durability needs it.
- Pruning: ended executions that stopped more than ``PRUNE_MAX_AGE_HOURS`` ago, or that are
  older than the newest ``PRUNE_MAX_COUNT``, are soft-deleted (``deleted_at``: gone from the
  API at once) and deleted for good ``PRUNE_HARD_DELETE_BUFFER_HOURS`` later.

Nothing here touches a ``new``, ``running`` or ``waiting`` execution, nor one another execution
still needs: the runs a partial run (not itself pruned) reuses, a running sub-workflow's caller,
an active caller's children. Runs as a django-q2 schedule (:func:`prune_schedule_ensure`) and
from ``budflow_timers`` (saving only, every sweep); ``manage.py budflow_prune`` runs it at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from executions.choices import ACTIVE, PRODUCTION_MODES, TERMINAL, TEST_MODES, ExecutionMode, ExecutionStatus
from executions.models import Execution
from workflows.models import WorkflowVersion

log = logging.getLogger(__name__)

PRUNE_SCHEDULE_NAME = "budflow: prune executions"
PRUNE_TASK = "executions.tasks.prune_executions"
_MAX_BATCHES = 100  # per call, so one run stays bounded; the next run continues


def _protected() -> set[int]:
    """Ids of executions others still need: those holding the runs a partial run that is not
    pruned reuses (its detail and its continuation read them there), and the callers of
    running sub-workflows."""
    ids: set[int] = set()
    referring = Execution.objects.filter(deleted_at__isnull=True).exclude(reused_runs={})
    for reused in referring.values_list("reused_runs", flat=True):
        ids.update(int(origin) for origin in (reused or {}).values())
    ids.update(
        Execution.objects.filter(
            status__in=ACTIVE, mode=ExecutionMode.INTEGRATED, parent_execution__isnull=False
        ).values_list("parent_execution_id", flat=True)
    )
    return ids


def _prunable(qs: QuerySet[Execution]) -> QuerySet[Execution]:
    """``qs`` without active executions and without those another execution needs."""
    return (
        qs.filter(status__in=TERMINAL)
        .exclude(pk__in=_protected())
        .exclude(mode=ExecutionMode.INTEGRATED, parent_execution__status__in=ACTIVE)
    )


def _versions_not_saving(key: str, deleting: Any, default_deletes: bool) -> QuerySet[WorkflowVersion, Any]:
    """Workflow versions whose setting ``key`` says not to keep runs (``deleting`` is that value)."""
    path = f"snapshot__settings__{key}"
    match = Q(**{path: deleting})
    if default_deletes:
        match |= Q(**{path: "DEFAULT"}) | Q(**{f"{path}__isnull": True}) | Q(**{path: None})
    return WorkflowVersion.objects.filter(match).values("pk")


def _delete(ids: list[int]) -> None:
    if ids:
        Execution.objects.filter(pk__in=ids).delete()


def prune_unsaved(*, limit: int = 500) -> list[int]:
    """Delete ended executions their workflow's saving settings do not keep (see the module doc).

    Returns their ids. Waiting ones are kept until they end.
    """
    conf = settings.BUDFLOW
    cutoff = timezone.now() - timedelta(seconds=conf["UNSAVED_KEEP_SECONDS"])
    failed = TERMINAL - {ExecutionStatus.SUCCESS}
    rules = Q(
        mode__in=TEST_MODES,
        workflow_version__in=_versions_not_saving("saveManualExecutions", False, not conf["SAVE_MANUAL_EXECUTIONS"]),
    )
    rules |= Q(
        mode__in=PRODUCTION_MODES,
        status=ExecutionStatus.SUCCESS,
        workflow_version__in=_versions_not_saving(
            "saveDataSuccessExecution", "none", conf["SAVE_DATA_ON_SUCCESS"] == "none"
        ),
    )
    rules |= Q(
        mode__in=PRODUCTION_MODES,
        status__in=failed,
        workflow_version__in=_versions_not_saving(
            "saveDataErrorExecution", "none", conf["SAVE_DATA_ON_ERROR"] == "none"
        ),
    )
    candidates = Execution.objects.filter(rules, status__in=TERMINAL, stopped_at__lt=cutoff)
    # The timer process calls this every few seconds: the protection scan only when there is work.
    if not candidates.exists():
        return []
    due = list(_prunable(candidates).order_by("stopped_at").values_list("pk", flat=True)[:limit])
    _delete(due)
    return due


def executions_soft_delete(*, now: datetime | None = None) -> int:
    """Hide ended executions beyond the age and count limits (``deleted_at``); returns how many."""
    conf = settings.BUDFLOW
    now = now or timezone.now()
    rules: list[Q] = []
    if conf["PRUNE_MAX_AGE_HOURS"] > 0:
        cutoff = now - timedelta(hours=conf["PRUNE_MAX_AGE_HOURS"])
        rules.append(Q(stopped_at__lte=cutoff) | Q(stopped_at__isnull=True, created_at__lte=cutoff))
    max_count = int(conf["PRUNE_MAX_COUNT"])
    if max_count > 0:
        # The newest ``max_count`` executions (active ones included, as n8n counts) are kept.
        boundary = (
            Execution.objects.filter(deleted_at__isnull=True)
            .order_by("-id")
            .values_list("pk", flat=True)[max_count : max_count + 1]
        )
        if boundary:
            rules.append(Q(pk__lte=boundary[0]))
    if not rules:
        return 0
    match = rules[0]
    for rule in rules[1:]:
        match |= rule
    return _prunable(Execution.objects.filter(match, deleted_at__isnull=True)).update(deleted_at=now)


def executions_hard_delete(*, now: datetime | None = None) -> int:
    """Delete executions soft-deleted more than ``PRUNE_HARD_DELETE_BUFFER_HOURS`` ago; returns how many."""
    conf = settings.BUDFLOW
    now = now or timezone.now()
    cutoff = now - timedelta(hours=conf["PRUNE_HARD_DELETE_BUFFER_HOURS"])
    batch = int(conf["PRUNE_BATCH"])
    deleted = 0
    for _ in range(_MAX_BATCHES):
        ids = list(
            _prunable(Execution.objects.filter(deleted_at__lte=cutoff))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        _delete(ids)
        deleted += len(ids)
        if len(ids) < batch:
            break
    return deleted


def executions_prune() -> dict[str, int]:
    """One pruning pass: unsaved runs, then (``PRUNE`` on) soft deletes, then due hard deletes."""
    conf = settings.BUDFLOW
    now = timezone.now()
    counts = {"unsaved": 0, "soft_deleted": 0, "hard_deleted": 0}
    for _ in range(_MAX_BATCHES):
        unsaved = len(prune_unsaved(limit=int(conf["PRUNE_BATCH"])))
        counts["unsaved"] += unsaved
        if unsaved < int(conf["PRUNE_BATCH"]):
            break
    if conf["PRUNE"]:
        counts["soft_deleted"] = executions_soft_delete(now=now)
    # Also when pruning was switched off meanwhile: what is hidden is meant to go.
    counts["hard_deleted"] = executions_hard_delete(now=now)
    if any(counts.values()):
        log.info("pruned executions: %s", counts)
    return counts


def prune_schedule_ensure(*, schedule_model: type[Model] | None = None) -> Model:
    """Create or update the django-q2 schedule that runs :func:`executions_prune` (idempotent).

    ``schedule_model`` is the migration's historical ``Schedule``; by default django-q2's.
    """
    if schedule_model is None:
        from django_q.models import Schedule

        schedule_model = Schedule
    minutes = int(settings.BUDFLOW["PRUNE_INTERVAL_MINUTES"])
    manager = schedule_model._default_manager
    existing = manager.filter(name=PRUNE_SCHEDULE_NAME).order_by("pk")
    first = existing.first()
    if first is None:
        return manager.create(
            name=PRUNE_SCHEDULE_NAME,
            func=PRUNE_TASK,
            schedule_type="I",  # Schedule.MINUTES
            minutes=minutes,
            repeats=-1,
            next_run=timezone.now() + timedelta(minutes=minutes),
        )
    existing.exclude(pk=first.pk).delete()  # a duplicate from a race between two starts
    manager.filter(pk=first.pk).update(func=PRUNE_TASK, schedule_type="I", minutes=minutes, repeats=-1)
    first.refresh_from_db()
    return first
