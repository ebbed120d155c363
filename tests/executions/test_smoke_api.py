import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_execute_inline_runs_every_node(api, create_workflow, inline_runs):
    wf = create_workflow()
    r = api.post(
        f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True, "input_data": [{"a": 1}]}, format="json"
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "success"
    assert list(body["run_data"]) == ["Start", "Step 1", "Step 2"]
    assert body["run_data"]["Step 2"][0]["data"]["main"][0][0]["json"] == {"a": 1}
    events = [e for e in api.get(f"/api/executions/{body['id']}/").json()["run_data"]]
    assert events
