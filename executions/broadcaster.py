"""Fire-and-forget delivery of committed events to the channel layer.

A publishing service must never wait for subscribers or for the transport: messages are put
on a queue served by a daemon thread running its own event loop (so one persistent
channel-layer connection per process). If the transport is down or the queue is full,
messages are dropped with a warning; the event log table stays complete and clients replay
from it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

MAX_PENDING = 10_000


class Broadcaster:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def publish(self, group: str, message: dict[str, Any]) -> None:
        loop = self._ensure_loop()
        loop.call_soon_threadsafe(self._enqueue, group, message)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until queued messages were handed to the layer (tests, shutdown)."""
        if self._loop is None or self._pid != os.getpid():
            return
        done = threading.Event()
        self._loop.call_soon_threadsafe(self._enqueue, "", {"__flush__": done})
        done.wait(timeout)

    def _enqueue(self, group: str, message: dict[str, Any]) -> None:
        assert self._queue is not None
        if self._queue.qsize() >= MAX_PENDING:
            log.warning("broadcast queue full: dropping an event for %s (clients replay from the event log)", group)
            return
        self._queue.put_nowait((group, message))

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        # A forked worker inherits this object but not the thread: one loop per process.
        if self._loop is not None and self._pid == os.getpid():
            return self._loop
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                ready = threading.Event()
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=self._run, args=(loop, ready), name="budflow-broadcaster", daemon=True)
                thread.start()
                ready.wait()
                self._loop = loop
                self._pid = os.getpid()
        return self._loop

    def _run(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        self._queue = asyncio.Queue()
        loop.create_task(self._send_forever())
        ready.set()
        loop.run_forever()

    async def _send_forever(self) -> None:
        assert self._queue is not None
        layer = get_channel_layer()
        while True:
            group, message = await self._queue.get()
            flush = message.get("__flush__")
            if flush is not None:
                flush.set()
                continue
            if layer is None:
                continue
            try:
                publish = getattr(layer, "publish", None)
                if publish is not None:
                    publish(group, message)
                else:
                    await layer.group_send(group, message)
            except Exception:
                log.warning("could not broadcast to %s", group, exc_info=True)


broadcaster = Broadcaster()
