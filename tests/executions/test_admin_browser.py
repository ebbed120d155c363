"""Operators approve and reject waiting executions in the admin, in real headless Chromium."""

from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth.models import User

from executions.models import Execution, ExecutionPause
from tests.conftest import connect, make_node

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def waiting_execution(api, create_workflow, inline_runs):
    wait = make_node(
        "Approve order", "wait", 1.1, (200, 0), parameters={"resume": "approval", "message": "Ship order 42?"}
    )
    nodes = [make_node("Start", "manualTrigger"), wait, make_node("Ship", position=(400, 0))]
    wf = create_workflow(
        {"nodes": nodes, "connections": connect(("Start", "Approve order"), ("Approve order", "Ship"))}
    )
    body = api.post(
        f"/api/workflows/{wf['id']}/execute/",
        {"input_data": [{"order": 42}], "wait_till_completion": True},
        format="json",
    ).json()
    assert body["status"] == "waiting"
    User.objects.create_superuser("operator", "op@example.com", "operator-password")
    return body["id"]


def decide(base: str, decision: str, comment: str) -> str:
    """Drive the admin; returns the page text. No ORM here: Playwright runs an event loop."""
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is required (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            return _decide(browser, base, decision, comment)
        finally:
            browser.close()


def _decide(browser, base: str, decision: str, comment: str) -> str:
    page = browser.new_page()
    page.goto(f"{base}/admin/login/?next=/admin/executions/waitingapproval/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "operator-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    assert "Ship order 42?" in page.inner_text("#result_list")
    page.click("#result_list a:has-text('Execution #')")
    page.wait_for_selector("#pause-items")
    assert '"order": 42' in page.inner_text("#pause-items")
    page.fill("#id_comment", comment)
    page.click(f"#{decision}")
    page.wait_for_selector("ul.messagelist")
    text = page.inner_text("body")
    page.close()
    return text


def test_operator_approves_in_the_admin(live_server, waiting_execution):
    text = decide(live_server.url, "approve", "Looks right")
    assert "approve recorded; it is now success" in text
    execution = Execution.objects.get(pk=waiting_execution)
    assert execution.status == "success"
    pause = ExecutionPause.objects.get(execution=execution)
    assert (pause.decision, pause.comment, pause.resumed_by.username, pause.resume_trigger) == (
        "approved",
        "Looks right",
        "operator",
        "admin",
    )
    ship = execution.node_runs.get(node_name="Ship").output[0][0]["json"]
    assert ship["approval"]["by"] == "operator" and ship["approval"]["comment"] == "Looks right"


def test_operator_rejects_in_the_admin(live_server, waiting_execution):
    text = decide(live_server.url, "reject", "Wrong address")
    assert "reject recorded; it is now error" in text
    assert "Wrong address" in text  # the audit trail on the execution page
    execution = Execution.objects.get(pk=waiting_execution)
    assert execution.status == "error" and execution.error["message"] == "rejected by operator: Wrong address"
    assert not execution.node_runs.filter(node_name="Ship").exists()
