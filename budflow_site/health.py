"""``/healthz`` (liveness) and ``/healthz/ready`` (readiness: database, queue broker, channel layer).

Public and cheap, for load balancers and orchestrators. Readiness answers 503 naming each part
that failed; the error's details go to the log only (they may hold addresses).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import Broker, get_broker

log = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT = 2.0
_broker: Broker | None = None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests (nothing else is checked)."""
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    global _broker
    if _broker is None:
        _broker = get_broker()
    if not _broker.ping():
        raise ConnectionError("the broker does not answer")
    _broker.queue_size()  # the ORM broker's ping is always true: this reads its table


async def _channel_round_trip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    ping = getattr(layer, "ping", None)
    if ping is not None:
        await asyncio.to_thread(ping)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.check"})
    message = await asyncio.wait_for(layer.receive(channel), CHANNEL_LAYER_TIMEOUT)
    if message.get("type") != "health.check":
        raise RuntimeError("the channel layer returned another message")


def check_channel_layer() -> None:
    async_to_sync(asyncio.wait_for)(_channel_round_trip(), CHANNEL_LAYER_TIMEOUT)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "channel_layer": check_channel_layer,
}


@never_cache
@require_GET
def healthz_ready(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every part answers, else 503 with the failing parts named."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means "not ready", never a 500
            log.warning("readiness check %s failed: %r", name, exc)
            results[name] = f"failed ({type(exc).__name__})"
    failed = [name for name, result in results.items() if result != "ok"]
    if failed:
        return JsonResponse(
            {"status": "unavailable", "failed": failed, "checks": results, "detail": f"not ready: {', '.join(failed)}"},
            status=503,
        )
    return JsonResponse({"status": "ok", "checks": results})
