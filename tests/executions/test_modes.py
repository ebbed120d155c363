"""The mode table (docs/modes.md), one rule per test, over every mode a run can start in:
pin data, ``$execution.mode``, the error workflow and saving. (The concurrency column is in
``test_concurrency.py``; ``integrated`` runs, which follow their root, in ``test_subworkflow_pins.py``
and ``test_context.py``.)"""

from __future__ import annotations

from typing import Any

import pytest

from executions.models import Execution, NodeRun
from executions.services import execution_create
from executions.services.pruning import prune_unsaved
from executions.services.worker import execution_run
from tests.conftest import chained, make_node
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)

TEST_MODES = ["manual", "test"]
PRODUCTION = ["trigger", "webhook", "cli", "internal", "retry", "error"]
ALL = TEST_MODES + PRODUCTION


def pinned_workflow() -> dict[str, Any]:
    return chained(
        [
            make_node("Start", "manualTrigger"),
            make_node("Data", position=(200, 0)),
            make_node(
                "Mode",
                "set",
                3.4,
                (400, 0),
                parameters={
                    "mode": "manual",
                    "assignments": {
                        "assignments": [{"name": "mode", "value": "={{ $execution.mode }}", "type": "string"}]
                    },
                },
            ),
        ]
    )


def run(workflow_id: int, mode: str) -> Execution:
    execution = execution_create(
        workflow=Workflow.objects.get(pk=workflow_id), user=None, mode=mode, defer_enqueue=True
    )
    execution_run(execution_id=execution.pk)
    return Execution.objects.get(pk=execution.pk)


def output_of(execution: Execution, node: str) -> NodeRun:
    return NodeRun.objects.get(execution=execution, node_name=node)


@pytest.fixture
def with_pin(api, create_workflow) -> Any:
    def make(**settings: Any) -> int:
        wf = create_workflow(pinned_workflow(), settings=settings)
        response = api.post(
            f"/api/workflows/{wf['id']}/nodes/Data/pin-data/", {"data": [{"pinned": True}]}, format="json"
        )
        assert response.status_code == 201, response.content
        return int(wf["id"])

    return make


@pytest.mark.parametrize("mode", ALL)
def test_pin_data_is_used_only_in_manual_and_test_runs(with_pin, mode) -> None:
    execution = run(with_pin(), mode)
    assert execution.status == "success", execution.error
    data = output_of(execution, "Data")
    assert bool(data.metadata.get("pinned")) is (mode in TEST_MODES)
    expected = [{"pinned": True}] if mode in TEST_MODES else [{}]
    assert [item["json"] for item in data.output[0]] == expected


@pytest.mark.parametrize("mode", PRODUCTION)
def test_allow_pin_data_in_production_uses_pins_in_every_mode(with_pin, mode) -> None:
    execution = run(with_pin(allowPinDataInProduction=True), mode)
    assert output_of(execution, "Data").metadata.get("pinned") is True


@pytest.mark.parametrize("mode", ALL)
def test_execution_mode_is_test_for_manual_and_test_runs_else_production(with_pin, mode) -> None:
    execution = run(with_pin(), mode)
    [item] = output_of(execution, "Mode").output[0]
    assert item["json"]["mode"] == ("test" if mode in TEST_MODES else "production")


@pytest.mark.parametrize("mode", ALL)
def test_the_error_workflow_runs_for_failed_production_runs_only(create_workflow, mode) -> None:
    handler = create_workflow(
        chained([make_node("On error", "errorTrigger"), make_node("Handle", position=(200, 0))]), name="handler"
    )
    failing = create_workflow(
        chained(
            [
                make_node("Start", "manualTrigger"),
                make_node(
                    "Fail",
                    "stopAndError",
                    1,
                    (200, 0),
                    parameters={"errorType": "errorMessage", "errorMessage": "boom"},
                ),
            ]
        ),
        settings={"errorWorkflow": str(handler["id"])},
    )
    execution = run(failing["id"], mode)
    assert execution.status == "error"
    fired = Execution.objects.filter(triggered_by=execution, mode="error", workflow_id=handler["id"]).exists()
    # Manual and test runs only with ``errorWorkflowOnManual``; an error workflow never fires another.
    assert fired is (mode not in TEST_MODES and mode != "error")


@pytest.mark.parametrize("mode", ALL)
def test_saving_follows_save_manual_executions_or_save_data_settings(create_workflow, settings, mode) -> None:
    settings.BUDFLOW = {**settings.BUDFLOW, "UNSAVED_KEEP_SECONDS": 0.0}
    manual_unsaved = create_workflow(settings={"saveManualExecutions": False}, name="manual unsaved")
    production_unsaved = create_workflow(settings={"saveDataSuccessExecution": "none"}, name="production unsaved")
    first = run(manual_unsaved["id"], mode)
    second = run(production_unsaved["id"], mode)
    assert first.status == second.status == "success"
    deleted = set(prune_unsaved())
    assert (first.pk in deleted) is (mode in TEST_MODES)
    assert (second.pk in deleted) is (mode not in TEST_MODES)
