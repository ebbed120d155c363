"""n8n's data variables: ``$json``, ``$input``, ``$('Node')``, ``$node``, ``$execution``, ``$workflow`` ...

Item lineage (``$('Node').item``) follows ``pairedItem`` back through the run data like n8n:
an output item's ``pairedItem`` names the input item it came from, and the run record's
``source`` names the node run that produced that input.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflows.engine.custom_data import CustomDataError, custom_data_set
from workflows.engine.expressions import limits
from workflows.engine.expressions.dates import now, today
from workflows.engine.expressions.errors import Abort, JSError
from workflows.engine.expressions.properties import NativeFunction, arg
from workflows.engine.expressions.values import UNDEFINED, HostObject, to_integer, to_string

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime
    from workflows.engine.state import NodeRunRecord

Item = dict[str, Any]


def current_item(rt: Runtime) -> Item:
    items = rt.items
    i = rt.item_index
    if items is not None and 0 <= i < len(items):
        item: Item = items[i]
        return item
    raise Abort(f"no input data for item index {i}")


def read_json(rt: Runtime) -> Any:
    items = rt.items
    i = rt.item_index
    if items is not None and 0 <= i < len(items):
        return items[i].get("json", UNDEFINED)
    raise Abort(f"no input data for item index {i}")


def _binary_view(item: Item) -> dict[str, Any]:
    """An item's binary metadata without the payload (as n8n's ``$binary``)."""
    binary = item.get("binary") or {}
    if not isinstance(binary, dict):
        return {}
    return {
        key: {k: v for k, v in value.items() if k != "data"} if isinstance(value, dict) else value
        for key, value in binary.items()
    }


# -- run data access -------------------------------------------------------------------------
def _runs(rt: Runtime, node: str) -> list[NodeRunRecord]:
    runs = rt.ctx.run_data.get(node)
    if not runs:
        raise Abort(f"node '{node}' hasn't been executed, so its data can't be used in this expression")
    return runs


def node_output(rt: Runtime, node: str, branch: Any = UNDEFINED, run: Any = UNDEFINED) -> list[Item]:
    """Items of output ``branch`` (default 0) of ``node``'s run ``run`` (default: the last)."""
    runs = _runs(rt, node)
    run_index = len(runs) - 1 if run is UNDEFINED or run is None else to_integer(run)
    if run_index < 0:
        run_index += len(runs)
    if not 0 <= run_index < len(runs):
        raise Abort(f"run {run_index} of node '{node}' not found")
    output = runs[run_index].output
    if output is None:
        raise Abort(f"node '{node}' has no output data (its run {run_index} did not succeed)")
    branch_index = 0 if branch is UNDEFINED or branch is None else to_integer(branch)
    if not 0 <= branch_index < len(output):
        if branch_index == 0:
            return []
        raise Abort(f"node '{node}' has no output {branch_index}")
    return output[branch_index]


def _paired(value: Any) -> list[tuple[int, int]]:
    """A ``pairedItem`` value as (item, input) pairs; empty when the lineage is missing."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [(value, 0)]
    if isinstance(value, dict):
        index = value.get("item", 0)
        source = value.get("input", 0) or 0
        if isinstance(index, int) and isinstance(source, int):
            return [(index, source)]
        return []
    if isinstance(value, list):
        return [pair for entry in value for pair in _paired(entry)]
    return []


class _NoLineage(Exception):  # internal signal
    """Some item on the way back has no pairedItem: fall back to the same index."""


def paired_item(rt: Runtime, target: str, item_index: int) -> Any:
    """The item of ``target`` that the current node's input item ``item_index`` derives from."""
    runs = _runs(rt, target)
    items = rt.items
    if items is None or not 0 <= item_index < len(items):
        raise Abort(f"no input data for item index {item_index}")
    sources = rt.ctx.source
    source = sources[0] if sources else None
    try:
        found = _walk(rt, target, items[item_index], source, 0)
    except _NoLineage:
        output = runs[-1].output
        fallback = output[0] if output else []
        return fallback[item_index] if item_index < len(fallback) else UNDEFINED
    if not found:
        raise Abort(
            f"the expression uses data of node '{target}' but there is no path back to it from this item "
            "(check that the node is connected to this one, possibly through other nodes)"
        )
    distinct = {id(x): x for x in found}
    if len(distinct) > 1:
        raise Abort(f"the expression uses data of node '{target}' but more than one of its items matches this item")
    return found[0]


