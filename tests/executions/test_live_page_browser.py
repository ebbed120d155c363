"""The live execution page in real headless Chromium, against daphne and a real worker.

First: the page opens on an execution nobody runs yet; a worker starts, runs it to an approval
wait, the page's Approve button continues it, and the page follows it to the end — all without
a reload. Second: the web server goes away while the run waits, the run is approved and ends
meanwhile, and the page, reconnecting, catches up with what it missed from the event log.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from django.contrib.auth.models import User
from django.db import connections

from executions.models import Execution, ExecutionEvent, ExecutionPause
from executions.services.pauses import pause_approve
from tests.conftest import chained, make_node
from tests.executions.procs import daphne, running
from tests.executions.test_admin_browser import ARGS, CHROMIUM

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NODES = ["Start", "Approve order", "Ship", "Notify"]

# Records every status a node row, the page and the connection take, in order (a reload would
# lose it), and every message the page sends on its websockets.
RECORD = """
() => {
  window.__statuses = {};
  const note = (key, value) => {
    const seen = (window.__statuses[key] = window.__statuses[key] || []);
    if (seen[seen.length - 1] !== value) seen.push(value); // setting the same value again is no change
  };
  document.querySelectorAll("#nodes tbody tr").forEach((tr) => note(tr.dataset.node, tr.dataset.status));
  note("$execution", document.body.dataset.status);
  note("$connection", document.getElementById("connection").dataset.state);
  new MutationObserver((changes) => {
    for (const { target } of changes) {
      if (target === document.body) note("$execution", target.dataset.status);
      else if (target.id === "connection") note("$connection", target.dataset.state);
      else note(target.dataset.node, target.dataset.status);
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-status", "data-state"] });
}
"""


@pytest.fixture
def signs_in_to_daphne(owner, settings):
    """The test settings hash passwords with MD5, which daphne's (production) settings refuse."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    owner.set_password("alice-password")
    owner.save(update_fields=["password"])


@pytest.fixture
def new_execution(api, create_workflow, signs_in_to_daphne) -> int:
    wait = make_node(
        "Approve order", "wait", 1.1, (200, 0), parameters={"resume": "approval", "message": "Ship order 42?"}
    )
    nodes = [make_node("Start", "manualTrigger"), wait, make_node("Ship", position=(400, 0))]
    nodes.append(make_node("Notify", position=(600, 0)))
    wf = create_workflow(chained(nodes))
    response = api.post(
        f"/api/workflows/{wf['id']}/execute/", {"input_data": [{"order": n} for n in range(3)]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "new"  # queued: no worker is running yet
    connections.close_all()  # no ORM while Playwright's loop runs; the child processes need the database
    return body["id"]


# -- driving the page (no ORM in these: Playwright's sync API runs an event loop) ---------------
def open_browser(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def signed_in_page(browser, base: str, execution_id: int, sent: list[dict]):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(json.loads(payload))))
    page.goto(f"{base}/executions/{execution_id}/live/")
    assert "/accounts/login/" in page.url  # sign in first
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password")
    page.click("#sign-in")
    page.wait_for_url(f"{base}/executions/{execution_id}/live/")
    page.wait_for_selector('#connection[data-state="live"]')
    page.evaluate(RECORD)
    page.evaluate("window.__marker = 'still here'")
    return page


def row(page, node: str) -> dict[str, str]:
    return page.evaluate(
        """(name) => {
          const tr = [...document.querySelectorAll('#nodes tbody tr')].find((r) => r.dataset.node === name);
          const text = (cls) => tr.querySelector(cls).textContent.trim();
          return {status: tr.dataset.status, started: text('.started'), duration: text('.duration'),
                  items_in: text('.items-in'), items_out: text('.items-out')};
        }""",
        node,
    )


def page_state(page) -> dict:
    return {
        "rows": {n: row(page, n) for n in NODES},
        "progress": page.inner_text("#progress-text"),
        "approval_message": page.inner_text("#approval-message"),
        "approval_hidden": page.locator("#approval").is_hidden(),
        "marker": page.evaluate("window.__marker"),
        "statuses": page.evaluate("window.__statuses"),
        "log": page.evaluate(
            """() => [...document.querySelectorAll('#event-log li')].map((li) =>
                 [Number(li.dataset.sequence), li.dataset.type, li.querySelector('.detail').textContent.trim()])"""
        ),
    }


def wait_until_ended(page) -> None:
    page.wait_for_selector('body[data-status="success"]')
    # The snapshot re-read after the end fills in the items each node received.
    page.locator('#nodes tr[data-node="Notify"] .items-in').filter(has_text="3").wait_for()
    page.locator("#connection").filter(has_text="finished").wait_for()


# -- checks on the outcome ---------------------------------------------------------------------
def assert_complete_log(execution_id: int, log: list) -> None:
    stored = ExecutionEvent.objects.filter(execution_id=execution_id).order_by("sequence")
    assert [(seq, kind) for seq, kind, _ in log] == list(stored.values_list("sequence", "type"))  # each once, in order


def assert_finished_rows(done: dict) -> None:
    for name in NODES:
        assert done["rows"][name]["status"] == "success", (name, done["rows"][name])
        assert re.fullmatch(r"\d+\.\d ms|\d+\.\d\d s", done["rows"][name]["duration"]), done["rows"][name]
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", done["rows"][name]["started"]), done["rows"][name]
    assert [done["rows"][n]["items_out"] for n in NODES] == ["3", "3", "3", "3"]
    assert [done["rows"][n]["items_in"] for n in NODES[1:]] == ["3", "3", "3"]
    assert done["progress"] == "4 / 4 nodes" and done["approval_hidden"] is True
    assert done["marker"] == "still here"  # no reload
    ship = [detail for _, kind, detail in done["log"] if kind == "node_finished" and detail.startswith("Ship")]
    assert ship and ship[0].startswith("Ship · success · 3 items · "), ship


def test_live_page_follows_a_run_through_an_approval(new_execution):
    execution_id = new_execution
    sent: list[dict] = []
    with daphne() as port:
        base = f"http://127.0.0.1:{port}"
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = open_browser(pw)
            try:
                page = signed_in_page(browser, base, execution_id, sent)
                before = {n: row(page, n)["status"] for n in NODES}
                status_before = page.inner_text("#execution-status")
                with running("qcluster"):
                    page.wait_for_selector('body[data-status="waiting"]')
                    page.locator("#approval-message").filter(has_text="Ship order 42?").wait_for()
                    waiting = page_state(page)
                    page.fill("#approval-comment", "Ship it")
                    page.click("#approve")
                    wait_until_ended(page)
                    result = page.inner_text("#approval-result")
                    done = page_state(page)
            finally:
                browser.close()

    assert status_before == "new" and set(before.values()) == {"pending"}
    # While waiting: the trigger ran with the 3 input items, the approval node waits, the rest is pending.
    assert waiting["rows"]["Start"]["status"] == "success" and waiting["rows"]["Start"]["items_out"] == "3"
    assert waiting["rows"]["Approve order"]["status"] == "waiting"
    assert [waiting["rows"][n]["status"] for n in ("Ship", "Notify")] == ["pending", "pending"]
    assert waiting["approval_hidden"] is False and waiting["approval_message"] == "Ship order 42?"
    assert waiting["progress"] == "1 / 4 nodes"
    assert result == "Approved."
    assert_finished_rows(done)
    # Seen live: each state the page went through.
    statuses = done["statuses"]
    assert statuses["$execution"] == ["new", "running", "waiting", "running", "success"]
    assert statuses["Ship"] == ["pending", "running", "success"]
    assert statuses["Approve order"][:3] == ["pending", "running", "waiting"]
    assert statuses["Approve order"][-1] == "success"
    kinds = [kind for _, kind, _ in done["log"]]
    assert kinds[0] == "execution_started" and kinds[-1] == "execution_finished"
    assert "execution_waiting" in kinds and "execution_resumed" in kinds
    assert sent == [{"type": "resume", "after": 0}]  # the history for the log, once

    assert_complete_log(execution_id, done["log"])
    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "success"
    pause = ExecutionPause.objects.get(execution=execution)
    assert (pause.decision, pause.comment, pause.resumed_by.username) == ("approved", "Ship it", "alice")


def approve_elsewhere(execution_id: int) -> None:
    """Approve through the service in another thread (this one runs Playwright's loop) and wait
    until the worker has finished the run."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            pause_approve(execution=Execution.objects.get(pk=execution_id), user=User.objects.get(username="alice"))
            deadline = time.monotonic() + 30
            while Execution.objects.get(pk=execution_id).status != "success":
                assert time.monotonic() < deadline, "the worker did not finish the run"
                time.sleep(0.1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert not errors, errors


def test_live_page_catches_up_after_losing_the_server(new_execution):
    execution_id = new_execution
    sent: list[dict] = []
    from playwright.sync_api import sync_playwright

    with running("qcluster"), sync_playwright() as pw:
        browser = open_browser(pw)
        try:
            with daphne() as port:
                base = f"http://127.0.0.1:{port}"
                page = signed_in_page(browser, base, execution_id, sent)
                page.wait_for_selector('body[data-status="waiting"]')
                page.locator('#event-log li[data-type="execution_waiting"]').wait_for()
                waited_at = max(seq for seq, _, _ in page_state(page)["log"])
            page.wait_for_selector('#connection[data-state="reconnecting"]')
            approve_elsewhere(execution_id)  # the run goes on and ends while nobody listens
            assert page.inner_text("#execution-status") == "waiting"
            with daphne(port):
                wait_until_ended(page)
                done = page_state(page)
        finally:
            browser.close()

    assert_finished_rows(done)
    assert done["statuses"]["$connection"][-4:] == ["live", "reconnecting", "live", "finished"]
    # After reconnecting, the page asked for exactly what it missed.
    assert sent[-1] == {"type": "resume", "after": waited_at}
    assert_complete_log(execution_id, done["log"])
