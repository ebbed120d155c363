"""The live execution page: who may open it, what it starts with, and where it is linked from."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import Client

from tests.conftest import chained, make_node
from tests.executions.progress_helpers import execute

pytestmark = pytest.mark.django_db(transaction=True)


def approval_flow(**parameters) -> dict:
    wait = make_node(
        "Approve order",
        "wait",
        1.1,
        (200, 0),
        parameters={"resume": "approval", "message": "Ship order 42?", **parameters},
    )
    return chained([make_node("Start", "manualTrigger"), wait, make_node("Ship", position=(400, 0))])


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_config(response) -> dict:
    """The JSON the page's script starts from (``json_script`` in the template)."""
    html = response.content.decode()
    start = html.index('<script id="live-config" type="application/json">') + len(
        '<script id="live-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


@pytest.fixture
def waiting(api, create_workflow, inline_runs):
    def start(**parameters) -> int:
        wf = create_workflow(approval_flow(**parameters))
        body = execute(api, wf["id"])
        assert body["status"] == "waiting"
        return body["id"]

    return start


def test_owner_gets_the_page_with_nodes_urls_and_the_approval(owner, waiting):
    execution_id = waiting()
    response = client_for(owner).get(f"/executions/{execution_id}/live/")
    assert response.status_code == 200
    config = page_config(response)
    assert config["execution_id"] == execution_id
    # Nodes in the editor's order (left to right), types without the n8n prefix.
    assert config["nodes"] == [
        {"name": "Start", "type": "manualTrigger"},
        {"name": "Approve order", "type": "wait"},
        {"name": "Ship", "type": "noOp"},
    ]
    assert config["detail_url"] == f"/api/executions/{execution_id}/"
    assert config["progress_url"] == f"/api/executions/{execution_id}/progress/"
    assert config["approve_url"] == f"/api/executions/{execution_id}/approve/"
    assert config["reject_url"] == f"/api/executions/{execution_id}/reject/"
    assert config["ws_path"] == f"/ws/executions/{execution_id}/progress/"
    assert config["pause"] == {
        "type": "approval",
        "node": "Approve order",
        "message": "Ship order 42?",
        "can_decide": True,
    }
    html = response.content.decode()
    assert '<tr data-node="Approve order">' in html
    assert "/static/executions/live.js" in html
    assert response.cookies[settings.CSRF_COOKIE_NAME].value  # the approve / reject calls need it
    assert "/admin/" not in html  # no admin link for a user who is not staff


def test_other_user_gets_404_and_anonymous_is_sent_to_sign_in(owner, other, waiting):
    execution_id = waiting()
    assert client_for(other).get(f"/executions/{execution_id}/live/").status_code == 404
    assert client_for(owner).get("/executions/999999/live/").status_code == 404
    response = Client().get(f"/executions/{execution_id}/live/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/executions/{execution_id}/live/"


def test_sign_in_page_leads_back_to_the_live_page(owner, waiting):
    execution_id = waiting()
    client = Client()
    form = client.get(f"/accounts/login/?next=/executions/{execution_id}/live/")
    assert form.status_code == 200 and b'name="next"' in form.content
    wrong = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200 and b"didn't match" in wrong.content
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "alice-password", "next": f"/executions/{execution_id}/live/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/executions/{execution_id}/live/"
    assert client.get(response["Location"]).status_code == 200


def test_named_approver_sees_it_while_waiting_and_an_excluded_owner_cannot_decide(owner, other, waiting):
    execution_id = waiting(approvers=["bob"])
    as_owner = page_config(client_for(owner).get(f"/executions/{execution_id}/live/"))
    assert as_owner["pause"]["can_decide"] is False  # approvers are set and exclude the owner
    as_bob = page_config(client_for(other).get(f"/executions/{execution_id}/live/"))
    assert as_bob["pause"]["can_decide"] is True


def test_user_allowed_to_approve_sees_waiting_approvals_without_a_list(other, waiting):
    execution_id = waiting()
    assert client_for(other).get(f"/executions/{execution_id}/live/").status_code == 404
    other.user_permissions.add(Permission.objects.get(codename="approve_pause"))
    other = User.objects.get(pk=other.pk)  # no cached permissions
    assert client_for(other).get(f"/executions/{execution_id}/live/").status_code == 200


def test_staff_get_the_page_with_an_admin_link(staff, waiting):
    execution_id = waiting()
    response = client_for(staff).get(f"/executions/{execution_id}/live/")
    assert response.status_code == 200
    assert f"/admin/executions/execution/{execution_id}/change/" in response.content.decode()


def test_api_detail_links_the_page_for_every_reader(api, other_api, waiting):
    execution_id = waiting()
    body = api.get(f"/api/executions/{execution_id}/").json()
    assert body["live_url"] == f"{settings.BUDFLOW_PUBLIC_URL}/executions/{execution_id}/live/"
    assert other_api.get(f"/api/executions/{execution_id}/").status_code == 404


def test_admin_execution_page_and_decision_screen_link_the_page(waiting):
    execution_id = waiting()
    admin = User.objects.create_superuser("root", "root@example.com", "root-password")
    client = client_for(admin)
    change = client.get(f"/admin/executions/execution/{execution_id}/change/")
    assert change.status_code == 200
    assert f'href="/executions/{execution_id}/live/" id="live-page-link"' in change.content.decode()
    listing = client.get("/admin/executions/execution/")
    assert f'href="/executions/{execution_id}/live/"' in listing.content.decode()
    pause_id = client.get("/admin/executions/waitingapproval/").context["cl"].result_list[0].pk
    decide = client.get(f"/admin/executions/waitingapproval/{pause_id}/change/")
    assert f'href="/executions/{execution_id}/live/"' in decide.content.decode()


def test_the_script_is_served():
    response = Client().get("/static/executions/live.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b'send({ type: "resume"' in body
