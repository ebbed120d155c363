"""Structured logs: every record carries the execution id and node name it was logged under.

The recorder binds both while a node runs (:func:`log_context`), so whatever is logged then — by
BudFlow, by a node, by the HTTP client — names them; ``LOG_FORMAT=json`` writes one JSON object
per line with ``execution_id`` and ``node`` as fields. Context variables keep threads apart
(sub-workflow threads, timer continuations) and nest (an awaited child inside its caller's node).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

_execution: ContextVar[str] = ContextVar("budflow_execution_id", default="")
_node: ContextVar[str] = ContextVar("budflow_node", default="")


class LogBinding:
    """An execution id and node name bound until :meth:`reset` (which restores the outer ones)."""

    __slots__ = ("_tokens",)

    def __init__(self, execution_id: object, node: str = "") -> None:
        self._tokens: tuple[Token[str], Token[str]] | None = (_execution.set(str(execution_id)), _node.set(node))

    def reset(self) -> None:
        if self._tokens is not None:
            execution, node = self._tokens
            self._tokens = None
            try:
                _node.reset(node)
                _execution.reset(execution)
            except ValueError:  # bound in another context (thread): nothing of ours to undo here
                pass


@contextmanager
def log_context(execution_id: object, node: str = "") -> Iterator[None]:
    binding = LogBinding(execution_id, node)
    try:
        yield
    finally:
        binding.reset()


class ExecutionContextFilter(logging.Filter):
    """Adds ``execution_id``, ``node`` and a ready-made ``context`` (`` [execution=.. node=..]``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        execution = str(getattr(record, "execution_id", "") or _execution.get())
        node = str(getattr(record, "node", "") or _node.get())
        record.execution_id = execution
        record.node = node
        parts = [f"execution={execution}"] if execution else []
        if node:
            parts.append(f"node={node!r}")
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, execution_id, node (and exc_info)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "execution_id": getattr(record, "execution_id", "") or None,
            "node": getattr(record, "node", "") or None,
        }
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)
