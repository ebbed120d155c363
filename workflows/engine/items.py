"""Helpers for n8n items: ``{"json": {...}, "binary": {...}, "pairedItem": {...}}``."""

from __future__ import annotations

import copy
from typing import Any

from workflows.engine.state import Items

_MISSING = object()


def wrap_items(data: Any, field: str = "input_data") -> Items:
    """Normalise user-supplied items: plain objects become ``{"json": obj}``.

    Raises ``ValueError`` naming ``field`` and the index of the first bad element.
    """
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError(f"{field} must be a list of objects")
    items: Items = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ValueError(f"{field}[{i}] must be an object")
        if "json" in entry and set(entry) <= {"json", "binary", "pairedItem"}:
            if not isinstance(entry["json"], dict):
                raise ValueError(f"{field}[{i}].json must be an object")
            if "binary" in entry and not isinstance(entry["binary"], dict):
                raise ValueError(f"{field}[{i}].binary must be an object")
            item: dict[str, Any] = {"json": entry["json"]}
            if entry.get("binary"):
                item["binary"] = entry["binary"]
        else:
            item = {"json": entry}
        item["pairedItem"] = {"item": i}
        items.append(item)
    return items


def split_path(path: str) -> list[str]:
    """``a.b[0].c`` → ``["a", "b", "0", "c"]``."""
    parts: list[str] = []
    for chunk in path.split("."):
        while "[" in chunk and chunk.endswith("]"):
            head, _, rest = chunk.partition("[")
            if head:
                parts.append(head)
            index, _, chunk = rest.partition("]")
            parts.append(index.strip("'\""))
            if not chunk:
                break
        else:
            parts.append(chunk)
    return [p for p in parts if p != ""]


def get_path(obj: Any, path: str, default: Any = None) -> Any:
    """Read a dotted path (``a.b[0]``) from nested dicts and lists."""
    value = obj
    for part in split_path(path):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            idx = int(part)
            value = value[idx] if -len(value) <= idx < len(value) else _MISSING
        else:
            return default
        if value is _MISSING:
            return default
    return value


def get_field(obj: dict[str, Any], path: str, dot_notation: bool = True, default: Any = None) -> Any:
    """A field of an item's json as n8n's transform nodes read it (lodash ``get``): a key that
    holds the whole ``path`` wins, then (with ``dot_notation``) the nested path ``a.b[0]``."""
    if path in obj:
        return obj[path]
    if not dot_notation:
        return default
    return get_path(obj, path, default)


def set_path(obj: dict[str, Any], path: str, value: Any, dot_notation: bool = True) -> None:
    """Write ``value`` at a dotted path, creating objects on the way (copy-on-write for nested dicts)."""
    if not dot_notation or ("." not in path and "[" not in path):
        obj[path] = value
        return
    parts = split_path(path)
    target = obj
    for part in parts[:-1]:
        nxt = target.get(part)
        nxt = dict(nxt) if isinstance(nxt, dict) else {}
        target[part] = nxt
        target = nxt
    target[parts[-1]] = value


def copy_json(value: Any) -> Any:
    return copy.deepcopy(value)
