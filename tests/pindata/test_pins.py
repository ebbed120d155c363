"""Pin data (blueprint section 4): API, validation, masking, execution integration, access."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import Execution
from pindata.models import PinData, PinDataUsage
from tests.conftest import chained, make_node

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counting_server(json_server):
    return json_server(lambda path: {"live": True, "path": path})


def http_flow(url: str, **settings) -> dict:
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node("Paid API", "httpRequest", 4.2, (200, 0), parameters={"url": url, "options": {}}),
        make_node("After", position=(400, 0)),
    ]
    return {**chained(nodes), "settings": settings}


def pin_url(wf: dict, node: str = "Paid API") -> str:
    return f"/api/workflows/{wf['id']}/nodes/{node.replace(' ', '%20')}/pin-data/"


def run(api, wf: dict, mode: str = "manual") -> dict:
    response = api.post(
        f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True, "mode": mode}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_pin_create_read_list_replace_delete(api, create_workflow, owner):
    wf = create_workflow(http_flow("http://127.0.0.1:9/none"))
    response = api.post(
        pin_url(wf),
        {"data": [{"a": 1}, {"json": {"b": 2}}], "data_type": "mock", "expires_in_hours": 1.5},
        format="json",
    )
    assert response.status_code == 201, response.content
    pin = response.json()
    assert pin["data"] == [{"json": {"a": 1}}, {"json": {"b": 2}}]
    assert (
        pin["checksum"]
        == hashlib.sha256(json.dumps(pin["data"], sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    )
    assert pin["data_type"] == "mock" and pin["created_by"] == "alice" and pin["workflow_id"] == wf["id"]
    assert pin["metadata"]["item_count"] == 2
    assert pin["metadata"]["schema"]["fields"] == {"a": "number", "b": "number"}
    expires = timezone.datetime.fromisoformat(pin["expires_at"])
    assert abs((expires - timezone.now()).total_seconds() - 5400) < 60
    assert api.get(pin_url(wf)).json()["id"] == pin["id"]
    replaced = api.post(pin_url(wf), {"data": [{"a": 3}]}, format="json").json()
    assert replaced["id"] != pin["id"]
    assert [p["id"] for p in api.get(f"/api/workflows/{wf['id']}/pin-data/").json()] == [replaced["id"]]
    assert PinData.objects.get(pk=pin["id"]).is_active is False
    assert api.delete(pin_url(wf)).status_code == 204
    assert api.get(pin_url(wf)).status_code == 404
    assert api.delete(pin_url(wf)).status_code == 404
    assert PinData.objects.get(pk=replaced["id"]).deleted_at is not None


def test_checksum_stable_for_equal_data_and_different_for_changed(api, create_workflow):
    wf = create_workflow(http_flow("http://127.0.0.1:9/none"))
    first = api.post(pin_url(wf), {"data": [{"a": 1, "b": [1, 2]}]}, format="json").json()["checksum"]
    same = api.post(pin_url(wf), {"data": [{"b": [1, 2], "a": 1}]}, format="json").json()["checksum"]
    changed = api.post(pin_url(wf), {"data": [{"a": 1, "b": [2, 1]}]}, format="json").json()["checksum"]
    assert first == same != changed


@pytest.mark.parametrize(
    ("body", "status", "field", "text"),
    [
        ({"data": "nope"}, 400, "data", "list of objects"),
        ({"data": [{"a": 1}, 5]}, 400, "data", "data[1]"),
        ({"data": [{"json": "x"}]}, 400, "data", "data[0].json"),
        ({"data": [{"a": 1}], "data_type": "gold"}, 400, "data_type", ""),
        ({"data": [{"a": 1}], "expires_in_hours": 0}, 400, "expires_in_hours", ""),
        ({"data": [{"a": 1}], "expires_in_hours": -2}, 400, "expires_in_hours", ""),
        ({}, 400, "data", ""),
    ],
)
def test_bad_pin_bodies(api, create_workflow, body, status, field, text):
    wf = create_workflow(http_flow("http://127.0.0.1:9/none"))
    response = api.post(pin_url(wf), body, format="json")
    assert response.status_code == status
    assert field in response.json() and text in json.dumps(response.json())
    assert not PinData.objects.exists()


def test_unknown_node_is_400(api, create_workflow):
    wf = create_workflow(http_flow("http://127.0.0.1:9/none"))
    response = api.post(pin_url(wf, "Nope"), {"data": [{"a": 1}]}, format="json")
    assert response.status_code == 400 and "node_name" in response.json()


def test_limits_are_refused_never_truncated(api, create_workflow, settings):
    settings.BUDFLOW = {**settings.BUDFLOW, "PIN_MAX_ITEMS": 3, "PIN_MAX_BYTES": 2000}
    wf = create_workflow(http_flow("http://127.0.0.1:9/none"))
    many = api.post(pin_url(wf), {"data": [{"i": i} for i in range(4)]}, format="json")
    assert many.status_code == 400 and "BUDFLOW_PIN_MAX_ITEMS" in many.json()["data"][0]
    big = api.post(pin_url(wf), {"data": [{"text": "x" * 3000}]}, format="json")
    assert big.status_code == 413 and "BUDFLOW_PIN_MAX_BYTES" in big.json()["data"][0]
    assert not PinData.objects.exists()


def test_sensitive_keys_are_masked_unless_the_request_opts_out(api, create_workflow):
    wf = create_workflow(http_flow("http://127.0.0.1:9/none"))
    data = [{"user": "ada", "password": "hunter2", "profile": {"apiKey": "k-1", "Authorization": "Bearer x"}}]
    pin = api.post(pin_url(wf), {"data": data}, format="json").json()
    item = pin["data"][0]["json"]
    assert item["user"] == "ada" and item["password"] == "********"
    assert item["profile"] == {"apiKey": "********", "Authorization": "********"}
    assert sorted(pin["metadata"]["masked_keys"]) == [
        "[0].json.password",
        "[0].json.profile.Authorization",
        "[0].json.profile.apiKey",
    ]
    raw = api.post(pin_url(wf), {"data": data, "mask_sensitive": False}, format="json").json()
    assert raw["data"][0]["json"]["password"] == "hunter2" and raw["metadata"]["masked_keys"] == []


def test_pinned_http_node_makes_no_request_in_manual_runs(api, create_workflow, inline_runs, counting_server):
    url, calls = counting_server
    wf = create_workflow(http_flow(url + "/expensive"))
    pin = api.post(pin_url(wf), {"data": [{"mocked": True}]}, format="json").json()
    body = run(api, wf)
    assert body["status"] == "success" and calls == []
    paid = body["run_data"]["Paid API"][0]
    assert paid["pinned"] is True and paid["data"]["main"][0] == [{"json": {"mocked": True}}]
    assert body["run_data"]["After"][0]["data"]["main"][0][0]["json"] == {"mocked": True}
    usage = PinDataUsage.objects.get()
    assert (usage.pin_id, usage.execution_id, usage.node_name) == (pin["id"], body["id"], "Paid API")


def test_production_modes_ignore_pins_unless_the_workflow_allows_them(
    api, create_workflow, inline_runs, counting_server
):
    url, calls = counting_server
    wf = create_workflow(http_flow(url + "/live"))
    api.post(pin_url(wf), {"data": [{"mocked": True}]}, format="json")
    body = run(api, wf, mode="cli")
    assert body["run_data"]["Paid API"][0]["pinned"] is False and len(calls) == 1
    assert body["run_data"]["After"][0]["data"]["main"][0][0]["json"]["live"] is True
    api.patch(f"/api/workflows/{wf['id']}/", {"settings": {"allowPinDataInProduction": True}}, format="json")
    body = run(api, wf, mode="cli")
    assert body["run_data"]["Paid API"][0]["pinned"] is True and len(calls) == 1


def test_expired_pin_falls_back_to_running_the_node(api, create_workflow, inline_runs, counting_server):
    url, calls = counting_server
    wf = create_workflow(http_flow(url + "/live"))
    api.post(pin_url(wf), {"data": [{"mocked": True}], "expires_in_hours": 1}, format="json")
    PinData.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    body = run(api, wf)
    assert body["run_data"]["Paid API"][0]["pinned"] is False and len(calls) == 1


def test_pinned_webhook_trigger_starts_a_manual_run_at_once(api, create_workflow, inline_runs):
    nodes = [
        make_node("Hook", "webhook", 2.1, parameters={"httpMethod": "POST", "path": "pinned-hook"}),
        make_node("After", position=(200, 0)),
    ]
    wf = create_workflow(chained(nodes))
    api.post(pin_url(wf, "Hook"), {"data": [{"body": {"from": "pin"}}]}, format="json")
    body = run(api, wf)
    assert body["status"] == "success" and body["waiting_for_webhook"] is False
    assert body["run_data"]["After"][0]["data"]["main"][0][0]["json"] == {"body": {"from": "pin"}}


def test_pin_a_past_output_in_one_call(api, create_workflow, inline_runs, counting_server):
    url, calls = counting_server
    wf = create_workflow(http_flow(url + "/once"))
    body = run(api, wf)
    response = api.post(f"/api/executions/{body['id']}/nodes/Paid%20API/pin/", {}, format="json")
    assert response.status_code == 201
    assert response.json()["data"] == [{"json": {"live": True, "path": "/once"}}]
    run(api, wf)
    assert len(calls) == 1  # the second manual run used the pin
    missing = api.post(f"/api/executions/{body['id']}/nodes/Nope/pin/", {}, format="json")
    assert missing.status_code == 400 and "node_name" in missing.json()


def test_pins_travel_with_n8n_import_and_export(api):
    n8n = {"name": "with pins", **http_flow("http://127.0.0.1:9/x"), "pinData": {"Paid API": [{"json": {"p": 1}}]}}
    imported = api.post("/api/workflows/import/", n8n, format="json")
    assert imported.status_code == 201
    exported = api.get(f"/api/workflows/{imported.json()['id']}/export/").json()
    assert exported["pinData"] == {"Paid API": [{"json": {"p": 1}}]}
    bad = api.post("/api/workflows/import/", {**n8n, "pinData": {"Nope": [{"a": 1}]}}, format="json")
    assert bad.status_code == 400 and "pinData.Nope" in bad.json()
    assert Execution.objects.count() == 0 and PinData.objects.count() == 1


def test_concurrent_pin_writes_leave_one_active_pin(create_workflow, owner):
    wf = create_workflow(http_flow("http://127.0.0.1:9/none"))
    barrier = threading.Barrier(10)
    codes: list[int] = []

    def write(i: int) -> None:
        client = APIClient()
        client.force_authenticate(owner)
        barrier.wait()
        try:
            codes.append(client.post(pin_url(wf), {"data": [{"writer": i}]}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [201] * 10
    assert PinData.objects.filter(is_active=True).count() == 1
    assert PinData.objects.count() == 10


def test_other_users_cannot_see_or_touch_pins(api, other_api, staff_api, create_workflow, inline_runs):
    wf = create_workflow(http_flow("http://127.0.0.1:9/none"))
    api.post(pin_url(wf), {"data": [{"a": 1}]}, format="json")
    body = run(api, wf)
    assert other_api.get(pin_url(wf)).status_code == 404
    assert other_api.post(pin_url(wf), {"data": [{"b": 1}]}, format="json").status_code == 404
    assert other_api.delete(pin_url(wf)).status_code == 404
    assert other_api.get(f"/api/workflows/{wf['id']}/pin-data/").status_code == 404
    assert other_api.post(f"/api/executions/{body['id']}/nodes/Start/pin/", {}, format="json").status_code == 404
    assert staff_api.get(pin_url(wf)).status_code == 200
    assert PinData.objects.filter(is_active=True).count() == 1


def test_admin_lists_and_deactivates_pins(client, api, create_workflow):
    wf = create_workflow(http_flow("http://127.0.0.1:9/none"))
    pin_id = api.post(pin_url(wf), {"data": [{"a": 1}]}, format="json").json()["id"]
    User.objects.create_superuser("root", "r@example.com", "pw-root-123")
    client.login(username="root", password="pw-root-123")
    assert "Paid API" in client.get("/admin/pindata/pindata/").content.decode()
    assert "&quot;a&quot;: 1" in client.get(f"/admin/pindata/pindata/{pin_id}/change/").content.decode()
    client.post("/admin/pindata/pindata/", {"action": "deactivate", "_selected_action": [pin_id]})
    assert PinData.objects.get(pk=pin_id).is_active is False
    assert api.get(pin_url(wf)).status_code == 404
