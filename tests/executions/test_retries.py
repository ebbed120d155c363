"""Node retries against a local HTTP server that fails a set number of times: tries counted,
backoff intervals measured, non-retryable errors, ``Retry-After``, long waits parked as timed
waits (no worker held), and node timeouts that abort the HTTP call."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import Execution, ExecutionPause
from executions.services.pauses import pauses_fire_due
from tests.conftest import Reply, chained, make_node
from workflows.engine.retry import RetryPolicy, retry_after_seconds

inline = pytest.mark.django_db(transaction=True)


def http_node(url: str, **settings: Any) -> dict[str, Any]:
    return make_node("Call", "httpRequest", 4.2, (200, 0), parameters={"url": url}, **settings)


def flaky(json_server: Any, failures: int, status: int = 503, **reply: Any) -> tuple[str, Any]:
    """A server failing its first ``failures`` calls with ``status``, then answering ``{"ok": n}``."""

    def respond(path: str) -> Any:
        if len(calls) <= failures:
            return Reply({"error": "down"}, status=status, **reply)
        return {"ok": len(calls)}

    url, calls = json_server(respond)
    return url, calls


def run(api: APIClient, create_workflow: Any, node: dict[str, Any]) -> dict[str, Any]:
    wf = create_workflow(chained([make_node("Start", "manualTrigger"), node]))
    response = api.post(f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def gaps(calls: Any) -> list[float]:
    return [b - a for a, b in zip(calls.times, calls.times[1:], strict=False)]


# -- the policy ----------------------------------------------------------------------------
def test_policy_intervals_caps_jitter_and_non_retryable_errors() -> None:
    n8n = RetryPolicy.of({"retryOnFail": True, "maxTries": 9, "waitBetweenTries": 9000})
    assert n8n is not None and (n8n.tries, n8n.initial) == (5, 5.0)  # n8n's caps without a policy
    assert RetryPolicy.of({"maxTries": 3}) is None
    assert RetryPolicy.of({"retryOnFail": False, "retryPolicy": {}}) is None
    policy = RetryPolicy.of(
        {
            "maxTries": 20,
            "retryPolicy": {
                "backoff": "exponential",
                "initialInterval": 1,
                "backoffCoefficient": 3,
                "maxInterval": 20,
                "nonRetryableErrors": ["4xx", 501, "NodeTimeoutError"],
            },
        }
    )
    assert policy is not None and policy.tries == 20
    assert [policy.delay(n, {}) for n in (1, 2, 3, 4)] == [1, 3, 9, 20]
    jittered = RetryPolicy(tries=3, initial=10, jitter=0.5)
    assert jittered.delay(1, {}, rand=lambda: 0.0) == 10 and jittered.delay(1, {}, rand=lambda: 1.0) == 5
    assert not policy.retryable({"http_code": 404}) and not policy.retryable({"http_code": 501})
    assert not policy.retryable({"type": "NodeTimeoutError"})
    assert policy.retryable({"http_code": 503}) and policy.retryable({"type": "NodeApiError"})
    # the server's Retry-After makes a wait at least that long
    assert policy.delay(1, {"retry_after": "7"}) == 7
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=0) > 1e9
    assert retry_after_seconds("soon") is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"backoff": "random"}, "retryPolicy.backoff"),
        ({"jitter": 2}, "retryPolicy.jitter"),
        ({"backoffCoefficient": 0.5}, "retryPolicy.backoffCoefficient"),
        ({"nonRetryableErrors": "4xx"}, "retryPolicy.nonRetryableErrors"),
        ({"initialIntervall": 1}, "retryPolicy.initialIntervall"),
        ("fast", "retryPolicy"),
    ],
)
def test_malformed_retry_policy_is_a_400_naming_the_field(api: APIClient, policy: Any, field: str) -> None:
    node = http_node("http://127.0.0.1:9/", retryOnFail=True, retryPolicy=policy)
    body = {"name": "wf", **chained([make_node("Start", "manualTrigger"), node])}
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 400, response.content
    assert any(key.endswith(field) for key in response.json()), response.json()


# -- retries against a failing server ---------------------------------------------------------
@inline
def test_n8n_retry_counts_tries_and_records_each_error(
    api: APIClient, create_workflow: Any, inline_runs: None, json_server: Any
) -> None:
    url, calls = flaky(json_server, failures=2)
    body = run(api, create_workflow, http_node(url, retryOnFail=True, maxTries=3, waitBetweenTries=0))
    assert body["status"] == "success", body["error"]
    assert len(calls) == 3
    call = body["run_data"]["Call"][0]
    assert call["data"]["main"][0][0]["json"] == {"ok": 3}
    assert call["metadata"]["tries"] == 3
    assert [(e["attempt"], e["http_code"]) for e in call["metadata"]["try_errors"]] == [(1, 503), (2, 503)]


@inline
def test_exhausted_tries_fail_the_node_with_the_last_error(
    api: APIClient, create_workflow: Any, inline_runs: None, json_server: Any
) -> None:
    url, calls = flaky(json_server, failures=10)
    body = run(api, create_workflow, http_node(url, retryOnFail=True, maxTries=2, waitBetweenTries=0))
    assert body["status"] == "error"
    assert len(calls) == 2
    assert body["run_data"]["Call"][0]["error"]["http_code"] == 503
    assert body["run_data"]["Call"][0]["metadata"]["tries"] == 2


@inline
def test_exponential_backoff_waits_grow(
    api: APIClient, create_workflow: Any, inline_runs: None, json_server: Any
) -> None:
    url, calls = flaky(json_server, failures=3)
    policy = {"backoff": "exponential", "initialInterval": 0.1, "backoffCoefficient": 2}
    body = run(api, create_workflow, http_node(url, retryOnFail=True, maxTries=4, retryPolicy=policy))
    assert body["status"] == "success", body["error"]
    assert len(calls) == 4
    waits = gaps(calls)
    for measured, expected in zip(waits, (0.1, 0.2, 0.4), strict=True):
        assert expected - 0.01 <= measured < expected + 0.25, waits
    assert waits[0] < waits[1] < waits[2]
    assert [e["wait_s"] for e in body["run_data"]["Call"][0]["metadata"]["try_errors"]] == [0.1, 0.2, 0.4]


@inline
def test_non_retryable_status_stops_at_one_try(
    api: APIClient, create_workflow: Any, inline_runs: None, json_server: Any
) -> None:
    url, calls = flaky(json_server, failures=5, status=404)
    policy = {"initialInterval": 0, "nonRetryableErrors": ["4xx"]}
    body = run(api, create_workflow, http_node(url, retryOnFail=True, maxTries=5, retryPolicy=policy))
    assert body["status"] == "error"
    assert len(calls) == 1
    assert body["run_data"]["Call"][0]["error"]["http_code"] == 404


@inline
def test_retry_after_is_honoured(api: APIClient, create_workflow: Any, inline_runs: None, json_server: Any) -> None:
    url, calls = flaky(json_server, failures=1, status=429, headers={"Retry-After": "1"})
    body = run(api, create_workflow, http_node(url, retryOnFail=True, retryPolicy={"initialInterval": 0}))
    assert body["status"] == "success", body["error"]
    assert len(calls) == 2
    assert 0.95 <= gaps(calls)[0] < 1.6


@inline
def test_a_long_wait_parks_the_run_and_the_timer_continues_it(
    api: APIClient, create_workflow: Any, inline_runs: None, json_server: Any, settings: Any
) -> None:
    settings.BUDFLOW = {**settings.BUDFLOW, "RETRY_INLINE_MAX_SECONDS": 0.5}
    url, calls = flaky(json_server, failures=1)
    node = http_node(url, retryOnFail=True, retryPolicy={"initialInterval": 30})
    body = run(api, create_workflow, node)
    # the worker let go: the run waits for its retry as a timed wait
    assert body["status"] == "waiting"
    assert len(calls) == 1
    pause = ExecutionPause.objects.get(execution_id=body["id"], status="waiting")
    assert pause.pause_type == "time"
    assert 29 <= (pause.due_at - timezone.now()).total_seconds() <= 30
    assert pause.metadata["retry"]["errors"][0]["http_code"] == 503
    assert Execution.objects.get(pk=body["id"]).lease_owner == ""
    # when due, the timer continues it: the node runs again, its tries counted across the wait
    ExecutionPause.objects.filter(pk=pause.pk).update(due_at=timezone.now() - timedelta(milliseconds=1))
    assert pauses_fire_due() == [body["id"]]
    detail = api.get(f"/api/executions/{body['id']}/").json()
    assert detail["status"] == "success", detail["error"]
    assert len(calls) == 2
    call = detail["run_data"]["Call"]
    assert len(call) == 1 and call[0]["metadata"]["tries"] == 2
    assert call[0]["data"]["main"][0][0]["json"] == {"ok": 2}


@inline
def test_node_timeout_aborts_the_call_and_retry_policies_match_it(
    api: APIClient, create_workflow: Any, inline_runs: None, json_server: Any
) -> None:
    url, calls = json_server(lambda path: Reply({"late": True}, delay=3))
    policy = {"initialInterval": 0, "nonRetryableErrors": ["NodeTimeoutError"]}
    started = time.monotonic()
    body = run(api, create_workflow, http_node(url, timeout=0.3, retryOnFail=True, maxTries=3, retryPolicy=policy))
    assert time.monotonic() - started < 2
    assert body["status"] == "error"
    error = body["run_data"]["Call"][0]["error"]
    assert error["type"] == "NodeTimeoutError" and "timeout" in error["message"]
    assert len(calls) == 1