def _walk(rt: Runtime, target: str, item: Item, source: Any, hops: int) -> list[Item]:
    """Follow one item back to ``target``; returns the matches (several through a merge)."""
    run_data = rt.ctx.run_data
    while True:
        if not isinstance(source, dict):
            return []
        previous = source.get("previousNode")
        if previous == target:
            return [item]
        hops += 1
        if hops > limits.MAX_LINEAGE_HOPS:
            raise Abort("item lineage is too long to follow")
        rt.charge(1)
        runs = run_data.get(previous) if isinstance(previous, str) else None
        run_index = source.get("previousNodeRun", 0) or 0
        if not runs or not isinstance(run_index, int) or not 0 <= run_index < len(runs):
            return []
        run = runs[run_index]
        pairs = _paired(item.get("pairedItem"))
        if not pairs:
            raise _NoLineage
        if len(pairs) > 1:
            found: list[Item] = []
            for index, input_index in pairs:
                step = _step(rt, run, index, input_index)
                if step is not None:
                    found.extend(_walk(rt, target, step[0], step[1], hops))
            return found
        step = _step(rt, run, *pairs[0])
        if step is None:
            return []
        item, source = step


def _step(rt: Runtime, run: NodeRunRecord, index: int, input_index: int) -> tuple[Item, Any] | None:
    """The input item ``index`` of ``run``'s input ``input_index``, with the source it came from."""
    if input_index >= len(run.source):
        return None
    source = run.source[input_index]
    if not isinstance(source, dict):
        return None
    runs = rt.ctx.run_data.get(source.get("previousNode", ""))
    run_index = source.get("previousNodeRun", 0) or 0
    if not runs or run_index >= len(runs):
        return None
    output = runs[run_index].output
    out_index = source.get("previousNodeOutput", 0) or 0
    if output is None or out_index >= len(output) or not 0 <= index < len(output[out_index]):
        raise Abort(
            f"can't get data for the expression: an item of '{run.node}' points to an input item that doesn't exist"
        )
    return output[out_index][index], source


# -- host objects --------------------------------------------------------------------------------
class NodeRef(HostObject):
    """``$('Node Name')``."""

    __slots__ = ("node",)
    type_name = "NodeReference"
    clean = True

    def __init__(self, node: str) -> None:
        self.node = node

    def js_get(self, rt: Runtime, key: str) -> Any:
        if key == "item":
            return paired_item(rt, self.node, rt.item_index)
        if key == "isExecuted":
            return bool(rt.ctx.run_data.get(self.node))
        if key in ("first", "last", "all", "itemMatching", "pairedItem"):
            return NativeFunction(key, lambda rt2, args: self.js_call(rt2, key, args))
        if key == "params":
            return UNDEFINED
        if key == "context":
            return {}
        return UNDEFINED

    def js_has(self, key: str) -> bool:
        return key in ("item", "isExecuted", "first", "last", "all", "itemMatching", "params", "context")

    def js_call(self, rt: Runtime, key: str, args: list[Any]) -> Any:
        rt.charge(1)
        if key == "all":
            return node_output(rt, self.node, arg(args, 0), arg(args, 1))
        if key == "first":
            items = node_output(rt, self.node, arg(args, 0), arg(args, 1))
            return items[0] if items else UNDEFINED
        if key == "last":
            items = node_output(rt, self.node, arg(args, 0), arg(args, 1))
            return items[-1] if items else UNDEFINED
        if key in ("itemMatching", "pairedItem"):
            index = arg(args, 0)
            if index is UNDEFINED:
                if key == "itemMatching":
                    raise Abort("missing item index for .itemMatching()")
                return paired_item(rt, self.node, rt.item_index)
            return paired_item(rt, self.node, to_integer(index))
        raise JSError(f"$('{self.node}').{key} is not a function")


class LegacyNode(HostObject):
    """``$node["Node Name"]``: the item at the same index of the node's last run, output 0."""

    __slots__ = ("node",)
    type_name = "Node"
    clean = True

    def __init__(self, node: str) -> None:
        self.node = node

    def _item(self, rt: Runtime) -> Item:
        items = node_output(rt, self.node)
        i = rt.item_index
        if not 0 <= i < len(items):
            raise Abort(f"no data found for item index {i} of node '{self.node}'")
        item: Item = items[i]
        return item

    def js_get(self, rt: Runtime, key: str) -> Any:
        if key in ("json", "data"):
            return self._item(rt).get("json", UNDEFINED)
        if key == "binary":
            return _binary_view(self._item(rt))
        if key == "runIndex":
            runs = rt.ctx.run_data.get(self.node)
            return len(runs) - 1 if runs else -1
        if key in ("parameter", "context"):
            return {}
        return UNDEFINED

    def js_has(self, key: str) -> bool:
        return key in ("json", "data", "binary", "runIndex", "parameter", "context")


