"""``GET /api/executions/{id}/progress/stream/``: Server-Sent Events, the async view."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from executions.api import views
from executions.services.worker import execution_run
from tests.executions.progress_helpers import execute

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def close_thread_connections():
    yield
    connections.close_all()


def parse(chunk: str) -> dict:
    """One SSE message → {id, event, data} (or {comment} for a heartbeat)."""
    if chunk.startswith(":"):
        return {"comment": chunk[1:].strip()}
    fields = dict(line.split(": ", 1) for line in chunk.strip().split("\n"))
    return {"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])}


async def read(response, until: str | None = "execution_finished", count: int | None = None) -> list[dict]:
    messages: list[dict] = []
    stream = aiter(response.streaming_content)
    while True:
        chunk = await anext(stream)
        messages.append(parse(chunk.decode() if isinstance(chunk, bytes) else chunk))
        if (until is not None and messages[-1].get("event") == until) or (count is not None and len(messages) == count):
            return messages


@pytest.fixture
def auth(owner) -> dict[str, str]:
    return {"Authorization": f"Token {Token.objects.get_or_create(user=owner)[0].key}"}


async def finished_execution(api, create_workflow) -> int:
    wf = await sync_to_async(create_workflow)()
    execution_id = (await sync_to_async(execute)(api, wf["id"], wait=False))["id"]
    await sync_to_async(execution_run)(execution_id=execution_id)
    return execution_id


async def test_last_event_id_replays_then_the_stream_ends(api, create_workflow, auth):
    execution_id = await finished_execution(api, create_workflow)
    client = AsyncClient()
    url = f"/api/executions/{execution_id}/progress/stream/"
    response = await client.get(url, headers={**auth, "Last-Event-ID": "0"})
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    everything = await read(response)
    assert [m["id"] for m in everything] == list(range(1, len(everything) + 1))
    assert everything[0]["event"] == "execution_started" and everything[-1]["event"] == "execution_finished"
    assert all(m["data"]["sequence"] == m["id"] and m["data"]["type"] == m["event"] for m in everything)

    response = await client.get(url, headers={**auth, "Last-Event-ID": "3"})
    tail = await read(response)
    assert tail == everything[3:]
    response = await client.get(f"{url}?last_event_id={len(everything) - 1}", headers=auth)
    assert [m["event"] for m in await read(response)] == ["execution_finished"]
    # Past the terminal event: nothing more to send, the stream closes at once.
    response = await client.get(url, headers={**auth, "Last-Event-ID": str(len(everything))})
    assert [chunk async for chunk in response.streaming_content] == []


async def test_snapshot_then_live_events(api, create_workflow, auth):
    wf = await sync_to_async(create_workflow)()
    execution_id = (await sync_to_async(execute)(api, wf["id"], wait=False))["id"]
    response = await AsyncClient().get(f"/api/executions/{execution_id}/progress/stream/", headers=auth)
    [snapshot] = await read(response, until="snapshot")
    assert snapshot["id"] == 0 and snapshot["data"]["data"]["status"] == "new"
    await sync_to_async(execution_run)(execution_id=execution_id)
    live = await read(response)
    assert [m["id"] for m in live] == list(range(1, len(live) + 1))
    assert [m["data"]["data"]["node_name"] for m in live if m["event"] == "node_finished"] == [
        "Start",
        "Step 1",
        "Step 2",
    ]


async def test_heartbeat_while_quiet(api, create_workflow, auth, monkeypatch):
    monkeypatch.setattr(views, "SSE_HEARTBEAT_SECONDS", 0.05)
    wf = await sync_to_async(create_workflow)()
    execution_id = (await sync_to_async(execute)(api, wf["id"], wait=False))["id"]
    response = await AsyncClient().get(
        f"/api/executions/{execution_id}/progress/stream/", headers={**auth, "Last-Event-ID": "0"}
    )
    assert await read(response, until=None, count=2) == [{"comment": "heartbeat"}, {"comment": "heartbeat"}]
    await response.streaming_content.aclose()


async def test_session_auth_and_refusals(api, create_workflow, owner, other, auth):
    execution_id = await finished_execution(api, create_workflow)
    url = f"/api/executions/{execution_id}/progress/stream/"
    client = AsyncClient()
    await client.aforce_login(owner)
    response = await client.get(url, headers={"Last-Event-ID": "0"})
    assert response.status_code == 200 and (await read(response))[-1]["event"] == "execution_finished"

    other_client = AsyncClient()
    await other_client.aforce_login(other)
    assert (await other_client.get(url)).status_code == 404
    assert (await AsyncClient().get(url)).status_code == 401
    assert (await AsyncClient().get(url, headers={"Authorization": "Token nope"})).status_code == 401
    assert (await AsyncClient().get("/api/executions/999999/progress/stream/", headers=auth)).status_code == 404
    assert (await AsyncClient().get(url, headers={**auth, "Last-Event-ID": "x"})).status_code == 400
