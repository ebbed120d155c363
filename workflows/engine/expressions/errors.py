"""Errors of the expression engine."""

from __future__ import annotations

from workflows.engine.errors import NodeError


class ExpressionError(NodeError):
    """An expression could not be evaluated; the message names the node, parameter and expression."""

    error_type = "ExpressionError"


class Abort(Exception):  # internal control flow, never leaves the package
    """Evaluation must stop: a syntax error, a sandbox violation, a limit or an n8n data error.

    Converted to :class:`ExpressionError` (with node, parameter and expression) at the boundary.
    """

    def __init__(self, message: str, description: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.description = description


class JSError(Exception):
    """A JavaScript runtime error (TypeError, RangeError, SyntaxError from JSON.parse ...).

    n8n's evaluator swallows these: the ``{{ }}`` segment that raised becomes ``undefined``
    (an empty string inside a mixed template). ``kind`` is the JavaScript error name.
    """

    def __init__(self, message: str, kind: str = "TypeError") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
