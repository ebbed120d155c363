"""A real websocket client against a live daphne, with a real worker running the execution."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connections
from rest_framework.authtoken.models import Token

from tests.executions.procs import daphne, running
from tests.executions.progress_helpers import execute

pytestmark = pytest.mark.django_db(transaction=True)


async def test_live_daphne_relays_every_node_in_order(api, create_workflow, owner):
    wf = await sync_to_async(create_workflow)()
    execution_id = (await sync_to_async(execute)(api, wf["id"], wait=False))["id"]
    token = (await sync_to_async(Token.objects.get_or_create)(user=owner))[0].key
    await sync_to_async(connections.close_all)()
    with daphne() as port:
        url = f"ws://127.0.0.1:{port}/ws/executions/{execution_id}/progress/?token={token}"
        async with websockets.connect(url, origin=f"http://127.0.0.1:{port}") as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert snapshot["type"] == "snapshot" and snapshot["data"]["status"] == "new"
            events = []
            with running("qcluster"):
                while not events or events[-1]["type"] != "execution_finished":
                    events.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
            # A dropped connection: a new one resumes after what was seen and gets the rest.
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws/progress/?token={token}", origin="http://localhost"
        ) as ws:
            await ws.send(json.dumps({"type": "resume", "execution_id": execution_id, "after": 2}))
            replayed = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(len(events) - 2)]
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/progress/", origin="http://localhost") as ws:
            await ws.send(json.dumps({"type": "subscribe_execution", "execution_id": execution_id}))
            refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    nodes = [(e["type"], e["data"]["node_name"]) for e in events if e["type"].startswith("node_")]
    assert nodes == [
        (kind, name) for name in ("Start", "Step 1", "Step 2") for kind in ("node_started", "node_finished")
    ]
    assert events[-1]["data"]["status"] == "success"
    assert replayed == events[2:]
    assert refused["type"] == "error" and refused["code"] == "not_found"