class NodesProxy(HostObject):
    """``$node``."""

    __slots__ = ()
    type_name = "$node"
    clean = True

    def js_get(self, rt: Runtime, key: str) -> Any:
        return LegacyNode(key)

    def js_has(self, key: str) -> bool:
        return True


class InputProxy(HostObject):
    """``$input``: the current node's input 0."""

    __slots__ = ()
    type_name = "$input"
    clean = True

    def js_get(self, rt: Runtime, key: str) -> Any:
        if key == "item":
            return current_item(rt)
        if key in ("all", "first", "last"):
            return NativeFunction(key, lambda rt2, args: self.js_call(rt2, key, args))
        if key == "params":
            return parameters(rt)
        if key == "context":
            return {}
        return UNDEFINED

    def js_has(self, key: str) -> bool:
        return key in ("item", "all", "first", "last", "params", "context")

    def js_call(self, rt: Runtime, key: str, args: list[Any]) -> Any:
        items = rt.items or []
        if key == "all":
            return items
        if key == "first":
            return items[0] if items else UNDEFINED
        if key == "last":
            return items[-1] if items else UNDEFINED
        raise JSError(f"$input.{key} is not a function")


class CustomData(HostObject):
    """``$execution.customData``: read and write the execution's custom data (strings, as n8n).

    Writes go through :func:`~workflows.engine.custom_data.custom_data_set` (n8n's limits).
    """

    __slots__ = ()
    type_name = "customData"
    clean = True

    def js_call(self, rt: Runtime, key: str, args: list[Any]) -> Any:
        data = rt.ctx.custom_data
        if key == "get":
            return data.get(to_string(arg(args, 0)), UNDEFINED)
        if key == "getAll":
            return dict(data)
        if key == "set":
            _set(rt, [(_key(arg(args, 0)), arg(args, 1))])
            return UNDEFINED
        if key == "setAll":
            values = arg(args, 0)
            if type(values) is not dict:
                raise Abort("$execution.customData.setAll() expects an object")
            _set(rt, list(values.items()))
            return UNDEFINED
        raise JSError(f"$execution.customData.{key} is not a function")


def _set(rt: Runtime, entries: list[tuple[Any, Any]]) -> None:
    try:
        custom_data_set(rt.ctx, entries)
    except CustomDataError as exc:  # a test run: fail with the expression named
        raise Abort(exc.message) from None


def _key(key: Any) -> Any:
    # A number key becomes its text, as a JavaScript property name would.
    return to_string(key) if type(key) in (int, float) else key


class ExecutionProxy(HostObject):
    """``$execution``."""

    __slots__ = ()
    type_name = "$execution"
    clean = True

    def js_get(self, rt: Runtime, key: str) -> Any:
        info = rt.ctx.execution
        if key == "id":
            return info.execution_id
        if key == "mode":
            return info.n8n_mode
        if key in ("resumeUrl", "resumeFormUrl"):
            return info.resume_url
        if key == "customData":
            return CUSTOM_DATA
        return UNDEFINED

    def js_has(self, key: str) -> bool:
        return key in ("id", "mode", "resumeUrl", "resumeFormUrl", "customData")


class WorkflowProxy(HostObject):
    """``$workflow``."""

    __slots__ = ()
    type_name = "$workflow"
    clean = True

    def js_get(self, rt: Runtime, key: str) -> Any:
        info = rt.ctx.execution
        if key == "id":
            return info.workflow_id
        if key == "name":
            return info.workflow_name
        if key == "active":
            return info.workflow_active
        return UNDEFINED

    def js_has(self, key: str) -> bool:
        return key in ("id", "name", "active")

    def js_keys(self) -> list[str]:
        return ["id", "name", "active"]


class PrevNodeProxy(HostObject):
    """``$prevNode``: the node (output, run) that fed input 0."""

    __slots__ = ()
    type_name = "$prevNode"
    clean = True

    def js_get(self, rt: Runtime, key: str) -> Any:
        sources = rt.ctx.source
        source = sources[0] if sources else None
        if not isinstance(source, dict):
            return UNDEFINED
        if key == "name":
            return source.get("previousNode", UNDEFINED)
        if key == "outputIndex":
            return source.get("previousNodeOutput", 0) or 0
        if key == "runIndex":
            return source.get("previousNodeRun", 0) or 0
        return UNDEFINED

    def js_has(self, key: str) -> bool:
        return key in ("name", "outputIndex", "runIndex")

    def js_keys(self) -> list[str]:
        return ["name", "outputIndex", "runIndex"]


