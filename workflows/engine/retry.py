"""Node retry policies: n8n's ``retryOnFail`` / ``maxTries`` / ``waitBetweenTries``, and BudFlow's
``retryPolicy`` (fixed or exponential backoff, jitter, non-retryable errors, ``Retry-After``).

Without ``retryPolicy`` a node retries as in n8n: 2–5 tries, a fixed wait of at most 5 s. With
one, the tries go up to ``maxTries`` (≤ 100) and the waits follow the policy (seconds):

* ``backoff``: ``fixed`` (every wait is ``initialInterval``) or ``exponential`` (the n-th wait
  is ``initialInterval × backoffCoefficient^(n-1)``), capped by ``maxInterval``;
* ``jitter``: a fraction 0–1; each wait is drawn from ``[wait × (1 - jitter), wait]``;
* ``nonRetryableErrors``: HTTP status codes (``404``, ``"4xx"``) or error type names
  (``NodeTimeoutError``) that end the tries at once;
* a server's ``Retry-After`` (seconds or an HTTP date) makes that wait at least as long.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workflows.engine.errors import ParameterError

BACKOFFS = ("fixed", "exponential")
N8N_MAX_TRIES = 5
N8N_MAX_WAIT_MS = 5000
MAX_TRIES = 100
MAX_RETRY_AFTER_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    tries: int  # attempts in all, the first included
    backoff: str = "fixed"
    initial: float = 1.0  # seconds
    coefficient: float = 2.0
    max_interval: float | None = None
    jitter: float = 0.0
    non_retryable: tuple[str, ...] = ()

    @classmethod
    def of(cls, node: Mapping[str, Any]) -> RetryPolicy | None:
        """The node's policy, ``None`` when it does not retry (call :func:`check_policy` first)."""
        policy = node.get("retryPolicy")
        if not node.get("retryOnFail") and not (isinstance(policy, Mapping) and node.get("retryOnFail") is None):
            return None
        wait_setting = node.get("waitBetweenTries")
        # n8n writes `waitBetweenTries || 1000`, which turns an explicit 0 into 1 s; the setting
        # is documented as "milliseconds to wait", so 0 means no wait here.
        wait_ms = 1000 if wait_setting is None else int(wait_setting)
        if not isinstance(policy, Mapping):
            tries = min(max(int(node.get("maxTries") or 3), 2), N8N_MAX_TRIES)
            return cls(tries=tries, initial=min(max(wait_ms, 0), N8N_MAX_WAIT_MS) / 1000.0)
        max_interval = policy.get("maxInterval")
        return cls(
            tries=min(max(int(node.get("maxTries") or 3), 1), MAX_TRIES),
            backoff=str(policy.get("backoff") or "fixed"),
            initial=float(policy["initialInterval"]) if "initialInterval" in policy else wait_ms / 1000.0,
            coefficient=float(policy.get("backoffCoefficient") or 2.0),
            max_interval=float(max_interval) if max_interval is not None else None,
            jitter=float(policy.get("jitter") or 0.0),
            non_retryable=tuple(str(entry) for entry in policy.get("nonRetryableErrors") or ()),
        )

    def retryable(self, error: Mapping[str, Any]) -> bool:
        code = error.get("http_code")
        kind = str(error.get("type") or "")
        for entry in self.non_retryable:
            if entry == kind:
                return False
            if isinstance(code, int):
                if entry == str(code):
                    return False
                if len(entry) == 3 and entry[1:].lower() == "xx" and entry[0] == str(code)[0]:
                    return False
        return True

    def delay(self, failed_attempt: int, error: Mapping[str, Any], rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the ``failed_attempt``-th try (1 = the first) failed with ``error``."""
        wait = self.initial
        if self.backoff == "exponential":
            wait = self.initial * self.coefficient ** (failed_attempt - 1)
        if self.max_interval is not None:
            wait = min(wait, self.max_interval)
        if self.jitter:
            wait -= wait * self.jitter * rand()
        server = retry_after_seconds(error.get("retry_after"))
        if server is not None:
            wait = max(wait, min(server, MAX_RETRY_AFTER_SECONDS))
        return max(wait, 0.0)


def retry_after_seconds(value: Any, now: float | None = None) -> float | None:
    """A ``Retry-After`` header value (delay in seconds, or an HTTP date) as seconds from now."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def _check_numbers(container: Mapping[str, Any], prefix: str, bounds: tuple[tuple[str, float], ...]) -> None:
    for key, low in bounds:
        value = container.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < low):
            raise ParameterError(f"{prefix}.{key}", f"must be a number ≥ {low:g}")


