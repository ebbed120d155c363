"""n8n import/export through the API and the management commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import linear_workflow
from tests.executions.procs import ROOT, child_env
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)


def n8n_file(**extra) -> dict:
    definition = linear_workflow(3)
    definition["nodes"][1]["credentials"] = {"httpBasicAuth": {"id": "7", "name": "Basic"}}
    return {
        "id": "AbC123xyz",
        "name": "From n8n",
        "active": False,
        "settings": {"executionOrder": "v1"},
        "pinData": {},
        "meta": {"instanceId": "x"},
        "tags": [],
        **definition,
        **extra,
    }


def test_import_keeps_alias_and_export_round_trips(api):
    response = api.post("/api/workflows/import/", n8n_file(), format="json")
    assert response.status_code == 201, response.content
    workflow = Workflow.objects.get(pk=response.json()["id"])
    assert workflow.n8n_id == "AbC123xyz"
    exported = api.get(f"/api/workflows/{workflow.pk}/export/").json()
    original = n8n_file()
    for key in ("id", "name", "nodes", "connections", "settings"):
        assert exported[key] == original[key], key
    assert exported["nodes"][1]["credentials"] == {"httpBasicAuth": {"id": "7", "name": "Basic"}}
    again = api.post("/api/workflows/import/", exported, format="json")
    assert again.status_code == 201
    assert api.get(f"/api/workflows/{again.json()['id']}/export/").json()["nodes"] == original["nodes"]


def test_v0_order_imports_with_a_warning(api):
    response = api.post("/api/workflows/import/", n8n_file(settings={"executionOrder": "v0"}), format="json")
    assert response.status_code == 201
    assert response.json()["settings"]["executionOrder"] == "v1"
    assert "v0" in response.json()["settings"]["budflowImportWarning"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([1, 2], "body"),
        ({**n8n_file(), "pinData": [1]}, "pinData"),
        ({**n8n_file(), "nodes": [{"name": "X", "type": "n8n-nodes-base.nope", "typeVersion": 1}]}, "nodes"),
    ],
)
def test_bad_import_is_400_and_creates_nothing(api, body, field):
    response = api.post("/api/workflows/import/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Workflow.objects.exists()


def test_other_user_cannot_export(api, other_api):
    wf_id = api.post("/api/workflows/import/", n8n_file(), format="json").json()["id"]
    assert other_api.get(f"/api/workflows/{wf_id}/export/").status_code == 404


def test_import_and_run_commands(tmp_path, owner):
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(n8n_file()))
    env = child_env()
    imported = subprocess.run(
        [sys.executable, "manage.py", "import_workflow", str(path), "--owner", "alice"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    workflow_id = int(imported.stdout.strip())
    assert Workflow.objects.get(pk=workflow_id).owner == owner
    ran = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "run_workflow",
            str(workflow_id),
            "--input",
            '[{"name": "Ada"}, {"name": "Grace"}]',
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [{"name": "Ada"}, {"name": "Grace"}]
    assert "Step 2: ok (2 items" in ran.stderr and "success" in ran.stderr
    missing = subprocess.run(
        [sys.executable, "manage.py", "run_workflow", "999999"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0 and "no workflow with id 999999" in missing.stderr
