"""Malformed workflow bodies: every one is a 400 naming the field (and the node), never a 500.

A refused create leaves no row; a refused update leaves the workflow as it was.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import connect, linear_workflow, make_node
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

START = make_node("Start", "manualTrigger")


def wf(*nodes: dict[str, Any], connections: Any = None, **extra: Any) -> dict[str, Any]:
    """A workflow body: the manual trigger ``Start`` at ``nodes[0]``, then ``nodes``."""
    body: dict[str, Any] = {"name": "bad", "nodes": [START, *nodes], **extra}
    body["connections"] = connections if connections is not None else {}
    return body


def node(name: str = "Node", type_: str = "noOp", version: float = 1, **extra: Any) -> dict[str, Any]:
    return make_node(name, type_, version, position=(200, 0), **extra)


def set_node(parameters: dict[str, Any]) -> dict[str, Any]:
    return node("Edit", "set", 3.4, parameters=parameters)


def assignment(**entry: Any) -> dict[str, Any]:
    return {"assignments": {"assignments": [{"id": "1", "name": "x", "value": "1", "type": "string", **entry}]}}


def if_node(conditions: Any) -> dict[str, Any]:
    return node("Check", "if", 2.2, parameters={"conditions": conditions})


class Raw(str):
    """Request text sent as it is (not JSON-encoded)."""


def deeply_nested(key: str, depth: int = 100_000) -> Raw:
    return Raw(f'{{"name": "deep", "{key}": ' + "[" * depth + "]" * depth + "}")


# (id, body, expected key in the answer, node name that must appear in that key's message)
# ``body`` is a Python value sent as JSON, or ``str`` sent verbatim as application/json text.
CREATE_CASES: list[tuple[str, Any, str, str | None]] = [
    # -- not a JSON object at all
    ("json-list", [1, 2, 3], "non_field_errors", None),
    ("json-string", "just a string", "non_field_errors", None),
    ("json-number", 42, "non_field_errors", None),
    ("invalid-json", Raw('{"name": "x", "nodes": ['), "detail", None),
    ("invalid-json-garbage", Raw("name=x&nodes=1"), "detail", None),
    ("json-nan", Raw('{"name": "x", "nodes": [], "settings": {"executionTimeout": NaN}}'), "detail", None),
    ("deeply-nested", deeply_nested("nodes"), "detail", None),
    # -- name
    ("name-missing", {"nodes": [START]}, "name", None),
    ("name-empty", {"name": ""}, "name", None),
    ("name-blank", {"name": "   "}, "name", None),
    ("name-null", {"name": None}, "name", None),
    ("name-list", {"name": ["a"]}, "name", None),
    ("name-object", {"name": {"a": 1}}, "name", None),
    ("name-bool", {"name": True}, "name", None),
    ("name-too-long", {"name": "x" * 201}, "name", None),
    ("name-huge", {"name": "x" * 200_000}, "name", None),
    # -- active
    ("active-word", {"name": "x", "active": "maybe"}, "active", None),
    ("active-null", {"name": "x", "active": None}, "active", None),
    ("active-list", {"name": "x", "active": [True]}, "active", None),
    # -- nodes as a whole
    ("nodes-string", {"name": "x", "nodes": "Start"}, "nodes", None),
    ("nodes-object", {"name": "x", "nodes": {"Start": START}}, "nodes", None),
    ("nodes-null", {"name": "x", "nodes": None}, "nodes", None),
    ("nodes-false", {"name": "x", "nodes": False}, "nodes", None),
    ("nodes-too-many", {"name": "x", "nodes": [node(f"n{i}") for i in range(5001)]}, "nodes", None),
    ("node-not-object", wf(), "nodes[1]", None),  # filled in below: nodes[1] = 7
    # -- node identity
    ("node-name-missing", wf({k: v for k, v in node().items() if k != "name"}), "nodes[1].name", "node #1"),
    ("node-name-empty", wf(node("")), "nodes[1].name", "node ''"),
    ("node-name-number", wf({**node(), "name": 12}), "nodes[1].name", "node #1"),
    ("node-name-too-long", wf(node("N" * 201)), "nodes[1].name", "N" * 201),
    ("node-name-duplicate", wf(node("Twin"), {**node("Twin"), "id": "other"}), "nodes[2].name", "Twin"),
    ("node-name-duplicates-trigger", wf(node("Start")), "nodes[1].name", "Start"),
    ("node-type-missing", wf({k: v for k, v in node().items() if k != "type"}), "nodes[1].type", "Node"),
    ("node-type-number", wf({**node(), "type": 3}), "nodes[1].type", "Node"),
    ("node-type-unknown", wf(node(type_="doesNotExist")), "nodes[1].type", "Node"),
    ("node-typeversion-string", wf({**node(), "typeVersion": "1"}), "nodes[1].typeVersion", "Node"),
    ("node-typeversion-bool", wf({**node(), "typeVersion": True}), "nodes[1].typeVersion", "Node"),
    ("node-typeversion-unsupported", wf(node(version=99)), "nodes[1].typeVersion", "Node"),
    ("set-typeversion-unsupported", wf(node("Edit", "set", 1)), "nodes[1].typeVersion", "Edit"),
    # -- node fields
    ("node-parameters-list", wf(node(parameters=[])), "nodes[1].parameters", "Node"),
    ("node-parameters-string", wf(node(parameters="{}")), "nodes[1].parameters", "Node"),
    ("node-position-string", wf({**node(), "position": "0,0"}), "nodes[1].position", "Node"),
    ("node-position-short", wf({**node(), "position": [0]}), "nodes[1].position", "Node"),
    ("node-position-text", wf({**node(), "position": ["a", "b"]}), "nodes[1].position", "Node"),
    ("node-disabled-string", wf(node(disabled="yes")), "nodes[1].disabled", "Node"),
    ("node-retry-number", wf(node(retryOnFail=1)), "nodes[1].retryOnFail", "Node"),
    ("node-always-output-null", wf(node(alwaysOutputData="true")), "nodes[1].alwaysOutputData", "Node"),
    ("node-maxtries-zero", wf(node(retryOnFail=True, maxTries=0)), "nodes[1].maxTries", "Node"),
    ("node-maxtries-string", wf(node(maxTries="3")), "nodes[1].maxTries", "Node"),
    ("node-maxtries-float", wf(node(maxTries=2.5)), "nodes[1].maxTries", "Node"),
    ("node-wait-negative", wf(node(waitBetweenTries=-1)), "nodes[1].waitBetweenTries", "Node"),
    ("node-onerror-unknown", wf(node(onError="ignore")), "nodes[1].onError", "Node"),
    ("node-timeout-zero", wf(node(timeout=0)), "nodes[1].timeout", "Node"),
    ("node-notes-number", wf(node(notes=5)), "nodes[1].notes", "Node"),
    ("node-id-object", wf({**node(), "id": {"x": 1}}), "nodes[1].id", "Node"),
    ("node-credentials-string", wf(node(credentials="secret")), "nodes[1].credentials", "Node"),
    # -- node parameters (per node type)
    (
        "set-assignment-type",
        wf(set_node(assignment(type="date"))),
        "nodes[1].parameters.assignments.assignments[0].type",
        "Edit",
    ),
    (
        "set-assignment-name-missing",
        wf(set_node(assignment(name=""))),
        "nodes[1].parameters.assignments.assignments[0].name",
        "Edit",
    ),
    (
        "set-assignment-not-object",
        wf(set_node({"assignments": {"assignments": ["x=1"]}})),
        "nodes[1].parameters.assignments.assignments[0]",
        "Edit",
    ),
    (
        "set-assignments-not-list",
        wf(set_node({"assignments": {"assignments": {"x": 1}}})),
        "nodes[1].parameters.assignments.assignments",
        "Edit",
    ),
    ("set-mode-unknown", wf(set_node({"mode": "weird"})), "nodes[1].parameters.mode", "Edit"),
    (
        "set-raw-json-invalid",
        wf(set_node({"mode": "raw", "jsonOutput": "{not json"})),
        "nodes[1].parameters.jsonOutput",
        "Edit",
    ),
    (
        "set-raw-json-not-object",
        wf(set_node({"mode": "raw", "jsonOutput": "[1, 2]"})),
        "nodes[1].parameters.jsonOutput",
        "Edit",
    ),
    (
        "if-combinator",
        wf(if_node({"combinator": "xor", "conditions": []})),
        "nodes[1].parameters.conditions.combinator",
        "Check",
    ),
    ("if-conditions-string", wf(if_node("a == b")), "nodes[1].parameters.conditions", "Check"),
    (
        "if-operator-type",
        wf(if_node({"conditions": [{"leftValue": 1, "rightValue": 1, "operator": {"type": "color"}}]})),
        "nodes[1].parameters.conditions.conditions[0].operator.type",
        "Check",
    ),
    (
        "if-operator-operation",
        wf(if_node({"conditions": [{"operator": {"type": "number", "operation": "startsWith"}}]})),
        "nodes[1].parameters.conditions.conditions[0].operator.operation",
        "Check",
    ),
    (
        "merge-number-inputs",
        wf(node("Join", "merge", 3, parameters={"numberInputs": 1})),
        "nodes[1].parameters.numberInputs",
        "Join",
    ),
    (
        "stop-error-type",
        wf(node("Fail", "stopAndError", 1, parameters={"errorType": "loud"})),
        "nodes[1].parameters.errorType",
        "Fail",
    ),
    # -- connections
    ("connections-list", wf(connections=[]), "connections", None),
    ("connections-string", wf(connections="Start->Node"), "connections", None),
    ("connections-zero", wf(connections=0), "connections", None),
    ("connections-source-missing", wf(node(), connections=connect(("Ghost", "Node"))), "connections.Ghost", "Ghost"),
    (
        "connections-target-missing",
        wf(node(), connections=connect(("Start", "Nowhere"))),
        "connections.Start.main[0][0].node",
        "Nowhere",
    ),
    (
        "connections-target-not-string",
        wf(node(), connections={"Start": {"main": [[{"node": 5, "type": "main", "index": 0}]]}}),
        "connections.Start.main[0][0].node",
        "Start",
    ),
    (
        "connections-into-trigger",
        wf(node(), connections=connect(("Node", "Start"))),
        "connections.Node.main[0][0].node",
        "Start",
    ),
    ("connections-by-type-list", wf(node(), connections={"Start": [[]]}), "connections.Start", "Start"),
    ("connections-main-object", wf(node(), connections={"Start": {"main": {}}}), "connections.Start.main", "Start"),
    ("connections-ai-type", wf(node(), connections={"Start": {"ai_tool": []}}), "connections.Start.ai_tool", "Start"),
    (
        "connections-output-not-list",
        wf(node(), connections={"Start": {"main": ["Node"]}}),
        "connections.Start.main[0]",
        "Start",
    ),
    (
        "connections-entry-not-object",
        wf(node(), connections={"Start": {"main": [["Node"]]}}),
        "connections.Start.main[0][0]",
        "Start",
    ),
    (
        "connections-input-index",
        wf(node(), connections=connect(("Start", "Node", 0, 3))),
        "connections.Start.main[0][0].index",
        "Node",
    ),
    (
        "connections-input-index-string",
        wf(node(), connections={"Start": {"main": [[{"node": "Node", "type": "main", "index": "0"}]]}}),
        "connections.Start.main[0][0].index",
        "Node",
    ),
    (
        "connections-missing-output",
        wf(node(), connections=connect(("Start", "Node", 1, 0))),
        "connections.Start.main",
        "Start",
    ),
    # -- settings
    ("settings-list", wf(settings=[]), "settings", None),
    ("settings-string", wf(settings="v1"), "settings", None),
    ("settings-false", wf(settings=False), "settings", None),
    ("settings-execution-order", wf(settings={"executionOrder": "v2"}), "settings.executionOrder", None),
    ("settings-execution-order-number", wf(settings={"executionOrder": 1}), "settings.executionOrder", None),
    ("settings-save-manual", wf(settings={"saveManualExecutions": "yes"}), "settings.saveManualExecutions", None),
    ("settings-timeout-bool", wf(settings={"executionTimeout": True}), "settings.executionTimeout", None),
    ("settings-timezone", wf(settings={"timezone": 1}), "settings.timezone", None),
]
CREATE_CASES[[c[0] for c in CREATE_CASES].index("node-not-object")] = (
    "node-not-object",
    {"name": "bad", "nodes": [START, 7], "connections": {}},
    "nodes[1]",
    None,
)


def send(client: APIClient, url: str, body: Any, method: str = "post") -> Any:
    """Send ``body`` as JSON, or a :class:`Raw` text verbatim, as ``application/json``."""
    data = str(body) if isinstance(body, Raw) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json")


def messages_of(answer: dict[str, Any], key: str) -> str:
    value = answer[key]
    return " ".join(value) if isinstance(value, list) else str(value)


def test_the_table_is_big_enough() -> None:
    assert len(CREATE_CASES) >= 30
    assert len({c[0] for c in CREATE_CASES}) == len(CREATE_CASES)


def test_the_base_bodies_are_valid(api: APIClient) -> None:
    """The rows differ from a valid body only in what they break."""
    for body in (
        wf(node()),
        wf(set_node(assignment())),
        wf(set_node({"mode": "raw", "jsonOutput": '{"a": 1}'})),
        wf(if_node({"combinator": "and", "conditions": []})),
        wf(node("Join", "merge", 3, parameters={"numberInputs": 2})),
        wf(node("Fail", "stopAndError", 1, parameters={"errorType": "errorMessage"})),
        wf(node(), connections=connect(("Start", "Node"))),
        wf(settings={"executionOrder": "v1", "saveManualExecutions": True, "executionTimeout": 30}),
    ):
        response = api.post("/api/workflows/", body, format="json")
        assert response.status_code == 201, response.content


@pytest.mark.parametrize(("body", "key", "node_name"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES])
def test_create_refuses_bad_body(api: APIClient, body: Any, key: str, node_name: str | None) -> None:
    response = send(api, "/api/workflows/", body)
    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    assert isinstance(answer, dict)
    assert key in answer, answer
    if node_name is not None:
        assert node_name in messages_of(answer, key), answer
    if "detail" in answer and key != "detail":
        # the summary repeats the field, so a client that shows only `detail` still learns it
        assert key in answer["detail"]
    assert Workflow.objects.count() == 0


def test_unknown_node_types_are_listed(api: APIClient) -> None:
    body = wf(node("A", type_="fancy"), node("B", "n8n-nodes-community.thing"), node("C", version=7))
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 400
    answer = response.json()
    listed = messages_of(answer, "nodes")
    assert "n8n-nodes-base.fancy" in listed
    assert "n8n-nodes-base.n8n-nodes-community.thing" in listed
    assert "n8n-nodes-base.noOp@7" in listed
    assert "n8n-nodes-base.manualTrigger" not in listed
    assert {"nodes[1].type", "nodes[2].type", "nodes[3].typeVersion"} <= answer.keys()
    assert "supported versions: 1" in messages_of(answer, "nodes[3].typeVersion")
    assert Workflow.objects.count() == 0


def test_every_bad_node_is_reported_at_once(api: APIClient) -> None:
    body = wf(node("A", disabled="no"), node("B", onError="explode"), set_node(assignment(type="money")))
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 400
    answer = response.json()
    assert {"nodes[1].disabled", "nodes[2].onError", "nodes[3].parameters.assignments.assignments[0].type"} <= set(
        answer
    )
    assert "'A'" in messages_of(answer, "nodes[1].disabled")
    assert "'B'" in messages_of(answer, "nodes[2].onError")
    assert "'Edit'" in messages_of(answer, "nodes[3].parameters.assignments.assignments[0].type")


@pytest.mark.parametrize(
    "operator",
    [{"type": [], "operation": "equals"}, {"type": {"a": 1}, "operation": "equals"}],
    ids=["type-list", "type-object"],
)
def test_unhashable_parameter_values_are_a_400(api: APIClient, operator: dict[str, Any]) -> None:
    body = wf(if_node({"combinator": "and", "conditions": [{"leftValue": 1, "operator": operator}]}))
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 400, response.content[:500]
    answer = response.json()
    keys = [k for k in answer if k.startswith("nodes[1].parameters")]
    assert keys, answer
    assert "Check" in messages_of(answer, keys[0])
    assert Workflow.objects.count() == 0


def test_unsupported_media_type_is_refused(api: APIClient) -> None:
    response = api.post("/api/workflows/", data="name: x", content_type="text/yaml")
    assert response.status_code == 415
    assert "detail" in response.json()
    assert Workflow.objects.count() == 0


# -- updates --------------------------------------------------------------------------------
PATCH_CASES: list[tuple[str, Any, str, str | None]] = [
    ("json-list", [{"name": "x"}], "non_field_errors", None),
    ("invalid-json", Raw('{"name": '), "detail", None),
    ("name-empty", {"name": ""}, "name", None),
    ("name-null", {"name": None}, "name", None),
    ("name-too-long", {"name": "x" * 201}, "name", None),
    ("nodes-string", {"nodes": "x"}, "nodes", None),
    ("nodes-null", {"nodes": None}, "nodes", None),
    ("nodes-duplicate", {"nodes": [START, node("Start")]}, "nodes[1].name", "Start"),
    ("nodes-unknown-type", {"nodes": [START, node(type_="nope")]}, "nodes[1].type", "Node"),
    # the stored connections still point at "Step 1" and "Step 2", which this drops
    ("nodes-drop-connected", {"nodes": [START]}, "connections.Start.main[0][0].node", "Step 1"),
    (
        "connections-missing-target",
        {"connections": connect(("Start", "Ghost"))},
        "connections.Start.main[0][0].node",
        "Ghost",
    ),
    ("connections-zero", {"connections": 0}, "connections", None),
    ("connections-list", {"connections": []}, "connections", None),
    ("settings-list", {"settings": []}, "settings", None),
    ("settings-execution-order", {"settings": {"executionOrder": "v9"}}, "settings.executionOrder", None),
    ("active-word", {"active": "sometimes"}, "active", None),
    ("deeply-nested", deeply_nested("settings"), "detail", None),
]


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize(("body", "key", "node_name"), [c[1:] for c in PATCH_CASES], ids=[c[0] for c in PATCH_CASES])
def test_update_refuses_bad_body_and_changes_nothing(
    api: APIClient, create_workflow: Any, method: str, body: Any, key: str, node_name: str | None
) -> None:
    created = create_workflow(name="keep me")
    if method == "put" and isinstance(body, dict) and "name" not in body:
        body = {"name": "renamed", **linear_workflow(), **body}
    response = send(api, f"/api/workflows/{created['id']}/", body, method=method)
    assert response.status_code == 400, response.content[:500]
    answer = response.json()
    assert key in answer, answer
    if node_name is not None:
        assert node_name in messages_of(answer, key), answer
    stored = Workflow.objects.get(pk=created["id"])
    assert (stored.name, stored.version, stored.nodes, stored.connections, stored.settings, stored.active) == (
        "keep me",
        1,
        created["nodes"],
        created["connections"],
        created["settings"],
        False,
    )
