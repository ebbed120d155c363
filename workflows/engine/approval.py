"""Approval pauses, shared by the Wait node's ``approval`` mode and any node's ``requireApproval``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from workflows.engine.errors import ParameterError
from workflows.engine.state import PauseRequest

ON_TIMEOUT = ("approve", "reject", "fail")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def approval_settings(value: Any, where: str) -> dict[str, Any]:
    """Validate ``approvers`` / ``message`` / ``timeout`` / ``onTimeout`` (Wait approval or requireApproval)."""
    spec: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
    approvers = spec.get("approvers", [])
    if isinstance(approvers, str):
        approvers = [a.strip() for a in approvers.split(",") if a.strip()]
    if not isinstance(approvers, list) or not all(isinstance(a, str) and a for a in approvers):
        raise ParameterError(f"{where}approvers", "must be a list of usernames or `group:<name>`")
    message = spec.get("message", "")
    if not isinstance(message, str):
        raise ParameterError(f"{where}message", "must be a string")
    timeout = spec.get("timeout")
    if timeout is not None and (not _number(timeout) or timeout <= 0):
        raise ParameterError(f"{where}timeout", "must be a number of seconds > 0")
    on_timeout = spec.get("onTimeout", "fail")
    if on_timeout not in ON_TIMEOUT:
        raise ParameterError(f"{where}onTimeout", f"must be one of {', '.join(ON_TIMEOUT)}")
    return {"approvers": approvers, "message": message, "timeout": timeout, "on_timeout": on_timeout}


def approval_request(node_name: str, settings: dict[str, Any], items: int, gate: bool) -> PauseRequest:
    timeout = settings.get("timeout")
    due = time.time() + float(timeout) if timeout else None
    return PauseRequest(
        node=node_name,
        pause_type="approval",
        run_index=0,
        due_at=due,
        expires_at=due,
        metadata={**settings, "gate": gate, "items": items},
    )
