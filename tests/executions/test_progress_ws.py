"""The progress websockets, through the real ASGI stack (origin check, session/token auth, routing)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client
from rest_framework.authtoken.models import Token

from budflow_site.asgi import application
from executions.services.worker import execution_run
from tests.executions.progress_helpers import execute

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture
def token(owner) -> str:
    return Token.objects.get_or_create(user=owner)[0].key


async def connect(path: str, *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, *headers])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def until_finished(communicator: WebsocketCommunicator) -> list[dict]:
    events = []
    while True:
        event = await communicator.receive_json_from(timeout=20)
        events.append(event)
        if event["type"] == "execution_finished":
            return events


@pytest.fixture(autouse=True)
def close_thread_connections():
    yield
    connections.close_all()


async def new_execution(api, create_workflow) -> int:
    wf = await sync_to_async(create_workflow)()
    return (await sync_to_async(execute)(api, wf["id"], wait=False))["id"]


async def run_inline(api, execution_id: int) -> None:
    """Run a stored ``new`` execution in this process (as a worker would)."""
    await sync_to_async(execution_run)(execution_id=execution_id)


async def test_snapshot_then_live_events_in_order(api, create_workflow, token):
    execution_id = await new_execution(api, create_workflow)
    ws = await connect(f"/ws/executions/{execution_id}/progress/?token={token}")
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["execution_id"] == execution_id
    assert snapshot["sequence"] == 0 and snapshot["data"]["status"] == "new"
    assert snapshot["data"]["node_progress"]["Start"]["status"] == "pending"
    await run_inline(api, execution_id)
    events = await until_finished(ws)
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    nodes = [(e["type"], e["data"].get("node_name")) for e in events if e["type"].startswith("node_")]
    assert nodes == [
        ("node_started", "Start"),
        ("node_finished", "Start"),
        ("node_started", "Step 1"),
        ("node_finished", "Step 1"),
        ("node_started", "Step 2"),
        ("node_finished", "Step 2"),
    ]
    assert events[-1]["data"]["status"] == "success"
    await ws.disconnect()


async def test_late_subscriber_gets_the_snapshot_and_resume_replays(api, create_workflow, token):
    execution_id = await new_execution(api, create_workflow)
    await run_inline(api, execution_id)
    ws = await connect(f"/ws/progress/?token={token}")
    await ws.send_json_to({"type": "subscribe_execution", "execution_id": execution_id})
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["data"]["status"] == "success"
    assert snapshot["data"]["completed_nodes"] == 3 and snapshot["sequence"] == snapshot["data"]["last_sequence"]
    last = snapshot["sequence"]
    await ws.send_json_to({"type": "resume", "execution_id": execution_id, "after": last - 3})
    replayed = [await ws.receive_json_from(timeout=5) for _ in range(3)]
    assert [e["sequence"] for e in replayed] == [last - 2, last - 1, last]
    assert replayed[-1]["type"] == "execution_finished"
    assert await ws.receive_nothing(timeout=0.2)
    await ws.send_json_to({"type": "unsubscribe_execution", "execution_id": execution_id})
    assert await ws.receive_json_from(timeout=5) == {"type": "unsubscribed", "execution_id": execution_id}
    await ws.disconnect()


async def test_resume_on_the_execution_socket(api, create_workflow, token):
    execution_id = await new_execution(api, create_workflow)
    await run_inline(api, execution_id)
    ws = await connect(f"/ws/executions/{execution_id}/progress/?token={token}")
    snapshot = await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"type": "resume", "after": 0})
    replayed = [await ws.receive_json_from(timeout=5) for _ in range(snapshot["sequence"])]
    assert [e["sequence"] for e in replayed] == list(range(1, snapshot["sequence"] + 1))
    assert replayed[0]["type"] == "execution_started"
    await ws.disconnect()


async def test_subscription_by_resume_then_live_without_duplicates(api, create_workflow, token):
    """A reconnecting client resumes after what it saw; live events continue without repeats."""
    execution_id = await new_execution(api, create_workflow)
    ws = await connect(f"/ws/progress/?token={token}")
    await ws.send_json_to({"type": "resume", "execution_id": execution_id, "after": 0})
    assert await ws.receive_nothing(timeout=0.2)  # nothing stored yet
    await run_inline(api, execution_id)
    events = await until_finished(ws)
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    await ws.disconnect()


async def test_other_user_is_refused(api, create_workflow, other):
    execution_id = await new_execution(api, create_workflow)
    other_token = (await sync_to_async(Token.objects.get_or_create)(user=other))[0].key
    ws = await connect(f"/ws/executions/{execution_id}/progress/?token={other_token}")
    error = await ws.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "not_found"
    assert (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4404}

    ws = await connect(f"/ws/progress/?token={other_token}")
    await ws.send_json_to({"type": "subscribe_execution", "execution_id": execution_id})
    assert (await ws.receive_json_from(timeout=5))["code"] == "not_found"
    await ws.send_json_to({"type": "resume", "execution_id": execution_id, "after": 0})
    assert (await ws.receive_json_from(timeout=5))["code"] == "not_found"
    await run_inline(api, execution_id)
    assert await ws.receive_nothing(timeout=0.5)  # not subscribed: no events leak
    await ws.disconnect()


async def test_anonymous_and_bad_token_are_refused(api, create_workflow):
    execution_id = await new_execution(api, create_workflow)
    for query in ("", "?token=not-a-token"):
        ws = await connect(f"/ws/executions/{execution_id}/progress/{query}")
        assert (await ws.receive_json_from(timeout=5))["code"] == "forbidden"
        assert (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4403}
        # Let the consumer finish: one left receiving from the layer can hang the loop's teardown.
        await ws.disconnect()
    ws = await connect("/ws/progress/")
    await ws.send_json_to({"type": "subscribe_execution", "execution_id": execution_id})
    assert (await ws.receive_json_from(timeout=5))["code"] == "not_found"
    await ws.disconnect()


async def test_session_cookie_authenticates(api, create_workflow, owner):
    execution_id = await new_execution(api, create_workflow)
    client = Client()
    await sync_to_async(client.force_login)(owner)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    ws = await connect(f"/ws/executions/{execution_id}/progress/", (b"cookie", cookie.encode()))
    assert (await ws.receive_json_from(timeout=5))["type"] == "snapshot"
    await ws.disconnect()


async def test_bad_messages_get_errors(api, create_workflow, token):
    ws = await connect(f"/ws/progress/?token={token}")
    await ws.send_json_to({"type": "dance"})
    assert (await ws.receive_json_from(timeout=5))["code"] == "bad_request"
    await ws.send_json_to({"type": "subscribe_execution", "execution_id": "1"})
    assert (await ws.receive_json_from(timeout=5))["code"] == "bad_request"
    await ws.send_json_to({"type": "resume", "execution_id": 1, "after": -1})
    assert (await ws.receive_json_from(timeout=5))["code"] == "bad_request"
    await ws.disconnect()


async def test_wrong_origin_is_rejected():
    communicator = WebsocketCommunicator(application, "/ws/progress/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected
