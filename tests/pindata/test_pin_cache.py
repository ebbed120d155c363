"""A worker process sees pin changes at once: the pin cache is shared, not per process."""

from __future__ import annotations

import pytest

from tests.conftest import chained, make_node
from tests.executions.procs import running

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_uses_the_current_pin_after_a_change(api, create_workflow, settings):
    wf = create_workflow(
        chained(
            [
                make_node("Start", "manualTrigger"),
                make_node("Source", position=(200, 0)),
                make_node("After", position=(400, 0)),
            ]
        )
    )
    url = f"/api/workflows/{wf['id']}/nodes/Source/pin-data/"

    def run() -> list:
        body = api.post(f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True}, format="json").json()
        assert body["status"] == "success", body
        return [i["json"] for i in body["run_data"]["After"][0]["data"]["main"][0]]

    with running("qcluster", ready=1.0):
        api.post(url, {"data": [{"v": "first"}]}, format="json")
        assert run() == [{"v": "first"}]
        api.post(url, {"data": [{"v": "second"}]}, format="json")
        assert run() == [{"v": "second"}]
        api.delete(url)
        assert run() == [{}]
