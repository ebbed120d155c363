"""``n8n-nodes-base.switch`` 3–3.2: routes each item to the output of the rule it matches."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from workflows.engine.conditions import evaluate_filter, validate_conditions
from workflows.engine.context import NodeContext
from workflows.engine.errors import NodeError, ParameterError
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Items

DEFAULT_NUMBER_OUTPUTS = 4  # n8n's default for `numberOutputs` in expression mode


def _is_expr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def _rules(parameters: Mapping[str, Any]) -> list[Any]:
    rules = parameters.get("rules")
    values = rules.get("values") if isinstance(rules, Mapping) else None
    return values if isinstance(values, list) else []


def _as_index(value: Any) -> int | None:
    """An output index as n8n's number validation accepts it (``2``, ``2.0``, ``"2"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


def _check_index(index: int, outputs: int, item_index: int) -> None:
    if index == outputs:
        raise NodeError(
            f"The output {index} is not allowed",
            description=f"Output indexes are zero based, if you want to use the extra output use {index - 1}",
            item_index=item_index,
        )
    if not 0 <= index < outputs:
        raise NodeError(
            f"The output {index} is not allowed",
            description=f"It has to be between 0 and {outputs - 1}",
            item_index=item_index,
        )


@registry.register
class Switch(NodeType):
    type = "n8n-nodes-base.switch"
    versions = (3.0, 3.1, 3.2)
    description = (
        "Routes items: `rules` (one output per rule, optional fallback output) or `expression` "
        "(`output` gives the index among `numberOutputs`)."
    )

    def output_count(self, node: Mapping[str, Any]) -> int:
        parameters = node.get("parameters") or {}
        if parameters.get("mode", "rules") == "expression":
            count = _as_index(parameters.get("numberOutputs", DEFAULT_NUMBER_OUTPUTS))
            return count if count is not None and count > 0 else DEFAULT_NUMBER_OUTPUTS
        options = parameters.get("options") or {}
        extra = 1 if isinstance(options, Mapping) and options.get("fallbackOutput") == "extra" else 0
        return len(_rules(parameters)) + extra

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        mode = require_choice(parameters, "mode", ("rules", "expression"), "rules")
        if _is_expr(mode):
            raise ParameterError("mode", "cannot be an expression (it decides the node's outputs)")
        if mode == "expression":
            count = parameters.get("numberOutputs", DEFAULT_NUMBER_OUTPUTS)
            if _is_expr(count):
                raise ParameterError("numberOutputs", "cannot be an expression (it decides the node's outputs)")
            number = _as_index(count)
            if number is None or number < 1:
                raise ParameterError("numberOutputs", f"must be a whole number of at least 1 (got {count!r})")
            output = parameters.get("output")
            if output is not None and not _is_expr(output) and _as_index(output) is None:
                raise ParameterError("output", f"must be an output index or an expression (got {output!r})")
            return
        rules = parameters.get("rules", {})
        if not isinstance(rules, Mapping):
            raise ParameterError("rules", "must be an object with a `values` list")
        values = rules.get("values", [])
        if not isinstance(values, list):
            raise ParameterError("rules.values", "must be a list of rules")
        for i, rule in enumerate(values):
            where = f"rules.values[{i}]"
            if not isinstance(rule, Mapping):
                raise ParameterError(where, "must be an object with `conditions`")
            validate_conditions(rule.get("conditions", {}), f"{where}.conditions")
            if not isinstance(rule.get("renameOutput", False), bool):
                raise ParameterError(f"{where}.renameOutput", "must be true or false")
            if not isinstance(rule.get("outputKey", ""), str):
                raise ParameterError(f"{where}.outputKey", "must be a string")
        options = parameters.get("options", {})
        if not isinstance(options, Mapping):
            raise ParameterError("options", "must be an object")
        fallback = options.get("fallbackOutput", "none")
        if fallback in ("none", "extra"):
            return
        if _is_expr(fallback):
            raise ParameterError("options.fallbackOutput", "cannot be an expression (it decides the node's outputs)")
        index = _as_index(fallback)
        if index is None or not 0 <= index < len(values):
            raise ParameterError(
                "options.fallbackOutput",
                f"must be `none`, `extra` or a rule's output index 0..{len(values) - 1} (got {fallback!r})",
            )

    def execute(self, ctx: NodeContext) -> list[Items]:
        if ctx.raw_param("mode", "rules") == "expression":
            return self._by_expression(ctx)
        return self._by_rules(ctx)

    def _by_expression(self, ctx: NodeContext) -> list[Items]:
        outputs: list[Items] = [[] for _ in range(self.output_count(ctx.node))]
        for i, item in enumerate(ctx.input(0)):
            value = ctx.param("output", None, item_index=i)
            index = _as_index(value)
            if index is None:
                raise NodeError(
                    f"The output index must be a number (got {value!r})",
                    description="The `output` parameter must evaluate to a whole number, starting at 0",
                    item_index=i,
                )
            _check_index(index, len(outputs), i)
            outputs[index].append({**item, "pairedItem": {"item": i}})
        return outputs

    def _by_rules(self, ctx: NodeContext) -> list[Items]:
        rules = _rules(ctx.parameters)
        if not rules:
            return [[]]
        # `fallbackOutput` is literal (validated): it decides the outputs the workflow connects.
        fallback = (ctx.raw_param("options", {}) or {}).get("fallbackOutput", "none")
        outputs: list[Items] = [[] for _ in range(self.output_count(ctx.node))]
        for i, item in enumerate(ctx.input(0)):
            all_matching = bool(ctx.param("options.allMatchingOutputs", False, item_index=i))
            routed = {**item, "pairedItem": {"item": i}}
            matched = False
            for r, rule in enumerate(rules):
                path = f"rules.values[{r}].conditions"
                if not evaluate_filter(ctx, rule.get("conditions") or {}, path, i):
                    continue
                matched = True
                outputs[r].append(routed)
                if not all_matching:
                    break
            if matched or fallback in (None, "none"):
                continue
            if fallback == "extra":
                outputs[-1].append(routed)
                continue
            index = _as_index(fallback)
            if index is None:
                raise NodeError(f"invalid fallback output {fallback!r}", item_index=i)
            _check_index(index, len(outputs), i)
            outputs[index].append(routed)
        return outputs
