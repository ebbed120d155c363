"""BudFlow's n8n expression engine: a sandboxed evaluator of the JavaScript n8n users write.

``evaluate_template`` is the engine's :data:`~workflows.engine.context.Evaluator`. Templates are
tokenized, parsed (precedence climbing) and compiled to Python closures once, then cached.
See ``docs/expressions.md`` for the supported language, builtins, limits and differences from n8n.
"""

from __future__ import annotations

from workflows.engine.expressions.errors import ExpressionError
from workflows.engine.expressions.template import compile_template, evaluate_template

__all__ = ["ExpressionError", "compile_template", "evaluate_template"]
