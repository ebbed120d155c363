"""The admin lists workflows and executions; executions are read-only with their node runs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client_logged(client):
    User.objects.create_superuser("root", "root@example.com", "root-password")
    assert client.login(username="root", password="root-password")
    return client


def test_execution_admin_shows_node_runs_read_only(admin_client_logged, api, create_workflow, inline_runs):
    wf = create_workflow()
    body = api.post(f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True}, format="json").json()
    listing = admin_client_logged.get("/admin/executions/execution/?status__exact=success")
    assert listing.status_code == 200
    assert f">{body['id']}<" in listing.content.decode()
    empty = admin_client_logged.get("/admin/executions/execution/?status__exact=error").content.decode()
    assert "0 executions" in empty
    page = admin_client_logged.get(f"/admin/executions/execution/{body['id']}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    for name in ("Start", "Step 1", "Step 2"):
        assert name in html
    assert 'name="_save"' not in html  # read-only: no save button
    assert admin_client_logged.get("/admin/executions/execution/add/").status_code == 403


def test_workflow_admin_lists_workflows(admin_client_logged, create_workflow):
    create_workflow(name="Listed workflow")
    page = admin_client_logged.get("/admin/workflows/workflow/")
    assert page.status_code == 200 and "Listed workflow" in page.content.decode()
