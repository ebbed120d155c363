"""Checking, normalising, masking and describing pinned items."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.conf import settings

from workflows.engine.items import wrap_items
from workflows.errors import InvalidInput, PayloadTooLarge

MASK = "********"


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces: the form the checksum is computed on (API.md)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def checksum(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def _sensitive() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in settings.BUDFLOW["PIN_SENSITIVE_KEYS"]), re.IGNORECASE)


def mask_sensitive(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Replace values of sensitive keys by ``********``; returns the items and the masked paths."""
    pattern = _sensitive()
    masked: list[str] = []

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, inner in value.items():
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and pattern.search(key) and inner not in (None, ""):
                    out[key] = MASK
                    masked.append(where)
                else:
                    out[key] = walk(inner, where)
            return out
        if isinstance(value, list):
            return [walk(inner, f"{path}[{i}]") for i, inner in enumerate(value)]
        return value

    result = []
    for i, item in enumerate(items):
        clean = dict(item)
        clean["json"] = walk(item["json"], f"[{i}].json")
        result.append(clean)
    return result, masked


def infer_schema(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Field → JSON type over the items' ``json`` (``mixed`` when items disagree)."""

    def kind(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, (int, float)):
            return "number"
        if isinstance(value, str):
            return "string"
        if isinstance(value, list):
            return "array"
        return "object"

    fields: dict[str, str] = {}
    for item in items[:1000]:
        for key, value in item["json"].items():
            seen = kind(value)
            if fields.get(key, seen) != seen:
                seen = "mixed"
            fields[key] = seen
    return {"type": "object", "fields": fields}


def clean_pin_items(data: Any, *, mask: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Validate and normalise pin items; returns them and the pin's metadata.

    Over the limits → 413 (bytes) or 400 (items) naming the limit; nothing is ever truncated.
    """
    conf = settings.BUDFLOW
    if not isinstance(data, list):
        if isinstance(data, dict):
            data = [data]
        else:
            raise InvalidInput("data must be a list of objects (or items {json, binary})", field="data")
    if len(data) > conf["PIN_MAX_ITEMS"]:
        raise InvalidInput(
            f"{len(data)} items exceed the limit of {conf['PIN_MAX_ITEMS']} items per pin (BUDFLOW_PIN_MAX_ITEMS)",
            field="data",
        )
    size = len(canonical_json(data).encode())
    if size > conf["PIN_MAX_BYTES"]:
        raise PayloadTooLarge(
            f"{size} bytes exceed the limit of {conf['PIN_MAX_BYTES']} bytes per pin (BUDFLOW_PIN_MAX_BYTES)",
            field="data",
        )
    try:
        items = wrap_items(data, "data")
    except ValueError as exc:
        raise InvalidInput(str(exc), field="data") from None
    for item in items:
        item.pop("pairedItem", None)
    masked: list[str] = []
    if mask:
        items, masked = mask_sensitive(items)
    metadata = {
        "original_size": size,
        "item_count": len(items),
        "schema": infer_schema(items),
        "masked_keys": masked,
        "masked": mask,
    }
    return items, metadata
