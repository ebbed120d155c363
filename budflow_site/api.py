"""API plumbing shared by every app: error mapping."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workflows.engine.errors import WorkflowValidationError
from workflows.errors import ServiceError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus service errors (their own status) and workflow validation (400)."""
    if isinstance(exc, WorkflowValidationError):
        body: dict[str, Any] = dict(exc.errors)
        body["detail"] = "The workflow is invalid: " + "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.errors.items()
        )
        return Response(body, status=400)
    if isinstance(exc, ServiceError):
        return Response(exc.as_dict(), status=exc.status)
    return drf_exception_handler(exc, context)
