"""A channel layer for the embedded default: group messages cross processes through SQLite.

Channels' in-memory layer does not cross processes, so an event published by the worker would
never reach a websocket served by the web process. Here ``group_send`` appends the message to
a small WAL-mode SQLite file; every process with local group members polls that file
(every ``poll`` seconds, default 20 ms) and delivers new messages to its own members through the
in-memory machinery. Only groups cross processes, which is all BudFlow uses. Production uses
channels-redis instead.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from typing import Any

from channels.layers import InMemoryChannelLayer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS group_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grp TEXT NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL
)
"""
RETENTION_SECONDS = 60.0


class SQLiteChannelLayer(InMemoryChannelLayer):
    """In-memory layer for local channels; group messages go through a shared SQLite file."""

    def __init__(self, path: str, poll: float = 0.02, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.poll = poll
        self._local = threading.local()
        self._last_id: int | None = None
        self._poller: asyncio.Task[None] | None = None
        self._poller_loop: asyncio.AbstractEventLoop | None = None
        self._writes = 0

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._local.conn = conn
        return conn

    def ping(self) -> None:
        """Raise unless the shared file can be read (the readiness check)."""
        self._conn().execute("SELECT 1 FROM group_messages LIMIT 1").fetchall()

    # -- publishing (any process, sync or async) ------------------------------------------
    def publish(self, group: str, message: dict[str, Any]) -> None:
        """Synchronous group send, for callers outside an event loop (workers)."""
        self.require_valid_group_name(group)
        conn = self._conn()
        conn.execute(
            "INSERT INTO group_messages (grp, body, created) VALUES (?, ?, ?)",
            (group, json.dumps(message, separators=(",", ":")), time.time()),
        )
        self._writes += 1
        if self._writes % 200 == 0:
            conn.execute("DELETE FROM group_messages WHERE created < ?", (time.time() - RETENTION_SECONDS,))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await asyncio.to_thread(self.publish, group, message)

    # -- receiving (processes with local group members) -----------------------------------
    async def group_add(self, group: str, channel: str) -> None:
        await super().group_add(group, channel)
        self._ensure_poller()

    def _ensure_poller(self) -> None:
        loop = asyncio.get_running_loop()
        if self._poller is not None and not self._poller.done() and self._poller_loop is loop:
            return
        if self._last_id is None:
            row = self._conn().execute("SELECT COALESCE(MAX(id), 0) FROM group_messages").fetchone()
            self._last_id = int(row[0])
        self._poller_loop = loop
        self._poller = loop.create_task(self._poll_forever())

    def _fetch(self, after: int) -> list[tuple[int, str, str]]:
        return (
            self._conn()
            .execute("SELECT id, grp, body FROM group_messages WHERE id > ? ORDER BY id LIMIT 1000", (after,))
            .fetchall()
        )

    async def _poll_forever(self) -> None:
        while True:
            if not self.groups:
                await asyncio.sleep(self.poll)
                continue
            rows = await asyncio.to_thread(self._fetch, self._last_id or 0)
            for row_id, group, body in rows:
                self._last_id = row_id
                if group in self.groups:
                    await super().group_send(group, json.loads(body))
            if len(rows) < 1000:
                await asyncio.sleep(self.poll)

    async def flush(self) -> None:
        await super().flush()
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
