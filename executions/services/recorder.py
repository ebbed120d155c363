"""Persistence of a running execution: node runs, engine state and events, checkpointed together.

DESIGN.md's first invariant: a node run is completed when its NodeRun is committed, together
with the engine state that follows it. Runs of side-effect-free nodes are batched (up to
``CHECKPOINT_BATCH`` runs or ``CHECKPOINT_INTERVAL_MS``); a node with side effects is preceded
by a checkpoint and followed by its own commit, so after a crash it runs again at most once
and nothing before it does.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from budflow_site.logs import LogBinding
from executions.events import events_store
from executions.models import Execution, NodeRun
from pindata.models import PinDataUsage
from workflows.engine.state import NodeRunRecord, RunData, fetched_runs

if TYPE_CHECKING:
    from workflows.engine.runner import WorkflowRunner


log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """This worker no longer holds the execution's lease: it must stop touching it."""


def _ts(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def node_event_data(record: NodeRunRecord) -> dict[str, Any]:
    return {
        "node_name": record.node,
        "node_type": record.node_type,
        "run_index": record.run_index,
        "execution_index": record.execution_index,
        "status": record.status,
        "start_time": _ts(record.start_time).isoformat(),
        "execution_time_ms": round(record.execution_time_ms, 3),
        "items": record.item_counts(),
        "error": {"message": record.error.get("message"), "type": record.error.get("type")} if record.error else None,
    }


_COMPLETED_FIELDS = (
    "status",
    "execution_index",
    "started_at",
    "execution_time_ms",
    "source",
    "output",
    "error",
    "metadata",
)


def checkpoint_update(
    *, execution_id: int, worker_id: str, fields: dict[str, Any], events: int
) -> tuple[int, bool] | None:
    """``UPDATE ... RETURNING`` on the execution row held by ``worker_id``.

    Returns the new ``last_sequence`` (``events`` numbers reserved below it) and whether a stop
    was requested, or ``None`` when the lease is no longer this worker's.
    """
    connection = transaction.get_connection()
    meta = Execution._meta
    assignments = []
    params: list[Any] = []
    for name, value in fields.items():
        field = meta.get_field(name)
        assert isinstance(field, models.Field)
        assignments.append(f"{connection.ops.quote_name(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    sql = (
        f"UPDATE {connection.ops.quote_name(meta.db_table)} SET {', '.join(assignments)}, "
        "last_sequence = last_sequence + %s WHERE id = %s AND lease_owner = %s "
        "RETURNING last_sequence, cancel_requested"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, events, execution_id, worker_id])
        row = cursor.fetchone()
    return (int(row[0]), bool(row[1])) if row else None


