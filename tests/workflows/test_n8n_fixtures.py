"""Realistic n8n exports (tests/fixtures/n8n/) and the peer benchmark workflows import and run.

Each fixture is written as n8n 1.x/2.x exports it; the asserted outputs are what n8n produces
for the same input.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from executions.models import Execution

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "n8n"
PEERS = ROOT / "bench" / "workflows"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture
def imported(api):
    def do(path: Path, activate: bool = False) -> dict:
        response = api.post("/api/workflows/import/", load(path), format="json")
        assert response.status_code == 201, response.content
        workflow = response.json()
        if activate:
            assert api.post(f"/api/workflows/{workflow['id']}/activate/").status_code == 200
        return workflow

    return do


def run(api, workflow_id: int, items: list[dict]) -> dict:
    response = api.post(
        f"/api/workflows/{workflow_id}/execute/", {"input_data": items, "wait_till_completion": True}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def output(body: dict, node: str) -> list[dict]:
    return [item["json"] for item in body["run_data"][node][-1]["data"]["main"][0]]


def test_order_triage(api, imported, inline_runs):
    wf = imported(FIXTURES / "order_triage.json")
    body = run(
        api,
        wf["id"],
        [
            {"customer": "ada", "price": 30, "qty": 5},
            {"customer": "bob", "price": 10, "qty": 2},
            {"customer": "cy", "price": 200, "qty": 1},
        ],
    )
    assert body["status"] == "success", body["error"]
    assert output(body, "Summary") == [
        {"customer": ["ADA", "CY", "BOB"], "total": [150, 200, 20], "tier": ["priority", "priority", "standard"]}
    ]
    # v1 order: the upper branch (Priority) runs before Standard.
    assert body["run_data"]["Priority"][0]["execution_index"] < body["run_data"]["Standard"][0]["execution_index"]


def test_lead_intake_webhook(live_server, imported):
    imported(FIXTURES / "lead_intake.json", activate=True)
    leads = [
        {"email": " Ada@Example.COM ", "name": "Ada"},
        {"email": "no-at-sign", "name": "Bob"},
        {"email": "cy@lab.org", "name": "Cy"},
    ]
    response = httpx.post(f"{live_server.url}/webhook/leads", json={"leads": leads})
    assert response.status_code == 201
    assert response.json() == [
        {"email": "ada@example.com", "domain": "example.com", "name": "Ada"},
        {"email": "cy@lab.org", "domain": "lab.org", "name": "Cy"},
    ]


def test_shelve_products_switch_and_three_input_merge(api, imported, inline_runs):
    wf = imported(FIXTURES / "shelve_products.json")
    body = run(
        api,
        wf["id"],
        [
            {"name": "apple", "category": "fruit"},
            {"name": "carrot", "category": "veg"},
            {"name": "soap", "category": "home"},
            {"name": "pear", "category": "fruit"},
        ],
    )
    assert body["status"] == "success", body["error"]
    assert output(body, "Done") == [
        {"name": "apple", "category": "fruit", "shelf": "A"},
        {"name": "pear", "category": "fruit", "shelf": "A"},
        {"name": "carrot", "category": "veg", "shelf": "B"},
        {"name": "soap", "category": "home", "shelf": "Z-soa"},
    ]


@pytest.fixture
def users_api(json_server):
    def user(path: str) -> dict:
        user_id = path.rsplit("/", 1)[-1]
        return {"id": int(user_id), "name": f"User {user_id}", "email": f"u{user_id}@example.com"}

    return json_server(user)


def test_enrich_users_over_http(api, imported, inline_runs, users_api):
    base, calls = users_api
    wf = imported(FIXTURES / "enrich_users_http.json")
    body = run(api, wf["id"], [{"api": base, "id": 1}, {"api": base, "id": 2}])
    assert body["status"] == "success", body["error"]
    assert output(body, "Card") == [
        {"card": "User 1 <u1@example.com>", "id": 1},
        {"card": "User 2 <u2@example.com>", "id": 2},
    ]
    assert calls == ["/users/1", "/users/2"]


def test_validate_payment_accepts_and_fails(live_server, imported):
    imported(FIXTURES / "validate_payment.json", activate=True)
    ok = httpx.post(f"{live_server.url}/webhook/payments", json={"amount": 12.345})
    assert ok.status_code == 200 and ok.json() == {"status": "accepted", "cents": 1235}
    bad = httpx.post(f"{live_server.url}/webhook/payments", json={"currency": "EUR"})
    assert bad.status_code == 500
    execution = Execution.objects.get(pk=bad.json()["executionId"])
    assert execution.status == "error"
    assert execution.error["message"] == 'Payment without a positive amount: {"currency":"EUR"}'
    assert execution.error["node"] == "Reject"


@pytest.mark.parametrize("name", sorted(p.name for p in PEERS.glob("*.json")))
def test_peer_workflows_import(api, name):
    response = api.post("/api/workflows/import/", load(PEERS / name), format="json")
    assert response.status_code == 201, response.content
    assert len(response.json()["nodes"]) == len(load(PEERS / name)["nodes"])


def test_peer_w1_chain_of_50_sets(live_server, imported):
    imported(PEERS / "W1_chain50.json", activate=True)
    response = httpx.post(f"{live_server.url}/webhook/w1", json={"x": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["body"] == {"x": 1}
    assert [body[f"f{i}"] for i in range(1, 51)] == [f"v{i}" for i in range(1, 51)]


def test_peer_w1e_chain_of_50_expressions(live_server, imported):
    imported(PEERS / "W1e_chain50_expr.json", activate=True)
    body = httpx.post(f"{live_server.url}/webhook/w1e", json={}).json()
    assert [body[f"f{i}"] for i in range(1, 51)] == list(range(1, 51))


def test_peer_w2s_fan_out_1000_items(live_server, imported):
    imported(PEERS / "W2s_fanout1000_splitout.json", activate=True)
    response = httpx.post(f"{live_server.url}/webhook/w2s", json={})
    assert response.status_code == 200
    assert response.json() == {"i": 0, **{f"s{k}": f"v{k}" for k in range(1, 11)}}
    execution = Execution.objects.get()
    last = execution.node_runs.get(node_name="Set 10").output[0]
    assert len(last) == 1000 and last[999]["json"]["i"] == 999


def test_peer_w3_respond_to_webhook(live_server, imported):
    imported(PEERS / "W3_webhook_respond.json", activate=True)
    response = httpx.post(f"{live_server.url}/webhook/w3", json={"a": 1})
    assert response.status_code == 200 and response.json() == {"ok": True}
