"""Websocket consumers for live progress (API.md, "Progress").

They parse, check visibility and relay: the snapshot and the replay come from
``executions.progress``, live events from the ``execution.<id>`` group. Each subscription
tracks the last sequence sent, so the snapshot and live events neither repeat nor skip.

Visibility is not settled once at subscribe: an approver can be taken off the approvers list,
a staff flag or a permission revoked, a user deactivated. While events flow, each subscription
re-reads (user and execution, fresh from the database) whether its user may still see the
execution, at most every ``PROGRESS_RECHECK_SECONDS``; a subscription that fails is dropped with
an ``unsubscribed`` message (``reason: "not_visible"``), and the single-execution socket closes.
The re-check runs beside the relay, never in front of it, so a large audience is not held up
by its own permission checks; the price is that events keep flowing to a revoked user for at
most one interval plus one check. Replays asked for by the client always check first.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Collection
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model

from executions.events import group_message_events, group_name
from executions.progress import EventRelay, snapshot_message
from executions.selectors import executions_visible_to

log = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def visible_now(user_pk: Any, execution_ids: Collection[int]) -> set[int]:
    """Which of ``execution_ids`` the user may see, reading the user afresh.

    A fresh user object, not the connection's: ``has_perm`` caches permissions on the instance,
    and the staff flag or ``is_active`` may have changed since the socket opened.
    """
    if user_pk is None or not execution_ids:
        return set()
    user = get_user_model().objects.filter(pk=user_pk, is_active=True).first()
    if user is None:
        return set()
    return set(executions_visible_to(user).filter(pk__in=list(execution_ids)).values_list("pk", flat=True))


# Off the thread-sensitive executor: a burst of re-checks must not queue the database work
# (snapshots, replays) of every other socket in the process behind it.
_visible_now = database_sync_to_async(visible_now, thread_sensitive=False)


def _recheck_delay() -> float:
    # Jittered, so the subscriptions of a large audience (all made at about the same time) do
    # not all fall due on the same event.
    return float(settings.BUDFLOW["PROGRESS_RECHECK_SECONDS"]) * random.uniform(0.75, 1.25)


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


class ProgressConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """``/ws/progress/``: ``subscribe_execution``, ``unsubscribe_execution`` and ``resume`` messages."""

    relays: dict[int, EventRelay]
    recheck_at: dict[int, float]
    rechecking: asyncio.Task[None] | None = None

    def reset_subscriptions(self) -> None:
        self.relays = {}
        self.recheck_at = {}  # execution id → when (monotonic) its visibility is due a re-read

    async def connect(self) -> None:
        self.reset_subscriptions()
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.rechecking is not None:
            self.rechecking.cancel()
        for execution_id in list(getattr(self, "relays", {})):
            await self.channel_layer.group_discard(group_name(execution_id), self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        execution_id = _positive_int(content.get("execution_id")) if isinstance(content, dict) else None
        if kind not in ("subscribe_execution", "unsubscribe_execution", "resume"):
            await self.error("bad_request", "type must be subscribe_execution, unsubscribe_execution or resume")
        elif execution_id is None:
            await self.error("bad_request", "execution_id must be an execution id")
        elif kind == "subscribe_execution":
            await self.subscribe(execution_id)
        elif kind == "unsubscribe_execution":
            await self.unsubscribe(execution_id)
        else:
            after = _positive_int(content.get("after"))
            if after is None:
                await self.error("bad_request", "after must be a sequence number (0 replays all)", execution_id)
            else:
                await self.resume(execution_id, after)

    # -- subscriptions -----------------------------------------------------------------
    def user_pk(self) -> Any:
        user = self.scope.get("user")
        return user.pk if user is not None and user.is_authenticated else None

    async def allowed(self, execution_id: int) -> bool:
        if execution_id not in await _visible_now(self.user_pk(), [execution_id]):
            await self.error("not_found", f"execution {execution_id} not found", execution_id)
            return False
        return True

    def track(self, execution_id: int, relay: EventRelay) -> None:
        self.relays[execution_id] = relay
        self.recheck_at[execution_id] = time.monotonic() + _recheck_delay()

    async def subscribe(self, execution_id: int) -> bool:
        """Join the group first, then send the snapshot: live events after it are relayed."""
        if not await self.allowed(execution_id):
            return False
        await self.channel_layer.group_add(group_name(execution_id), self.channel_name)
        snapshot = await database_sync_to_async(snapshot_message)(execution_id)
        self.track(execution_id, EventRelay(execution_id, snapshot["sequence"]))
        await self.send_json(snapshot)
        return True

    async def unsubscribe(self, execution_id: int) -> None:
        if self.forget(execution_id):
            await self.channel_layer.group_discard(group_name(execution_id), self.channel_name)
        await self.send_json({"type": "unsubscribed", "execution_id": execution_id})

    def forget(self, execution_id: int) -> bool:
        self.recheck_at.pop(execution_id, None)
        return self.relays.pop(execution_id, None) is not None

    async def resume(self, execution_id: int, after: int) -> None:
        """Replay stored events after ``after``; subscribes (without a snapshot) if needed.

        A replay reads the log, so visibility is always checked first, even for a subscription.
        """
        relay = self.relays.get(execution_id)
        if relay is None:
            if not await self.allowed(execution_id):
                return
            await self.channel_layer.group_add(group_name(execution_id), self.channel_name)
            relay = EventRelay(execution_id, after)
            self.track(execution_id, relay)
        elif execution_id not in await _visible_now(self.user_pk(), [execution_id]):
            await self.drop(execution_id)
            return
        else:
            self.recheck_at[execution_id] = time.monotonic() + _recheck_delay()
        for event in await relay.replay(after):
            await self.send_json(event)

    # -- visibility re-checks ------------------------------------------------------------
    def recheck_due(self) -> None:
        """Start a background re-check of the subscriptions that are due one (one at a time)."""
        if self.rechecking is not None and not self.rechecking.done():
            return
        now = time.monotonic()
        due = [execution_id for execution_id, at in self.recheck_at.items() if at <= now]
        if due:
            self.rechecking = asyncio.create_task(self.recheck(due))

    async def recheck(self, execution_ids: list[int]) -> None:
        try:
            visible = await _visible_now(self.user_pk(), execution_ids)
        except Exception:
            # A failed read proves nothing: keep the subscriptions, try again at the next event.
            log.warning("could not re-check the visibility of executions %s", execution_ids, exc_info=True)
            return
        for execution_id in execution_ids:
            if execution_id not in self.relays:
                continue
            if execution_id in visible:
                self.recheck_at[execution_id] = time.monotonic() + _recheck_delay()
            else:
                await self.drop(execution_id)

    async def drop(self, execution_id: int) -> None:
        """End a subscription whose user may no longer see the execution."""
        if self.forget(execution_id):
            await self.channel_layer.group_discard(group_name(execution_id), self.channel_name)
        await self.send_json(
            {
                "type": "unsubscribed",
                "execution_id": execution_id,
                "reason": "not_visible",
                "message": f"You may no longer see execution {execution_id}; its events are no longer sent.",
            }
        )

    async def error(self, code: str, message: str, execution_id: int | None = None) -> None:
        await self.send_json({"type": "error", "execution_id": execution_id, "code": code, "message": message})

    # -- group messages ----------------------------------------------------------------
    async def dispatch(self, message: dict[str, Any]) -> None:
        # Relaying events reads the database only to fill a gap, through its own thread hop:
        # skip channels' close_old_connections hop before every message, which queues each
        # subscriber of the process behind one thread (a large audience pays it per event burst).
        if message.get("type") in ("execution.events", "execution.event"):
            await self.execution_events(message)
        else:
            await super().dispatch(message)

    async def execution_events(self, message: dict[str, Any]) -> None:
        for event in group_message_events(message):
            relay = self.relays.get(int(event["execution_id"]))
            if relay is None:
                continue
            self.recheck_due()
            for item in await relay.live(event):
                await self.send_json(item)

    execution_event = execution_events  # one event per message, from publishers of an older release


class ExecutionProgressConsumer(ProgressConsumer):
    """``/ws/executions/{id}/progress/``: subscribed on connect; closes 4403 / 4404 when refused."""

    async def connect(self) -> None:
        self.reset_subscriptions()
        self.execution_id = int(self.scope["url_route"]["kwargs"]["execution_id"])
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.error("forbidden", "authentication required", self.execution_id)
            await self.close(code=CLOSE_FORBIDDEN)
        elif not await self.subscribe(self.execution_id):
            await self.close(code=CLOSE_NOT_FOUND)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "resume":
            await self.error("bad_request", "this socket only accepts resume messages", self.execution_id)
            return
        content.setdefault("execution_id", self.execution_id)
        if content["execution_id"] != self.execution_id:
            await self.error("bad_request", "this socket follows one execution", self.execution_id)
            return
        await super().receive_json(content)

    async def drop(self, execution_id: int) -> None:
        await super().drop(execution_id)
        await self.close(code=CLOSE_NOT_FOUND)