class DbRecorder:
    """:class:`RunHooks` that write to the database through one checkpoint transaction."""

    def __init__(
        self, *, execution: Execution, worker_id: str, run_data: RunData | None = None, budget: float | None = None
    ) -> None:
        conf = settings.BUDFLOW
        self.execution_id = execution.pk
        self.worker_id = worker_id
        self.lease = dt.timedelta(seconds=conf["LEASE_SECONDS"])
        self.batch = conf["CHECKPOINT_BATCH"]
        self.interval = conf["CHECKPOINT_INTERVAL_MS"] / 1000.0
        self.pending_runs: list[NodeRunRecord] = []
        self.pending_events: list[tuple[str, dict[str, Any], dt.datetime | None]] = []
        self.oldest_pending: float | None = None  # when the oldest unflushed run finished
        self.stop_requested = threading.Event()
        self.lease_lost = threading.Event()
        self.runner: WorkflowRunner | None = None
        # False while the stored state equals the engine's (just restored, nothing ran yet).
        self.dirty = False
        # A run with a time budget stops (between nodes) once it is spent, to be handed over.
        self.deadline = time.monotonic() + budget if budget is not None else None
        self.handed_off = False
        # True while a node runs: the heartbeat then polls for a stop request every
        # ``CANCEL_POLL_SECONDS`` so that the node can be interrupted.
        self.node_running = False
        self.log_binding: LogBinding | None = None
        # (node, run_index) of runs already stored as ``waiting`` rows, completed by an update
        self.waiting_rows: set[tuple[str, int]] = {
            (record.node, record.run_index)
            for runs in fetched_runs(run_data or {}).values()
            for record in runs
            if record.status == "waiting"
        }

    def attach(self, runner: WorkflowRunner) -> None:
        self.runner = runner

    # -- RunHooks ----------------------------------------------------------------------
    def node_started(self, node: str, node_type: str, run_index: int, execution_index: int, side_effects: bool) -> None:
        self.pending_events.append(
            (
                "node_started",
                {
                    "node_name": node,
                    "node_type": node_type,
                    "run_index": run_index,
                    "execution_index": execution_index,
                    "status": "running",
                    "start_time": timezone.now().isoformat(),
                    "execution_time_ms": None,
                    "items": [],
                    "error": None,
                },
                None,
            )
        )
        if side_effects and (self.pending_runs or self.dirty):
            self.flush()
        # Whatever is logged while the node runs names the execution and the node.
        self.unbind_log()
        self.log_binding = LogBinding(self.execution_id, node)
        self.node_running = True

    def unbind_log(self) -> None:
        """Forget the node bound for logging (also when a run ends inside a node)."""
        if self.log_binding is not None:
            self.log_binding.reset()
            self.log_binding = None

    def node_finished(self, record: NodeRunRecord, runner: WorkflowRunner) -> None:
        self.node_running = False
        try:
            if record.status == "error" and record.error:
                log.warning("node failed: %s", record.error.get("message"))
            self._node_finished(record, runner)
        finally:
            self.unbind_log()

    def _node_finished(self, record: NodeRunRecord, runner: WorkflowRunner) -> None:
        self.dirty = True
        self.pending_runs.append(record)
        now = time.monotonic()
        if self.oldest_pending is None:
            self.oldest_pending = now
        kind = "node_error" if record.status == "error" else "node_finished"
        self.pending_events.append((kind, node_event_data(record), None))
        side_effects = runner.has_side_effects(record.node)
        if (
            side_effects
            or record.status != "success"
            or len(self.pending_runs) >= self.batch
            or now - self.oldest_pending >= self.interval
        ):
            self.flush()

    def interrupted(self) -> bool:
        """A stop request (or a lost lease): a running node gives up (a time budget does not)."""
        return self.stop_requested.is_set()

    def should_stop(self) -> bool:
        if self.stop_requested.is_set():
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.handed_off = True
            return True
        return False

    # -- checkpoint --------------------------------------------------------------------
    def flush(self, extra_fields: dict[str, Any] | None = None) -> None:
        """Commit pending node runs, the current engine state and pending events atomically."""
        runner = self.runner
        assert runner is not None
        state = runner.state_dict()
        now = timezone.now()
        with transaction.atomic(savepoint=False):  # no savepoint inside the outcome transaction
            # One statement renews the lease, stores the state, reserves the events' sequence
            # numbers and reads a pending stop request.
            reserved = checkpoint_update(
                execution_id=self.execution_id,
                worker_id=self.worker_id,
                fields={
                    "state": state,
                    "lease_expires_at": now + self.lease,
                    "custom_data": runner.state.custom_data,
                    "last_node_executed": runner.state.last_node or "",
                    **(extra_fields or {}),
                },
                events=len(self.pending_events),
            )
            if reserved is None:
                self.lease_lost.set()
                self.stop_requested.set()
                raise LeaseLost(f"execution {self.execution_id}: lease lost by {self.worker_id}")
            last_sequence, cancel_requested = reserved
            creates = []
            for record in self.pending_runs:
                row = self._row(record)
                key = (record.node, record.run_index)
                if key in self.waiting_rows:
                    NodeRun.objects.filter(
                        execution_id=self.execution_id, node_name=record.node, run_index=record.run_index
                    ).update(**{f: getattr(row, f) for f in _COMPLETED_FIELDS})
                    if record.status != "waiting":
                        self.waiting_rows.discard(key)
                else:
                    creates.append(row)
                    if record.status == "waiting":
                        self.waiting_rows.add(key)
            if creates:
                NodeRun.objects.bulk_create(creates)
            usages = [
                PinDataUsage(pin_id=pin_id, execution_id=self.execution_id, node_name=record.node)
                for record in self.pending_runs
                for pin_id in record.metadata.get("pin_ids") or ()
            ]
            if usages:
                PinDataUsage.objects.bulk_create(usages)
            events_store(execution_id=self.execution_id, last_sequence=last_sequence, events=self.pending_events)
            if cancel_requested:
                self.stop_requested.set()
        self.dirty = False
        self.pending_runs = []
        self.pending_events = []
        self.oldest_pending = None

    def _row(self, record: NodeRunRecord) -> NodeRun:
        return NodeRun(
            execution_id=self.execution_id,
            node_name=record.node,
            node_type=record.node_type,
            run_index=record.run_index,
            execution_index=record.execution_index,
            status=record.status,
            started_at=_ts(record.start_time),
            execution_time_ms=record.execution_time_ms,
            source=record.source,
            output=record.output,
            error=record.error,
            metadata=record.metadata,
        )


class Heartbeat(threading.Thread):
    """Renews the lease while a node runs; on loss (or a stop request) tells the run to stop.

    Between nodes the checkpoints read stop requests; while a node runs, this thread looks for
    one every ``poll`` seconds (one indexed read), so a stopped node is interrupted promptly.
    """

    def __init__(self, recorder: DbRecorder, every: float, poll: float | None = None) -> None:
        super().__init__(name=f"lease-{recorder.execution_id}", daemon=True)
        self.recorder = recorder
        self.every = every
        self.poll = min(poll, every) if poll else every
        self.done = threading.Event()

    def run(self) -> None:
        from django.db import connection

        rec = self.recorder
        renewed = time.monotonic()
        try:
            while not self.done.wait(self.poll):
                renew = time.monotonic() - renewed >= self.every
                if renew:
                    renewed = time.monotonic()
                    if not self._renew():
                        return
                if (renew or rec.node_running) and not rec.stop_requested.is_set() and self._stop_asked():
                    rec.stop_requested.set()
        finally:
            connection.close()

    def _stop_asked(self) -> bool:
        return Execution.objects.filter(pk=self.recorder.execution_id, cancel_requested=True).exists()

    def _renew(self) -> bool:
        rec = self.recorder
        updated = Execution.objects.filter(pk=rec.execution_id, lease_owner=rec.worker_id).update(
            lease_expires_at=timezone.now() + rec.lease
        )
        if updated != 1:
            rec.lease_lost.set()
            rec.stop_requested.set()
            return False
        return True
