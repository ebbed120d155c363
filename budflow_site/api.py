"""API plumbing shared by every app: error mapping."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workflows.engine.errors import WorkflowValidationError
from workflows.errors import ServiceError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus service errors (their own status), workflow validation and over-deep JSON (400)."""
    if isinstance(exc, WorkflowValidationError):
        body: dict[str, Any] = dict(exc.errors)
        body["detail"] = "The workflow is invalid: " + "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.errors.items()
        )
        return Response(body, status=400)
    if isinstance(exc, ServiceError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, RecursionError):
        # Only a client's deeply nested JSON recurses this far (in the parser, or when the
        # data is validated or encoded for storage). Services write atomically: nothing was stored.
        return Response({"detail": "The request body is nested too deeply."}, status=400)
    return drf_exception_handler(exc, context)
