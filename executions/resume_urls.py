"""Resume URLs of waits: HMAC-signed tokens bound to one execution and one wait's sequence."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings

from executions.models import Execution


def mac(execution_id: int, sequence: int, secret: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{execution_id}:{sequence}:{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:40]


def resume_token(execution_id: int, sequence: int, secret: str) -> str:
    """Signed token of one wait: bound to the execution and the wait's sequence number."""
    return f"{execution_id}-{sequence}-{mac(execution_id, sequence, secret)}"


def resume_url(execution: Execution, sequence: int) -> str:
    """The absolute URL that resumes wait number ``sequence`` of the execution."""
    token = resume_token(execution.pk, sequence, execution.resume_secret)
    return f"{settings.BUDFLOW_PUBLIC_URL}/webhook-waiting/{token}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
