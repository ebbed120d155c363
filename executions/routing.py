"""Websocket routes: live progress of one execution, or of any the client subscribes to."""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path

from executions import consumers

websocket_urlpatterns: list[Any] = [
    re_path(r"^ws/executions/(?P<execution_id>[0-9]{1,18})/progress/?$", consumers.ExecutionProgressConsumer.as_asgi()),
    path("ws/progress/", consumers.ProgressConsumer.as_asgi()),
]
