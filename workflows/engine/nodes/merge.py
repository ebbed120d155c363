"""``n8n-nodes-base.merge`` 3–3.2: append, combine (by position / fields / all), choose branch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.errors import ParameterError
from workflows.engine.items import get_path
from workflows.engine.nodes.base import NodeType, require_choice
from workflows.engine.registry import registry
from workflows.engine.state import Item, Items

JOIN_MODES = ("keepMatches", "keepNonMatches", "keepEverything", "enrichInput1", "enrichInput2")


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


@registry.register
class Merge(NodeType):
    type = "n8n-nodes-base.merge"
    versions = (3.0, 3.1, 3.2)
    description = (
        "Waits for its inputs; `append`, `combine` (`combineByPosition`, `combineByFields`, "
        "`combineAll`) or `chooseBranch`."
    )
    inputs = 2

    def requires_all_inputs(self, node: Mapping[str, Any]) -> bool:
        # n8n: `requiredInputs` is [0, 1] for chooseBranch ("wait for all inputs to arrive").
        return (node.get("parameters") or {}).get("mode") == "chooseBranch"

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        mode = require_choice(parameters, "mode", ("append", "combine", "chooseBranch"), "append")
        count = parameters.get("numberInputs", 2)
        if not isinstance(count, int) or isinstance(count, bool) or not 2 <= count <= 10:
            raise ParameterError("numberInputs", "must be an integer from 2 to 10")
        if mode == "combine":
            by = require_choice(
                parameters, "combineBy", ("combineByFields", "combineByPosition", "combineAll"), "combineByFields"
            )
            if by == "combineByFields":
                require_choice(parameters, "joinMode", JOIN_MODES, "keepMatches")
                if not parameters.get("advanced") and not str(parameters.get("fieldsToMatchString", "")).strip():
                    raise ParameterError("fieldsToMatchString", "names the field(s) to match, e.g. `id`")
        if mode == "chooseBranch":
            choice = require_choice(parameters, "output", ("specifiedInput", "empty"), "specifiedInput")
            if choice == "specifiedInput":
                which = parameters.get("useDataOfInput", 1)
                if not isinstance(which, int) or not 1 <= which <= count:
                    raise ParameterError("useDataOfInput", f"must be an input number from 1 to {count}")

    def execute(self, ctx: NodeContext) -> list[Items]:
        mode = ctx.param("mode", "append")
        count = int(ctx.raw_param("numberInputs", 2) or 2)
        inputs = [ctx.input(i) for i in range(count)]
        if mode == "append":
            out: Items = []
            for index, items in enumerate(inputs):
                out.extend({**it, "pairedItem": {"item": i, "input": index}} for i, it in enumerate(items))
            return [out]
        if mode == "chooseBranch":
            if ctx.param("output", "specifiedInput") == "empty":
                return [[{"json": {}}]]
            which = int(ctx.param("useDataOfInput", 1)) - 1
            return [[{**it, "pairedItem": {"item": i, "input": which}} for i, it in enumerate(inputs[which])]]
        by = ctx.param("combineBy", "combineByFields")
        first, second = inputs[0], inputs[1]
        if by == "combineByPosition":
            return [self._by_position(ctx, inputs)]
        if by == "combineAll":
            return [[self._combine(ctx, a, b, i, j) for i, a in enumerate(first) for j, b in enumerate(second)]]
        return [self._by_fields(ctx, first, second)]

    def _combine(self, ctx: NodeContext, a: Item, b: Item, ia: int, ib: int) -> Item:
        item = self._merged(ctx, [(0, a), (1, b)])
        item["pairedItem"] = [{"item": ia, "input": 0}, {"item": ib, "input": 1}]
        return item

    def _merged(self, ctx: NodeContext, entries: list[tuple[int, Item]]) -> Item:
        """One item from items of several inputs (``(input index, item)``), as n8n resolves clashes.

        ``addSuffix`` suffixes every key with its input number; ``preferInputN`` lets input N
        win; ``preferLast`` (the default) lets the last input win.
        """
        clash = ctx.raw_param("options.clashHandling.values", {}) or {}
        resolve = str(clash.get("resolveClash", "preferLast"))
        deep = clash.get("mergeMode", "deepMerge") == "deepMerge"
        merged: dict[str, Any] = {}
        if resolve == "addSuffix":
            for index, item in entries:
                merged.update({f"{k}_{index + 1}": v for k, v in item.get("json", {}).items()})
        else:
            ordered = entries
            if resolve.startswith("preferInput"):
                number = resolve.removeprefix("preferInput")
                preferred = int(number) - 1 if number.isdigit() else 0
                # Merged last, so the preferred input's values win.
                ordered = [e for e in entries if e[0] != preferred] + [e for e in entries if e[0] == preferred]
            for _index, item in ordered:
                data = item.get("json", {})
                merged = _deep_merge(merged, data) if deep else {**merged, **data}
        result: Item = {"json": merged}
        binary: dict[str, Any] = {}
        for _index, item in entries:
            binary.update(item.get("binary") or {})
        if binary:
            result["binary"] = binary
        return result

    def _by_position(self, ctx: NodeContext, inputs: list[Items]) -> Items:
        include_unpaired = bool(ctx.raw_param("options.includeUnpaired", False))
        lengths = [len(items) for items in inputs]
        n = max(lengths) if include_unpaired else min(lengths)
        out: Items = []
        for i in range(n):
            present = [(idx, items[i]) for idx, items in enumerate(inputs) if i < len(items)]
            merged = self._merged(ctx, present)
            merged["pairedItem"] = [{"item": i, "input": idx} for idx, _ in present]
            out.append(merged)
        return out

    def _match_fields(self, ctx: NodeContext) -> list[tuple[str, str]]:
        if ctx.raw_param("advanced", False):
            values = ctx.param("mergeByFields.values", []) or []
            return [(str(v.get("field1", "")), str(v.get("field2", ""))) for v in values]
        fields = [f.strip() for f in str(ctx.param("fieldsToMatchString", "")).split(",") if f.strip()]
        return [(f, f) for f in fields]

    def _by_fields(self, ctx: NodeContext, first: Items, second: Items) -> Items:
        pairs = self._match_fields(ctx)
        join = ctx.param("joinMode", "keepMatches")
        output_from = ctx.param("outputDataFrom", "both")

        def key(item: Item, side: int) -> tuple[Any, ...] | None:
            values = tuple(get_path(item.get("json", {}), p[side]) for p in pairs)
            return None if any(v is None for v in values) else tuple(repr(v) for v in values)

        index2: dict[tuple[Any, ...], list[int]] = {}
        for j, item in enumerate(second):
            k = key(item, 1)
            if k is not None:
                index2.setdefault(k, []).append(j)
        matched2: set[int] = set()
        out: Items = []
        unmatched1: list[int] = []
        for i, a in enumerate(first):
            k = key(a, 0)
            hits = index2.get(k, []) if k is not None else []
            if not hits:
                unmatched1.append(i)
                if join == "enrichInput1":
                    out.append({**a, "pairedItem": {"item": i, "input": 0}})
                continue
            for j in hits:
                matched2.add(j)
                b = second[j]
                if join in ("keepMatches", "keepEverything", "enrichInput1", "enrichInput2"):
                    if join == "keepMatches" and output_from == "input1":
                        out.append({**a, "pairedItem": {"item": i, "input": 0}})
                        break
                    if join == "keepMatches" and output_from == "input2":
                        out.append({**b, "pairedItem": {"item": j, "input": 1}})
                        continue
                    out.append(self._combine(ctx, a, b, i, j))
        unmatched2 = [j for j in range(len(second)) if j not in matched2]
        if join == "keepNonMatches":
            out = []
            if output_from in ("both", "input1"):
                out.extend({**first[i], "pairedItem": {"item": i, "input": 0}} for i in unmatched1)
            if output_from in ("both", "input2"):
                out.extend({**second[j], "pairedItem": {"item": j, "input": 1}} for j in unmatched2)
        elif join == "keepEverything":
            out.extend({**first[i], "pairedItem": {"item": i, "input": 0}} for i in unmatched1)
            out.extend({**second[j], "pairedItem": {"item": j, "input": 1}} for j in unmatched2)
        elif join == "enrichInput2":
            out.extend({**second[j], "pairedItem": {"item": j, "input": 1}} for j in unmatched2)
        return out
