"""``executionTimeout`` (issue 10, part 5): enforced while a node runs, capped by the instance
maximum, measured on running time only (a wait does not count); the run ends ``canceled``
with an ``ExecutionTimeout`` error."""

from __future__ import annotations

import time
from typing import Any

import pytest

from executions.models import Execution, NodeRun
from tests.conftest import Reply, chained, make_node
from tests.executions.test_subworkflows import call, entry
from workflows.engine.registry import default_registry
from workflows.engine.runner import WorkflowRunner, start_state

pytestmark = pytest.mark.django_db(transaction=True)


def slow_http(url: str) -> dict[str, Any]:
    return chained(
        [
            make_node("Start", "manualTrigger"),
            make_node("Call", "httpRequest", 4.2, (200, 0), parameters={"url": url}),
            make_node("After", position=(400, 0)),
        ]
    )


def run(api: Any, workflow_id: int) -> tuple[Execution, float]:
    started = time.monotonic()
    response = api.post(f"/api/workflows/{workflow_id}/execute/", {}, format="json")
    assert response.status_code == 201, response.content
    return Execution.objects.get(pk=response.json()["id"]), time.monotonic() - started


def assert_timed_out(execution: Execution, seconds: float) -> None:
    assert execution.status == "canceled"
    assert execution.error["type"] == "ExecutionTimeout"
    assert execution.error["timeout"] == seconds
    call = NodeRun.objects.get(execution=execution, node_name="Call")
    assert call.status == "canceled" and call.error["type"] == "ExecutionTimeout"
    assert not NodeRun.objects.filter(execution=execution, node_name="After").exists()


def test_a_timeout_inside_a_long_http_node(api, create_workflow, json_server, inline_runs) -> None:
    base, calls = json_server(lambda path: Reply({"late": True}, delay=10))
    wf = create_workflow(slow_http(f"{base}/slow"), settings={"executionTimeout": 1})
    execution, took = run(api, wf["id"])
    assert len(calls) == 1
    assert_timed_out(execution, 1)
    assert took < 2.5, f"the run took {took:.2f} s for a 1 s timeout"


def test_the_instance_maximum_caps_a_workflow_timeout(api, create_workflow, json_server, inline_runs, settings) -> None:
    settings.BUDFLOW = {**settings.BUDFLOW, "EXECUTION_TIMEOUT_MAX": 1.0}
    base, _ = json_server(lambda path: Reply({"late": True}, delay=10))
    wf = create_workflow(slow_http(f"{base}/slow"), settings={"executionTimeout": 600})
    execution, took = run(api, wf["id"])
    assert_timed_out(execution, 1)
    assert took < 2.5


def test_the_instance_default_applies_without_a_workflow_timeout(
    api, create_workflow, json_server, inline_runs, settings
) -> None:
    settings.BUDFLOW = {**settings.BUDFLOW, "EXECUTION_TIMEOUT": 1.0}
    base, _ = json_server(lambda path: Reply({"late": True}, delay=10))
    wf = create_workflow(slow_http(f"{base}/slow"), settings={"executionTimeout": -1})
    execution, _took = run(api, wf["id"])
    assert_timed_out(execution, 1)


def test_a_timeout_does_not_retry_the_node_nor_take_its_error_output(
    api, create_workflow, json_server, inline_runs
) -> None:
    base, calls = json_server(lambda path: Reply({"late": True}, delay=10))
    definition = slow_http(f"{base}/slow")
    definition["nodes"][1].update(retryOnFail=True, maxTries=3, waitBetweenTries=0, onError="continueRegularOutput")
    wf = create_workflow(definition, settings={"executionTimeout": 1})
    execution, took = run(api, wf["id"])
    assert_timed_out(execution, 1)
    assert len(calls) == 1 and took < 2.5


def test_time_spent_waiting_does_not_count(api, create_workflow, inline_runs) -> None:
    wf = create_workflow(
        chained(
            [
                make_node("Start", "manualTrigger"),
                make_node("Wait", "wait", 1.1, (200, 0), parameters={"resume": "manual"}),
                make_node("After", position=(400, 0)),
            ]
        ),
        settings={"executionTimeout": 1},
    )
    execution, _ = run(api, wf["id"])
    assert execution.status == "waiting"
    time.sleep(1.3)  # longer than the timeout, but waiting
    assert api.post(f"/api/executions/{execution.pk}/resume/", {}, format="json").status_code == 200
    execution.refresh_from_db()
    assert execution.status == "success", execution.error
    assert execution.state["active_seconds"] < 1


def test_the_running_time_is_carried_across_resumes() -> None:
    """The engine continues from the saved running time: a state that used it up ends at once."""
    state = start_state("Start", [{"json": {}}])
    state.active_seconds = 5.0
    nodes = [make_node("Start", "manualTrigger")]
    runner = WorkflowRunner(
        nodes=nodes, connections={}, registry=default_registry(), state=state, execution_timeout=5.0
    )
    result = runner.run()
    assert result.status == "canceled"
    assert result.error is not None and result.error["type"] == "ExecutionTimeout"
    state.active_seconds = 1.0
    result = WorkflowRunner(
        nodes=nodes, connections={}, registry=default_registry(), state=state, execution_timeout=5.0
    ).run()
    assert result.status == "success"
    assert 1.0 <= state.active_seconds < 1.5


def test_bad_timeout_settings_are_refused(api) -> None:
    body = {"name": "wf", **chained([make_node("Start", "manualTrigger")])}
    for settings_, field in (
        ({"executionTimeout": 0}, "settings.executionTimeout"),
        ({"concurrencyLimit": -1}, "settings.concurrencyLimit"),
        ({"concurrencyLimit": "2"}, "settings.concurrencyLimit"),
    ):
        response = api.post("/api/workflows/", {**body, "settings": settings_}, format="json")
        assert response.status_code == 400
        assert field in str(response.json())


def test_a_parent_timeout_stops_the_child_it_runs_in_place(api, create_workflow, json_server, inline_runs) -> None:
    base, calls = json_server(lambda path: Reply({"late": True}, delay=10))
    child = create_workflow(
        chained(
            [
                entry(),
                make_node("Slow", "httpRequest", 4.2, (200, 0), parameters={"url": f"{base}/slow"}),
            ]
        )
    )
    parent = chained(
        [
            make_node("Start", "manualTrigger"),
            call(child["id"]),
            make_node("After", position=(400, 0)),
        ]
    )
    wf = create_workflow(parent, settings={"executionTimeout": 1})
    execution, took = run(api, wf["id"])
    assert len(calls) == 1
    assert_timed_out(execution, 1)
    assert took < 3, f"the parent took {took:.2f} s for a 1 s timeout"
    stopped = Execution.objects.get(parent_execution=execution, mode="integrated")
    assert stopped.status == "canceled"
    assert NodeRun.objects.get(execution=stopped, node_name="Slow").status == "canceled"
