"""Websocket routes (the progress consumers are added by the real-time progress feature)."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
