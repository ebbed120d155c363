"""Shared fixtures: users (owner / other / staff), API clients and workflow builders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def make_node(
    name: str, type_: str = "noOp", version: float = 1, position: tuple[int, int] = (0, 0), **extra: Any
) -> dict[str, Any]:
    node = {
        "id": name.lower().replace(" ", "-"),
        "name": name,
        "type": f"n8n-nodes-base.{type_}",
        "typeVersion": version,
        "position": list(position),
        "parameters": extra.pop("parameters", {}),
    }
    node.update(extra)
    return node


def connect(*pairs: tuple[str, str] | tuple[str, str, int, int]) -> dict[str, Any]:
    """``connect(("A", "B"), ("If", "C", 1, 0))`` → n8n connections (output, input default 0)."""
    conns: dict[str, Any] = {}
    for pair in pairs:
        source, target = pair[0], pair[1]
        output = pair[2] if len(pair) > 2 else 0
        index = pair[3] if len(pair) > 3 else 0
        outputs = conns.setdefault(source, {"main": []})["main"]
        while len(outputs) <= output:
            outputs.append([])
        outputs[output].append({"node": target, "type": "main", "index": index})
    return conns


def chained(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A workflow whose nodes are connected one after the other, in list order."""
    names = [n["name"] for n in nodes]
    return {"nodes": nodes, "connections": connect(*pairwise(names))}


def linear_workflow(count: int = 3) -> dict[str, Any]:
    nodes = [make_node("Start", "manualTrigger")]
    names = ["Start"]
    for i in range(1, count):
        names.append(f"Step {i}")
        nodes.append(make_node(names[-1], position=(i * 200, 0)))
    return {"nodes": nodes, "connections": connect(*pairwise(names))}


@pytest.fixture
def owner(db: Any) -> User:
    return User.objects.create_user("alice", password="alice-password")


@pytest.fixture
def other(db: Any) -> User:
    return User.objects.create_user("bob", password="bob-password")


@pytest.fixture
def staff(db: Any) -> User:
    return User.objects.create_user("sam", password="sam-password", is_staff=True)


def _client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(owner: User) -> APIClient:
    return _client_for(owner)


@pytest.fixture
def other_api(other: User) -> APIClient:
    return _client_for(other)


@pytest.fixture
def staff_api(staff: User) -> APIClient:
    return _client_for(staff)


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def create_workflow(api: APIClient) -> Callable[..., dict[str, Any]]:
    def create(definition: dict[str, Any] | None = None, name: str = "wf", **extra: Any) -> dict[str, Any]:
        body = {"name": name, **(definition or linear_workflow()), **extra}
        response = api.post("/api/workflows/", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return create


@pytest.fixture
def inline_runs(settings: Any) -> None:
    """Run executions inside the request (no worker); tests using it need transaction=True."""
    settings.BUDFLOW = {**settings.BUDFLOW, "RUN_INLINE": True}


def _remove_sqlite_test_files() -> None:
    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and name:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(name + suffix).unlink(missing_ok=True)


def pytest_sessionstart(session: Any) -> None:
    """Remove stale SQLite test files (a WAL file without its database gives I/O errors)."""
    _remove_sqlite_test_files()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    _remove_sqlite_test_files()


@dataclass
class Reply:
    """What ``json_server`` answers when ``respond`` wants more than a 200 with a JSON body."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


class Calls(list[str]):
    """Paths called, in order; ``times`` holds when each call arrived (``time.monotonic()``)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []


@pytest.fixture
def json_server() -> Any:
    """Start local HTTP servers answering GETs with ``respond(path)`` (JSON, or a :class:`Reply`);
    returns (base URL, :class:`Calls`)."""
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    servers: list[ThreadingHTTPServer] = []

    def start(respond: Callable[[str], Any]) -> tuple[str, Calls]:
        calls = Calls()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                calls.times.append(time.monotonic())
                calls.append(self.path)
                reply = respond(self.path)
                if not isinstance(reply, Reply):
                    reply = Reply(reply)
                if reply.delay:
                    time.sleep(reply.delay)
                body = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", calls

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