def check_policy(policy: Any) -> None:
    """Raise :class:`ParameterError` naming the field when a ``retryPolicy`` is malformed."""
    if not isinstance(policy, Mapping):
        raise ParameterError("retryPolicy", "must be an object")
    known = {"backoff", "initialInterval", "backoffCoefficient", "maxInterval", "jitter", "nonRetryableErrors"}
    for key in policy:
        if key not in known:
            raise ParameterError(f"retryPolicy.{key}", f"unknown field (known: {', '.join(sorted(known))})")
    if policy.get("backoff", "fixed") not in BACKOFFS:
        raise ParameterError("retryPolicy.backoff", "must be `fixed` or `exponential`")
    _check_numbers(policy, "retryPolicy", (("initialInterval", 0.0), ("backoffCoefficient", 1.0), ("maxInterval", 0.0)))
    jitter = policy.get("jitter")
    bad_jitter = isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter <= 1
    if jitter is not None and bad_jitter:
        raise ParameterError("retryPolicy.jitter", "must be a fraction from 0 to 1")
    entries = policy.get("nonRetryableErrors")
    if entries is not None:
        if not isinstance(entries, list):
            raise ParameterError("retryPolicy.nonRetryableErrors", "must be a list of status codes or error types")
        for i, entry in enumerate(entries):
            if isinstance(entry, bool) or not isinstance(entry, (int, str)) or str(entry) == "":
                raise ParameterError(
                    f"retryPolicy.nonRetryableErrors[{i}]", 'must be a status code (404, "4xx") or an error type name'
                )


@dataclass(frozen=True, slots=True)
class ExecutionRetry:
    """The workflow setting ``executionRetry``: retry a failed production execution automatically.

    ``{maxRetries, interval, backoffCoefficient, maxInterval, from}``: up to ``maxRetries`` (1–10)
    retries, the n-th after ``interval × backoffCoefficient^(n-1)`` seconds (capped by
    ``maxInterval``), each from ``failed_node`` (default) or ``start``. The error workflow runs
    once the last retry has failed.
    """

    max_retries: int
    interval: float = 60.0
    coefficient: float = 1.0
    max_interval: float | None = None
    start: str = "failed_node"

    @classmethod
    def of(cls, value: Any) -> ExecutionRetry | None:
        """The setting, ``None`` when absent or off; raises :class:`ParameterError` when malformed."""
        if value is None or value is False:
            return None
        if not isinstance(value, Mapping):
            raise ParameterError("executionRetry", "must be an object like {maxRetries, interval}")
        known = {"maxRetries", "interval", "backoffCoefficient", "maxInterval", "from"}
        for key in value:
            if key not in known:
                raise ParameterError(f"executionRetry.{key}", f"unknown field (known: {', '.join(sorted(known))})")
        retries = value.get("maxRetries", 1)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise ParameterError("executionRetry.maxRetries", "must be an integer from 0 to 10")
        _check_numbers(value, "executionRetry", (("interval", 0.0), ("backoffCoefficient", 1.0), ("maxInterval", 0.0)))
        start = value.get("from", "failed_node")
        if start not in ("failed_node", "start"):
            raise ParameterError("executionRetry.from", "must be `failed_node` or `start`")
        if retries == 0:
            return None
        max_interval = value.get("maxInterval")
        return cls(
            max_retries=retries,
            interval=float(value.get("interval", 60.0)),
            coefficient=float(value.get("backoffCoefficient", 1.0)),
            max_interval=float(max_interval) if max_interval is not None else None,
            start=start,
        )

    def delay(self, retry_number: int) -> float:
        """Seconds before the ``retry_number``-th retry (1 = the first)."""
        wait = self.interval * self.coefficient ** (retry_number - 1)
        return min(wait, self.max_interval) if self.max_interval is not None else wait
