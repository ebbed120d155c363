"""Structured logs: records logged while a node runs carry the execution id and node name."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest
from rest_framework.test import APIClient

from budflow_site.logs import ExecutionContextFilter, JsonFormatter, log_context
from tests.conftest import chained, make_node

inline = pytest.mark.django_db(transaction=True)


def record(message: str = "hello") -> logging.LogRecord:
    rec = logging.LogRecord("t", logging.WARNING, __file__, 1, message, None, None)
    ExecutionContextFilter().filter(rec)
    return rec


def test_the_filter_adds_the_bound_execution_and_node_and_restores_the_outer_ones() -> None:
    assert (record().execution_id, record().node, record().context) == ("", "", "")  # type: ignore[attr-defined]
    with log_context(12, "Fetch"):
        rec = record()
        assert (rec.execution_id, rec.node, rec.context) == ("12", "Fetch", " [execution=12 node='Fetch']")  # type: ignore[attr-defined]
        with log_context(13, "Child node"):
            assert record().execution_id == "13"  # type: ignore[attr-defined]
        assert (record().execution_id, record().node) == ("12", "Fetch")  # type: ignore[attr-defined]
    assert record().execution_id == ""  # type: ignore[attr-defined]


def test_bindings_do_not_cross_threads() -> None:
    seen: list[str] = []
    with log_context(7, "A"):
        thread = threading.Thread(target=lambda: seen.append(record().execution_id))  # type: ignore[attr-defined]
        thread.start()
        thread.join()
    assert seen == [""]


def test_json_lines_carry_the_fields() -> None:
    with log_context(5, "Send"):
        rec = record("sent %s items")
    rec.args = (3,)

    line = json.loads(JsonFormatter().format(rec))

    assert {k: line[k] for k in ("level", "logger", "message", "execution_id", "node")} == {
        "level": "WARNING",
        "logger": "t",
        "message": "sent 3 items",
        "execution_id": "5",
        "node": "Send",
    }


@inline
def test_records_logged_during_a_run_name_the_execution_and_the_node(
    api: APIClient, create_workflow: Any, inline_runs: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(ExecutionContextFilter())
    caplog.set_level(logging.WARNING)
    save = make_node(
        "Save", "executionData", 1, (200, 0), parameters={"dataToSave": {"values": [{"key": "bad-key", "value": "v"}]}}
    )
    fail = make_node("Fail", "stopAndError", 1, (400, 0), parameters={"errorMessage": "boom"})
    wf = create_workflow(chained([make_node("Start", "manualTrigger"), save, fail]))

    response = api.post(f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True, "mode": "cli"})
    execution_id = str(response.json()["id"])
    logging.getLogger("after").warning("outside any run")

    by_message = {rec.getMessage().split(":")[0]: rec for rec in caplog.records}
    refused = by_message["custom data refused"]  # logged by the engine, inside the node
    assert (refused.execution_id, refused.node) == (execution_id, "Save")  # type: ignore[attr-defined]
    failed = by_message["node failed"]  # logged by the recorder
    assert (failed.execution_id, failed.node) == (execution_id, "Fail")  # type: ignore[attr-defined]
    assert "boom" in failed.getMessage()
    outside = by_message["outside any run"]
    assert (outside.execution_id, outside.node) == ("", "")  # type: ignore[attr-defined]
