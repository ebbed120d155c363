"""The event log and its broadcast.

Events are written in the same transaction as the change they describe (so sequence numbers
have no gaps and a reconnecting client can replay from the table) and broadcast to the
``execution.<id>`` group only after commit, fire-and-forget: a slow or absent subscriber never
slows an execution.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from executions.models import Execution, ExecutionEvent

log = logging.getLogger(__name__)

EVENT_TYPES = (
    "execution_started",
    "node_started",
    "node_finished",
    "node_error",
    "execution_waiting",
    "execution_resumed",
    "execution_finished",
    "execution_recovered",
)


def group_name(execution_id: int) -> str:
    return f"execution.{execution_id}"


def event_message(event: ExecutionEvent) -> dict[str, Any]:
    """The wire shape of an event (API.md, "Event messages")."""
    return {
        "type": event.type,
        "execution_id": event.execution_id,
        "sequence": event.sequence,
        "timestamp": event.created_at.isoformat(),
        "data": event.data,
    }


def execution_event_data(execution: Execution) -> dict[str, Any]:
    return {
        "status": execution.status,
        "mode": execution.mode,
        "workflow_id": execution.workflow_id,
        "error": execution.error,
    }


def events_record(
    *, execution_id: int, events: Iterable[tuple[str, dict[str, Any], datetime | None]]
) -> list[ExecutionEvent]:
    """Append events to the log. Must run inside the transaction that made the change.

    The execution row is locked so concurrent writers (a worker and a stop request) take
    consecutive sequence numbers.
    """
    batch = list(events)
    if not batch:
        return []
    assert transaction.get_connection().in_atomic_block, "events_record needs a transaction"
    last = Execution.objects.select_for_update().filter(pk=execution_id).values_list("last_sequence", flat=True).first()
    if last is None:
        return []
    now = timezone.now()
    rows = [
        ExecutionEvent(execution_id=execution_id, sequence=last + i, type=kind, data=data, created_at=when or now)
        for i, (kind, data, when) in enumerate(batch, start=1)
    ]
    ExecutionEvent.objects.bulk_create(rows)
    Execution.objects.filter(pk=execution_id).update(last_sequence=last + len(rows))
    messages = [event_message(row) for row in rows]
    transaction.on_commit(lambda: broadcast(execution_id, messages))
    return rows


def broadcast(execution_id: int, messages: list[dict[str, Any]]) -> None:
    """Send committed events to the execution's group; never raises."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        group = group_name(execution_id)
        publish = getattr(layer, "publish", None)
        if publish is not None:
            for message in messages:
                publish(group, {"type": "execution.event", "event": message})
            return

        async def send_all() -> None:
            for message in messages:
                await layer.group_send(group, {"type": "execution.event", "event": message})

        async_to_sync(send_all)()
    except Exception:  # broadcasting is best effort; the event log is the source of truth
        log.warning("could not broadcast events of execution %s", execution_id, exc_info=True)
