"""Reads of pins, and the pins a run uses (through the shared cache)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from pindata.models import PinData

CACHE_SECONDS = 300


def cache_key(workflow_id: int) -> str:
    return f"budflow:pins:{workflow_id}"


def pins_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[PinData]:
    qs = PinData.objects.select_related("workflow", "created_by").filter(is_active=True)
    if getattr(user, "is_staff", False):
        return qs
    return qs.filter(workflow__owner_id=user.pk)


def active_pins(workflow_id: int) -> dict[str, dict[str, Any]]:
    """``{node: {"id", "outputs": {index: items}, "expires_at"}}`` of unexpired active pins.

    Served from Django's cache shared by every process (Redis, or the database cache in the
    embedded default), invalidated by every pin change; expiry is checked on each read.
    """
    key = cache_key(workflow_id)
    entries: list[dict[str, Any]] | None = cache.get(key)
    if entries is None:
        entries = [
            {
                "id": p.pk,
                "node": p.node_name,
                "output": p.output_index,
                "data": p.data,
                "expires_at": p.expires_at.timestamp() if p.expires_at else None,
            }
            for p in PinData.objects.filter(workflow_id=workflow_id, is_active=True)
        ]
        cache.set(key, entries, CACHE_SECONDS)
    now = timezone.now().timestamp()
    pins: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry["expires_at"] is not None and entry["expires_at"] <= now:
            continue
        pin = pins.setdefault(entry["node"], {"ids": {}, "outputs": {}})
        pin["ids"][entry["output"]] = entry["id"]
        pin["outputs"][entry["output"]] = entry["data"]
    return pins


def pin_expired(pin: PinData, now: dt.datetime | None = None) -> bool:
    return pin.expires_at is not None and pin.expires_at <= (now or timezone.now())
