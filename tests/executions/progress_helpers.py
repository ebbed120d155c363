"""Workflows and runs shared by the progress tests."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from tests.conftest import chained, make_node


def wait_flow() -> dict[str, Any]:
    """Start → Wait (resumed by hand) → After."""
    wait = make_node("Wait", "wait", 1.1, (200, 0), parameters={"resume": "manual"}, webhookId="wh-wait")
    return chained([make_node("Start", "manualTrigger"), wait, make_node("After", position=(400, 0))])


def error_flow() -> dict[str, Any]:
    """Start → Fail (stopAndError) → Never."""
    fail = make_node("Fail", "stopAndError", parameters={"errorType": "errorMessage", "errorMessage": "boom"})
    return chained([make_node("Start", "manualTrigger"), fail, make_node("Never", position=(400, 0))])


def execute(api: APIClient, workflow_id: int, *, wait: bool = True) -> dict[str, Any]:
    response = api.post(f"/api/workflows/{workflow_id}/execute/", {"wait_till_completion": wait}, format="json")
    assert response.status_code == 201, response.content
    return response.json()
