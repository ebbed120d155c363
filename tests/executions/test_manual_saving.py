"""``saveManualExecutions``: off → a manual run is deleted after it ends (its caller reads the
result first), unless it is waiting; production runs and workflows that save are kept."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from executions.models import Execution, ExecutionEvent, NodeRun
from executions.services.pruning import prune_unsaved
from tests.conftest import chained, linear_workflow, make_node

inline = pytest.mark.django_db(transaction=True)


def run(api: APIClient, workflow_id: int) -> dict[str, Any]:
    response = api.post(f"/api/workflows/{workflow_id}/execute/", {"wait_till_completion": True}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def unsaved(definition: dict[str, Any]) -> dict[str, Any]:
    return {**definition, "settings": {"saveManualExecutions": False}}


@inline
def test_unsaved_manual_run_answers_its_result_then_is_deleted(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    wf = create_workflow(unsaved(linear_workflow(3)))
    body = run(api, wf["id"])
    # the caller gets the whole result
    assert body["status"] == "success"
    assert set(body["run_data"]) == {"Start", "Step 1", "Step 2"}
    # kept for the grace period, then deleted with its node runs and events
    assert prune_unsaved() == []
    assert api.get(f"/api/executions/{body['id']}/").status_code == 200
    settings.BUDFLOW = {**settings.BUDFLOW, "UNSAVED_KEEP_SECONDS": 0.0}
    assert prune_unsaved() == [body["id"]]
    assert not Execution.objects.filter(pk=body["id"]).exists()
    assert not NodeRun.objects.filter(execution_id=body["id"]).exists()
    assert not ExecutionEvent.objects.filter(execution_id=body["id"]).exists()
    assert api.get(f"/api/executions/{body['id']}/").status_code == 404


@inline
def test_waiting_saved_and_production_runs_are_kept(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    settings.BUDFLOW = {**settings.BUDFLOW, "UNSAVED_KEEP_SECONDS": 0.0}
    waits = create_workflow(
        unsaved(
            chained(
                [make_node("Start", "manualTrigger"), make_node("Wait", "wait", 1.1, parameters={"resume": "webhook"})]
            )
        )
    )
    waiting = run(api, waits["id"])
    assert waiting["status"] == "waiting"
    saved = run(api, create_workflow(linear_workflow(2))["id"])
    explicit = run(api, create_workflow({**linear_workflow(2), "settings": {"saveManualExecutions": True}})["id"])
    production = create_workflow(unsaved(linear_workflow(2)))
    prod = run(api, production["id"])
    Execution.objects.filter(pk=prod["id"]).update(mode="trigger")

    assert prune_unsaved() == []
    assert set(Execution.objects.values_list("pk", flat=True)) == {
        waiting["id"],
        saved["id"],
        explicit["id"],
        prod["id"],
    }
