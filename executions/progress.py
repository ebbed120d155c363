"""Progress of an execution (API.md, "Progress"): the snapshot and the stored-event replay.

Both the ``GET /progress/`` view and the live transports (websocket consumers, SSE) read through
here, so a late subscriber's snapshot and the REST answer are the same thing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from executions.choices import ExecutionStatus
from executions.events import event_message, group_message_events, group_name
from executions.models import Execution, ExecutionEvent, NodeRun
from executions.selectors import stored_rows

REPLAY_PAGE = 500


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _pending() -> dict[str, Any]:
    return {
        "status": "pending",
        "start_time": None,
        "end_time": None,
        "execution_time_ms": None,
        "input_size": 0,
        "output_size": 0,
        "error": None,
    }


def _workflow_node_names(execution: Execution) -> list[str]:
    nodes = (execution.workflow_snapshot or {}).get("nodes") or []
    return [str(node["name"]) for node in nodes if isinstance(node, dict) and node.get("name")]


def _count(output: list[Any] | None) -> int:
    return sum(len(items or []) for items in output or [])


def _input_size(source: list[Any], outputs: dict[tuple[str, int], list[Any] | None]) -> int:
    """Items a run received: the lengths of the source outputs it was fed from."""
    total = 0
    for src in source or []:
        if not isinstance(src, dict) or not src.get("previousNode"):
            continue
        output = outputs.get((src["previousNode"], int(src.get("previousNodeRun") or 0))) or []
        index = int(src.get("previousNodeOutput") or 0)
        if index < len(output):
            total += len(output[index] or [])
    return total


def _run_progress(row: NodeRun, outputs: dict[tuple[str, int], list[Any] | None]) -> dict[str, Any]:
    output = outputs.get((row.node_name, row.run_index))
    finished = row.status not in ("running", "waiting")
    end = row.started_at + dt.timedelta(milliseconds=row.execution_time_ms) if finished else None
    return {
        "status": row.status,
        "start_time": _iso(row.started_at),
        "end_time": _iso(end),
        "execution_time_ms": round(row.execution_time_ms, 3) if finished else None,
        "input_size": _input_size(row.source, outputs),
        "output_size": _count(output),
        "error": row.error,
    }


def _started_without_run(execution: Execution, last_sequence: int, runs: set[tuple[str, int]]) -> list[dict[str, Any]]:
    """``node_started`` events (up to ``last_sequence``) whose node run is not stored yet: running now."""
    started = ExecutionEvent.objects.filter(
        execution_id=execution.pk, type="node_started", sequence__lte=last_sequence
    ).order_by("sequence")
    return [
        event.data
        for event in started
        if (event.data.get("node_name"), event.data.get("run_index")) not in runs and event.data.get("node_name")
    ]


def execution_progress(execution: Execution | int) -> dict[str, Any]:
    """The ``GET /api/executions/{id}/progress/`` body, from stored node runs and events.

    ``last_sequence`` is read before the node runs: a checkpoint committing in between can only
    make the runs newer than the sequence (a subscriber then sees an event it already reflects),
    never older (which would lose an event, since subscribers drop those ≤ ``last_sequence``).
    """
    pk = execution if isinstance(execution, int) else execution.pk
    execution = Execution.objects.get(pk=pk)
    last_sequence = execution.last_sequence
    rows = stored_rows(execution)
    outputs = {(row.node_name, row.run_index): row.output for row in rows}
    node_progress: dict[str, dict[str, Any]] = {name: _pending() for name in _workflow_node_names(execution)}
    errors: list[dict[str, Any]] = []
    current: str | None = None
    for row in rows:
        # A node run more than once (loops): its latest run describes it.
        node_progress[row.node_name] = _run_progress(row, outputs)
        if row.status == "waiting":
            current = row.node_name
        if row.error:
            errors.append({"node": row.node_name, "run_index": row.run_index, "error": row.error})
    if execution.status in (ExecutionStatus.RUNNING, ExecutionStatus.NEW):
        runs = {(row.node_name, row.run_index) for row in rows}
        for data in _started_without_run(execution, last_sequence, runs):
            name = str(data["node_name"])
            node_progress[name] = {**_pending(), "status": "running", "start_time": data.get("start_time")}
            current = name
        if current is None and execution.status == ExecutionStatus.RUNNING:
            # The engine's next task: the node running now or about to.
            stack = (execution.state or {}).get("stack") or []
            current = stack[-1].get("node") if stack and isinstance(stack[-1], dict) else None
    elif execution.status != ExecutionStatus.WAITING:
        current = None
    if execution.error and not errors:
        errors.append({"node": None, "run_index": None, "error": execution.error})
    total = len(node_progress)
    completed = sum(1 for p in node_progress.values() if p["status"] in ("success", "error", "canceled"))
    if execution.status == ExecutionStatus.SUCCESS:
        percentage = 100.0
    else:
        percentage = round(completed / total * 100, 1) if total else 0.0
    return {
        "execution_id": execution.pk,
        "status": execution.status,
        "total_nodes": total,
        "completed_nodes": completed,
        "progress_percentage": percentage,
        "current_node": current,
        "node_progress": node_progress,
        "errors": errors,
        "last_sequence": last_sequence,
    }


def snapshot_message(execution: Execution | int) -> dict[str, Any]:
    """The websocket ``snapshot`` message (API.md, "Details settled for clients")."""
    data = execution_progress(execution)
    return {"type": "snapshot", "execution_id": data["execution_id"], "sequence": data["last_sequence"], "data": data}


def events_after(execution_id: int, after: int, upto: int | None = None) -> Iterator[dict[str, Any]]:
    """Stored events with ``after < sequence [<= upto]``, in order, as wire messages."""
    while True:
        qs = ExecutionEvent.objects.filter(execution_id=execution_id, sequence__gt=after)
        if upto is not None:
            qs = qs.filter(sequence__lte=upto)
        page = list(qs.order_by("sequence")[:REPLAY_PAGE])
        for event in page:
            yield event_message(event)
        if len(page) < REPLAY_PAGE:
            return
        after = page[-1].sequence


def stored_events_after(execution_id: int, after: int, upto: int | None = None) -> list[dict[str, Any]]:
    return list(events_after(execution_id, after, upto))


def finished_by(execution_id: int, sequence: int) -> bool:
    """Whether the log holds the terminal event at or before ``sequence``."""
    return ExecutionEvent.objects.filter(
        execution_id=execution_id, type="execution_finished", sequence__lte=sequence
    ).exists()


class EventRelay:
    """Orders one subscriber's events: drops what it has seen, fills gaps from the log.

    Live events can be dropped by the layer (a full channel) or arrive out of order (two
    processes publishing); the stored log is complete, so a gap is filled by reading it.
    """

    def __init__(self, execution_id: int, after: int) -> None:
        self.execution_id = execution_id
        self.last = after

    async def replay(self, after: int | None = None) -> list[dict[str, Any]]:
        """Stored events after ``after`` (default: the last one relayed)."""
        start = self.last if after is None else after
        events = await sync_to_async(stored_events_after)(self.execution_id, start)
        if events:
            self.last = max(self.last, events[-1]["sequence"])
        return events

    async def live(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """What to send for a live event: nothing if already seen, else any gap, then it."""
        sequence = int(event["sequence"])
        if sequence <= self.last:
            return []
        missed: list[dict[str, Any]] = []
        if sequence > self.last + 1:
            missed = await sync_to_async(stored_events_after)(self.execution_id, self.last, sequence - 1)
        self.last = sequence
        return [*missed, event]


async def event_stream(execution_id: int, after: int, heartbeat: float) -> AsyncIterator[dict[str, Any] | None]:
    """Stored events after ``after``, then live ones, until ``execution_finished``.

    Yields ``None`` every ``heartbeat`` seconds without events. The group is joined before the
    log is read, so nothing committed in between is missed (duplicates are dropped by sequence).
    """
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    group = group_name(execution_id)
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    relay = EventRelay(execution_id, after)
    receiving: asyncio.Task[dict[str, Any]] | None = None
    try:
        for event in await relay.replay():
            yield event
            if event["type"] == "execution_finished":
                return
        if await sync_to_async(finished_by)(execution_id, relay.last):
            return
        while True:
            if receiving is None:
                receiving = asyncio.ensure_future(layer.receive(channel))
            done, _ = await asyncio.wait({receiving}, timeout=heartbeat)
            if not done:
                # Quiet: catch up on anything the layer dropped, then beat.
                events = await relay.replay()
                if not events:
                    yield None
            else:
                message, receiving = receiving.result(), None
                events = []
                for event in group_message_events(message):
                    events += await relay.live(event)
            for event in events:
                yield event
                if event["type"] == "execution_finished":
                    return
    finally:
        if receiving is not None:
            receiving.cancel()
        await layer.group_discard(group, channel)
