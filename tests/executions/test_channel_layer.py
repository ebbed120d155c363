"""Events published by a worker process reach subscribers in another process.

On PostgreSQL + Redis this goes through channels-redis; on the embedded default through the
SQLite channel layer (``budflow_site.channel_layer``).
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connections

from executions.events import group_message_events, group_name
from tests.executions.procs import running

pytestmark = pytest.mark.django_db(transaction=True)


async def test_worker_events_cross_processes(api, create_workflow):
    wf = await sync_to_async(create_workflow)()
    response = await sync_to_async(api.post)(f"/api/workflows/{wf['id']}/execute/", {}, format="json")
    execution_id = response.json()["id"]
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(execution_id), channel)
    received, messages = [], 0
    with running("qcluster"):
        while True:
            message = await asyncio.wait_for(layer.receive(channel), timeout=30)
            messages += 1
            received += group_message_events(message)
            if received and received[-1]["type"] == "execution_finished":
                break
    await layer.group_discard(group_name(execution_id), channel)
    await sync_to_async(connections.close_all)()  # the helper thread's connection blocks DB teardown
    assert [e["sequence"] for e in received] == list(range(1, len(received) + 1))
    assert received[0]["type"] == "execution_started"
    finished = [e["data"]["node_name"] for e in received if e["type"] == "node_finished"]
    assert finished == ["Start", "Step 1", "Step 2"]
    assert received[-1]["data"]["status"] == "success"
    assert all(e["execution_id"] == execution_id for e in received)
    assert messages < len(received)  # the events of one commit travel as one group message


async def test_a_burst_of_subscriptions_waits_for_connections_instead_of_failing():
    """Hundreds of websockets subscribing at once on one web process (redis-py's default pool
    fails past 100 commands in flight with "Too many connections")."""
    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(300)]
    await asyncio.gather(*(layer.group_add("execution.burst", channel) for channel in channels))
    await layer.group_send("execution.burst", {"type": "execution.events", "events": []})
    received = await asyncio.wait_for(asyncio.gather(*(layer.receive(channel) for channel in channels)), 30)
    await asyncio.gather(*(layer.group_discard("execution.burst", channel) for channel in channels))
    assert [message["type"] for message in received] == ["execution.events"] * 300
