"""Websocket consumers for live progress (API.md, "Progress").

They parse, check visibility and relay: the snapshot and the replay come from
``executions.progress``, live events from the ``execution.<id>`` group. Each subscription
tracks the last sequence sent, so the snapshot and live events neither repeat nor skip.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from executions.events import group_name
from executions.progress import EventRelay, snapshot_message
from executions.selectors import execution_visible

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


class ProgressConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """``/ws/progress/``: ``subscribe_execution``, ``unsubscribe_execution`` and ``resume`` messages."""

    async def connect(self) -> None:
        self.relays: dict[int, EventRelay] = {}
        await self.accept()

    async def disconnect(self, code: int) -> None:
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
    async def allowed(self, execution_id: int) -> bool:
        user = self.scope.get("user")
        if user is None or not await database_sync_to_async(execution_visible)(user, execution_id):
            await self.error("not_found", f"execution {execution_id} not found", execution_id)
            return False
        return True

    async def subscribe(self, execution_id: int) -> bool:
        """Join the group first, then send the snapshot: live events after it are relayed."""
        if not await self.allowed(execution_id):
            return False
        await self.channel_layer.group_add(group_name(execution_id), self.channel_name)
        snapshot = await database_sync_to_async(snapshot_message)(execution_id)
        self.relays[execution_id] = EventRelay(execution_id, snapshot["sequence"])
        await self.send_json(snapshot)
        return True

    async def unsubscribe(self, execution_id: int) -> None:
        if self.relays.pop(execution_id, None) is not None:
            await self.channel_layer.group_discard(group_name(execution_id), self.channel_name)
        await self.send_json({"type": "unsubscribed", "execution_id": execution_id})

    async def resume(self, execution_id: int, after: int) -> None:
        """Replay stored events after ``after``; subscribes (without a snapshot) if needed."""
        relay = self.relays.get(execution_id)
        if relay is None:
            if not await self.allowed(execution_id):
                return
            await self.channel_layer.group_add(group_name(execution_id), self.channel_name)
            relay = self.relays[execution_id] = EventRelay(execution_id, after)
        for event in await relay.replay(after):
            await self.send_json(event)

    async def error(self, code: str, message: str, execution_id: int | None = None) -> None:
        await self.send_json({"type": "error", "execution_id": execution_id, "code": code, "message": message})

    # -- group messages ----------------------------------------------------------------
    async def execution_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        relay = self.relays.get(int(event["execution_id"]))
        if relay is None:
            return
        for item in await relay.live(event):
            await self.send_json(item)


class ExecutionProgressConsumer(ProgressConsumer):
    """``/ws/executions/{id}/progress/``: subscribed on connect; closes 4403 / 4404 when refused."""

    async def connect(self) -> None:
        self.relays = {}
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