class EnvProxy(HostObject):
    """``$env`` when the host allows it (``extra["allow_env"]``): read-only process environment."""

    __slots__ = ()
    type_name = "$env"
    clean = True

    def js_get(self, rt: Runtime, key: str) -> Any:
        return os.environ.get(key, UNDEFINED)

    def js_has(self, key: str) -> bool:
        return key in os.environ


CUSTOM_DATA = CustomData()
INPUT = InputProxy()
NODES = NodesProxy()
EXECUTION = ExecutionProxy()
WORKFLOW = WorkflowProxy()
PREV_NODE = PrevNodeProxy()
ENV = EnvProxy()


def parameters(rt: Runtime) -> dict[str, Any]:
    """The node's stored parameters (expressions in them are not evaluated)."""
    params = rt.ctx.parameters
    return params if type(params) is dict else dict(params)


def _dollar(rt: Runtime, args: list[Any]) -> Any:
    name = arg(args, 0)
    if type(name) is not str or not name:
        raise Abort("when calling $(), please specify a node name")
    return NodeRef(name)


def _items(rt: Runtime, args: list[Any]) -> Any:
    name = arg(args, 0)
    if name is UNDEFINED:
        name = PREV_NODE.js_get(rt, "name")
        if name is UNDEFINED:
            return rt.items or []
    return node_output(rt, to_string(name), arg(args, 1), arg(args, 2))


def _env(rt: Runtime) -> Any:
    extra = rt.ctx.execution.extra
    if isinstance(extra, dict) and extra.get("allow_env"):
        return ENV
    raise Abort("access to environment variables is blocked ($env)")


def _vars(rt: Runtime) -> Any:
    """Instance variables, overlaid with the variables a calling workflow passed (a sub-workflow).

    A copy: expressions cannot assign, and a value handed to a node must not alias the source.
    """
    info = rt.ctx.execution
    passed = info.extra.get("vars") if isinstance(info.extra, dict) else None
    return {**info.loaded("variables"), **(passed if isinstance(passed, dict) else {})}


def _static_data(rt: Runtime, args: list[Any]) -> Any:
    """``$getWorkflowStaticData('global' | 'node')``: a read-only copy (n8n's keys ``global``, ``node:<name>``)."""
    kind = arg(args, 0)
    if kind == "global":
        key = "global"
    elif kind == "node":
        key = f"node:{rt.ctx.name}"
    else:
        raise Abort("$getWorkflowStaticData() takes 'global' or 'node'")
    value = rt.ctx.execution.loaded("static_data").get(key)
    return copy.deepcopy(value) if isinstance(value, dict) else {}


DOLLAR = NativeFunction("$", _dollar)
ITEMS = NativeFunction("$items", _items)
STATIC_DATA = NativeFunction("$getWorkflowStaticData", _static_data)

DATA_VARIABLES: dict[str, Callable[[Runtime], Any]] = {
    "$json": read_json,
    "$data": read_json,
    "$binary": lambda rt: _binary_view(current_item(rt)),
    "$input": lambda rt: INPUT,
    "$": lambda rt: DOLLAR,
    "$node": lambda rt: NODES,
    "$items": lambda rt: ITEMS,
    "$execution": lambda rt: EXECUTION,
    "$workflow": lambda rt: WORKFLOW,
    "$prevNode": lambda rt: PREV_NODE,
    "$runIndex": lambda rt: rt.ctx.run_index,
    "$thisRunIndex": lambda rt: rt.ctx.run_index,
    "$itemIndex": lambda rt: rt.item_index,
    "$thisItemIndex": lambda rt: rt.item_index,
    "$position": lambda rt: rt.item_index,
    "$thisItem": current_item,
    "$mode": lambda rt: rt.ctx.execution.mode,
    "$vars": _vars,
    "$getWorkflowStaticData": lambda rt: STATIC_DATA,
    # Sub-workflows (read-only: no expression method mutates its input).
    "$parent": lambda rt: rt.ctx.execution.parent,
    "$depth": lambda rt: rt.ctx.execution.depth,
    "$stack": lambda rt: rt.ctx.execution.stack,
    "$now": now,
    "$today": today,
    "$env": _env,
    "$parameter": parameters,
}
