"""Custom execution data (``$execution.customData``, the Execution Data node) and n8n's limits.

n8n truncates keys over 50 and values over 255 characters; BudFlow never truncates. A key or
value outside the limits, a key with characters other than ``A-Z a-z 0-9 _`` or an 11th key is
refused: in a test run (``$execution.mode`` ``test``) the node fails, so the author sees it at
once; in production the offending key is not stored and the node run records a warning
(``metadata.warnings``), so a live run is not stopped by bookkeeping.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from workflows.engine.errors import NodeError

if TYPE_CHECKING:
    from workflows.engine.context import NodeContext

MAX_KEYS = 10
MAX_KEY_LENGTH = 50
MAX_VALUE_LENGTH = 255
MAX_WARNINGS = 20  # per node run
_KEY = re.compile(r"[A-Za-z0-9_]+")

log = logging.getLogger(__name__)


class CustomDataError(NodeError):
    """Custom data outside n8n's limits (a test run fails with it)."""

    error_type = "CustomDataError"


def _text(value: Any) -> str | None:
    """A value as stored (strings; numbers written as JavaScript prints them), ``None`` if refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    from workflows.engine.expressions.values import to_string  # the expression engine's number format

    return to_string(value)


def _shown(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 2 * MAX_KEY_LENGTH else text[: 2 * MAX_KEY_LENGTH] + "…"


def check_entry(key: Any, value: Any, stored: dict[str, str]) -> tuple[str, str] | str:
    """The ``(key, text)`` to store, or why the entry is refused."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        return f"custom data key {_shown(key)} may only contain letters, digits and underscores (A-Z, a-z, 0-9, _)"
    if len(key) > MAX_KEY_LENGTH:
        return f"custom data key {_shown(key)} is longer than {MAX_KEY_LENGTH} characters ({len(key)})"
    text = _text(value)
    if text is None:
        return f"custom data value of {_shown(key)} must be a string or a number"
    if len(text) > MAX_VALUE_LENGTH:
        return f"custom data value of {_shown(key)} is longer than {MAX_VALUE_LENGTH} characters ({len(text)})"
    if key not in stored and len(stored) >= MAX_KEYS:
        return f"custom data can hold at most {MAX_KEYS} keys; {_shown(key)} is one too many"
    return key, text


def custom_data_set(ctx: NodeContext, entries: Iterable[tuple[Any, Any]], *, parameter: str | None = None) -> None:
    """Store ``entries`` in the execution's custom data under n8n's limits (see the module doc).

    In a test run nothing is stored when any entry is refused (the node fails); in production
    the accepted entries are stored and each refused one becomes a warning on the node run.
    """
    data = ctx.custom_data
    staged = dict(data)
    refused: dict[str, tuple[Any, str]] = {}  # one per key and call (a node reads its pairs per item)
    for key, value in entries:
        checked = check_entry(key, value, staged)
        if isinstance(checked, str):
            refused.setdefault(repr(key), (key, checked))
        else:
            staged[checked[0]] = checked[1]
    if refused and ctx.execution.n8n_mode == "test":
        key, message = next(iter(refused.values()))
        raise CustomDataError(message, extra={"parameter": parameter} if parameter else None)
    for key, message in refused.values():
        warnings = ctx.metadata.setdefault("warnings", [])
        if len(warnings) >= MAX_WARNINGS:  # an expression refused for every item: count the rest
            ctx.metadata["warnings_omitted"] = ctx.metadata.get("warnings_omitted", 0) + 1
            continue
        warnings.append({"type": "customData", "key": str(key)[: 2 * MAX_KEY_LENGTH], "message": message})
        log.warning("custom data refused: %s", message)
    data.update(staged)
