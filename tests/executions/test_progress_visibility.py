"""A websocket subscriber who loses sight of an execution stops receiving its events."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission, User
from django.db import connections
from rest_framework.authtoken.models import Token

from budflow_site.asgi import application
from executions import consumers
from executions.models import Execution, ExecutionPause
from executions.services.pauses import pause_resume
from tests.conftest import chained, make_node
from tests.executions.progress_helpers import execute

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture(autouse=True)
def close_thread_connections():
    yield
    connections.close_all()


@pytest.fixture
def recheck_every(settings):
    def set_interval(seconds: float) -> None:
        settings.BUDFLOW = {**settings.BUDFLOW, "PROGRESS_RECHECK_SECONDS": seconds}

    return set_interval


def two_waits() -> dict:
    """Start → Wait 1 → Mid → Wait 2 → After (both waits resumed by hand)."""
    nodes = [make_node("Start", "manualTrigger")]
    for i, name in enumerate(["Wait 1", "Mid", "Wait 2", "After"], start=1):
        if name.startswith("Wait"):
            nodes.append(make_node(name, "wait", 1.1, (200 * i, 0), parameters={"resume": "manual"}))
        else:
            nodes.append(make_node(name, position=(200 * i, 0)))
    return chained(nodes)


def approval(**parameters) -> dict:
    wait = make_node("Approve", "wait", 1.1, (200, 0), parameters={"resume": "approval", **parameters})
    return chained([make_node("Start", "manualTrigger"), wait, make_node("Ship", position=(400, 0))])


async def token_of(user: User) -> str:
    return (await sync_to_async(Token.objects.get_or_create)(user=user))[0].key


async def connect(path: str, user: User) -> WebsocketCommunicator:
    separator = "&" if "?" in path else "?"
    ws = WebsocketCommunicator(application, f"{path}{separator}token={await token_of(user)}", headers=[ORIGIN])
    connected, _ = await ws.connect()
    assert connected
    return ws


async def watch(execution_id: int, user: User) -> WebsocketCommunicator:
    ws = await connect(f"/ws/executions/{execution_id}/progress/", user)
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    return ws


async def messages_until(ws: WebsocketCommunicator, last_type: str) -> list[dict]:
    out = []
    while not out or out[-1]["type"] != last_type:
        out.append(await ws.receive_json_from(timeout=20))
    return out


async def resume(execution_id: int, user: User) -> None:
    """Resume the wait and run on inline (as a worker would) to the next wait or the end."""

    def run() -> None:
        pause_resume(execution=Execution.objects.get(pk=execution_id), user=user)

    await sync_to_async(run)()


def revoke_staff(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_staff=False)


def deactivate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


@pytest.mark.parametrize("revoke", [revoke_staff, deactivate], ids=["staff flag revoked", "user deactivated"])
async def test_staff_watcher_losing_access_is_dropped(
    api, create_workflow, inline_runs, owner, staff, recheck_every, revoke
):
    recheck_every(0)  # every event re-checks, so the first one after the change finds it
    wf = await sync_to_async(create_workflow)(two_waits())
    execution_id = (await sync_to_async(execute)(api, wf["id"]))["id"]
    owner_ws = await watch(execution_id, owner)
    staff_ws = await watch(execution_id, staff)
    await sync_to_async(revoke)(staff)

    await resume(execution_id, owner)  # Wait 1 → Mid → Wait 2
    first = await messages_until(owner_ws, "execution_waiting")
    seen = await messages_until(staff_ws, "unsubscribed")
    dropped = seen.pop()
    assert dropped == {
        "type": "unsubscribed",
        "execution_id": execution_id,
        "reason": "not_visible",
        "message": f"You may no longer see execution {execution_id}; its events are no longer sent.",
    }
    assert (await staff_ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4404}
    # At most the events relayed while the check ran, never past it.
    assert [e["sequence"] for e in seen] == [e["sequence"] for e in first[: len(seen)]]

    await resume(execution_id, owner)  # Wait 2 → After → finished
    rest = await messages_until(owner_ws, "execution_finished")
    assert rest[-1]["data"]["status"] == "success"
    assert [e["sequence"] for e in first + rest] == list(range(first[0]["sequence"], rest[-1]["sequence"] + 1))
    assert await staff_ws.receive_nothing(timeout=0.5)
    await owner_ws.disconnect()
    await staff_ws.disconnect()


async def test_approver_taken_off_the_list_is_dropped_and_the_other_keeps_watching(
    api, create_workflow, inline_runs, recheck_every
):
    recheck_every(3600)  # a replay asked for by the client always checks, whatever the interval
    carol = await sync_to_async(User.objects.create_user)("carol", password="x")
    dave = await sync_to_async(User.objects.create_user)("dave", password="x")
    wf = await sync_to_async(create_workflow)(approval(approvers=["carol", "dave"]))
    execution_id = (await sync_to_async(execute)(api, wf["id"]))["id"]
    sockets = {}
    for user in (carol, dave):
        sockets[user.username] = ws = await connect("/ws/progress/", user)
        await ws.send_json_to({"type": "subscribe_execution", "execution_id": execution_id})
        assert (await ws.receive_json_from(timeout=5))["type"] == "snapshot"

    await sync_to_async(ExecutionPause.objects.filter(execution_id=execution_id).update)(
        approver_list=",dave,", metadata={"approvers": ["dave"], "message": ""}
    )
    for ws in sockets.values():
        await ws.send_json_to({"type": "resume", "execution_id": execution_id, "after": 0})
    dropped = await sockets["carol"].receive_json_from(timeout=5)
    assert dropped["type"] == "unsubscribed" and dropped["reason"] == "not_visible"
    assert await sockets["carol"].receive_nothing(timeout=0.3)  # no replay
    last = (await sync_to_async(Execution.objects.get)(pk=execution_id)).last_sequence
    replayed = [await sockets["dave"].receive_json_from(timeout=5) for _ in range(last)]
    assert [e["sequence"] for e in replayed] == list(range(1, last + 1))
    assert replayed[-1]["type"] == "execution_waiting"
    # The multiplexed socket stays open for other executions, but not for this one.
    await sockets["carol"].send_json_to({"type": "subscribe_execution", "execution_id": execution_id})
    assert (await sockets["carol"].receive_json_from(timeout=5))["code"] == "not_found"
    for ws in sockets.values():
        await ws.disconnect()


async def test_revoked_approve_permission_drops_the_subscription(api, create_workflow, inline_runs, recheck_every):
    recheck_every(3600)
    erin = await sync_to_async(User.objects.create_user)("erin", password="x")
    perm = await sync_to_async(Permission.objects.get)(codename="approve_pause")
    await sync_to_async(erin.user_permissions.add)(perm)
    wf = await sync_to_async(create_workflow)(approval())
    execution_id = (await sync_to_async(execute)(api, wf["id"]))["id"]
    last = (await sync_to_async(Execution.objects.get)(pk=execution_id)).last_sequence
    ws = await watch(execution_id, erin)
    await ws.send_json_to({"type": "resume", "after": 0})
    replayed = [await ws.receive_json_from(timeout=5) for _ in range(last)]
    assert [e["sequence"] for e in replayed] == list(range(1, last + 1))  # allowed so far

    await sync_to_async(erin.user_permissions.remove)(perm)
    await ws.send_json_to({"type": "resume", "after": 0})
    dropped = await ws.receive_json_from(timeout=5)
    assert dropped["type"] == "unsubscribed" and dropped["reason"] == "not_visible"  # not a second replay
    assert (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4404}
    await ws.disconnect()


async def test_rechecks_are_rate_limited_and_keep_visible_subscribers(
    api, create_workflow, inline_runs, owner, staff, recheck_every, monkeypatch
):
    calls: list[tuple[int, list[int]]] = []
    check = consumers._visible_now

    async def counting(user_pk, execution_ids):
        calls.append((user_pk, list(execution_ids)))
        return await check(user_pk, execution_ids)

    monkeypatch.setattr(consumers, "_visible_now", counting)
    wf = await sync_to_async(create_workflow)(two_waits())
    execution_id = (await sync_to_async(execute)(api, wf["id"]))["id"]
    recheck_every(3600)
    slow = await watch(execution_id, owner)
    recheck_every(0)
    eager = await watch(execution_id, staff)

    await resume(execution_id, owner)
    await resume(execution_id, owner)
    slow_events = await messages_until(slow, "execution_finished")
    eager_events = await messages_until(eager, "execution_finished")
    # Subscribing checks once; within the interval events are relayed without another check.
    assert [ids for user, ids in calls if user == owner.pk] == [[execution_id]]
    # With a zero interval the events re-check, and a subscriber who still may see keeps receiving.
    assert len([ids for user, ids in calls if user == staff.pk]) >= 2
    assert eager_events == slow_events and slow_events[-1]["data"]["status"] == "success"
    await slow.disconnect()
    await eager.disconnect()
