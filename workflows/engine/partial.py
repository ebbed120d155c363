"""Partial execution: rebuild an :class:`ExecutionState` from a previous run's stored node runs.

n8n's server-side algorithm (``runPartialWorkflow2``), with the rules of API.md "execute/partial":

* with a destination: choose the trigger, cut the graph to the trigger→destination paths, mark
  dirty nodes (named, the start node, errored, without output or pin, configuration changed);
  dirty nodes and their descendants inside that sub-graph run, the destination is included or
  excluded, nothing after it runs;
* without a destination: the start node and all its descendants run.

Every running node fed by a node that does not run gets that parent's pin (pinned parents are
put on the stack: the runner emits their pin without executing them, with the usual lineage) or
the parent's last successful stored output. Stored outputs are passed by identity, never copied,
so the state serialises them as ``$ref``s and the cost follows the sub-graph that runs. A start
node inside a cycle is not started itself: its loop's entry node is, because the cycle's other
members run too and only the entry has a parent that does not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workflows.engine.graph import Edge, Graph
from workflows.engine.state import (
    ExecutionState,
    Items,
    LazyRunData,
    NodeRunRecord,
    RunData,
    RunSummary,
    Source,
    Task,
    summarize,
)

# Node-level settings that change what a node does (n8n's "node settings" tab).
CONFIG_SETTINGS = (
    "alwaysOutputData",
    "continueOnFail",
    "disabled",
    "executeOnce",
    "maxTries",
    "onError",
    "requireApproval",
    "retryOnFail",
    "waitBetweenTries",
)


class PartialError(Exception):
    """A partial run cannot be planned; ``field`` names the request field to blame (→ 400)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(slots=True)
class PartialPlan:
    """What a partial run starts from.

    ``state`` goes to a :class:`WorkflowRunner` together with ``run_data``: the previous runs
    reused as they are (same record objects, to be stored as references, ``reused_from``).
    ``nodes_to_run`` is the most that may run (the runner's node filter); ``start_nodes`` the
    nodes with a task on the stack or in a multi-input buffer; ``pinned_starts`` the clean
    pinned parents put on the stack to emit their pin.
    """

    state: ExecutionState
    run_data: RunData
    nodes_to_run: set[str]
    start_nodes: list[str]
    pinned_starts: list[str] = field(default_factory=list)
    reused: frozenset[str] = frozenset()  # the nodes in ``run_data`` (which the runner extends)
    trigger: str | None = None
    dirty: set[str] = field(default_factory=set)


# -- configuration changes -----------------------------------------------------------------
def node_config(node: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes a node behave: type, version, parameters and settings (name and position do not)."""
    return (
        node.get("type"),
        node.get("typeVersion"),
        node.get("parameters") or {},
        tuple((key, node.get(key)) for key in CONFIG_SETTINGS if node.get(key) is not None),
    )


def node_config_hash(node: Mapping[str, Any]) -> str:
    """A stable hash of :func:`node_config` (for storing or comparing across processes)."""
    text = json.dumps(node_config(node), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_changes(previous_nodes: Iterable[Mapping[str, Any]], nodes: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of ``nodes`` that are new or whose configuration differs from ``previous_nodes``."""
    before = {n["name"]: n for n in previous_nodes}
    changed = set()
    for node in nodes:
        old = before.get(node["name"])
        if old is None or (old is not node and node_config(old) != node_config(node)):
            changed.add(node["name"])
    return changed


# -- run data ----------------------------------------------------------------------------------
def last_success(runs: list[NodeRunRecord] | None) -> NodeRunRecord | None:
    """The node's last successful run with an output, if any."""
    for record in reversed(runs or ()):
        if record.status == "success" and record.output is not None:
            return record
    return None


def _has_error(runs: list[RunSummary]) -> bool:
    return any(run.status == "error" for run in runs)


def _has_success(runs: list[RunSummary]) -> bool:
    return any(run.status == "success" and run.has_output for run in runs)


def _is_webhook(node: Mapping[str, Any]) -> bool:
    return "webhook" in str(node.get("type", "")).lower()


# -- the steps of n8n's algorithm ----------------------------------------------------------
def find_trigger(
    graph: Graph,
    destination: str,
    previous: RunData,
    pinned: Collection[str],
    start_node: str | None = None,
    upstream: set[str] | None = None,
) -> str | None:
    """The trigger to run ``destination`` from: one with run data, then pinned, then webhooks.

    Candidates are the enabled nodes without parents upstream of the destination (the
    destination itself when it has none); those upstream of ``start_node`` win when there are.
    """
    if upstream is None:
        upstream = _upstream(graph, destination)
    candidates = [
        name for name in graph.nodes if name in upstream and not graph.incoming[name] and not _disabled(graph, name)
    ]
    if start_node is not None and candidates:
        before_start = graph.ancestors(start_node) | {start_node}
        candidates = [name for name in candidates if name in before_start] or candidates
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda name: (
            not summarize(previous, name),
            name not in pinned,
            not _is_webhook(graph.nodes[name]),
        ),
    )


def find_subgraph(graph: Graph, trigger: str, destination: str, upstream: set[str] | None = None) -> set[str]:
    """Nodes on the paths from ``trigger`` to ``destination`` (siblings and later nodes dropped)."""
    if upstream is None:
        upstream = _upstream(graph, destination)
    return downstream(graph, [trigger], upstream) if trigger in upstream else set()


def _upstream(graph: Graph, destination: str) -> set[str]:
    """``destination`` and its ancestors (one walk over incoming edges)."""
    seen = {destination}
    todo = [destination]
    incoming = graph.incoming
    while todo:
        for edge in incoming[todo.pop()]:
            if edge.source not in seen:
                seen.add(edge.source)
                todo.append(edge.source)
    return seen


def find_dirty(
    nodes: Iterable[str],
    previous: RunData,
    pinned: Collection[str],
    named: Collection[str] = (),
) -> set[str]:
    """Nodes that must run again: named ones, errored ones, and those without output or pin."""
    dirty = set()
    for name in nodes:
        runs = summarize(previous, name)
        if name in named or _has_error(runs) or (name not in pinned and not _has_success(runs)):
            dirty.add(name)
    return dirty


def downstream(graph: Graph, starts: Iterable[str], within: Collection[str] | None = None) -> set[str]:
    """``starts`` and every node reachable from them (inside ``within`` when given)."""
    seen: set[str] = set()
    todo = [name for name in starts if within is None or name in within]
    outgoing = graph.outgoing
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for edges in outgoing[name]:
            todo.extend(e.target for e in edges if within is None or e.target in within)
    return seen


def clean_run_data(previous: RunData, graph: Graph, dirty: Iterable[str]) -> RunData:
    """``previous`` without the runs of dirty nodes and of all their descendants (n8n's cleanRunData)."""
    gone = downstream(graph, dirty)
    return {name: runs for name, runs in previous.items() if name not in gone}


# -- the plan --------------------------------------------------------------------------------
def plan_partial(
    *,
    nodes: Iterable[Mapping[str, Any]],
    connections: Mapping[str, Any],
    previous: RunData,
    pinned: Collection[str],
    destination: str | None,
    destination_mode: str = "inclusive",
    start_node: str | None = None,
    dirty_nodes: Collection[str] = (),
    changed_nodes: Collection[str] = (),
    input_data: Items | None = None,
    graph: Graph | None = None,
) -> PartialPlan:
    """Plan a partial run of the workflow from the previous run's data (see the module doc).

    ``pinned`` holds the names of nodes with pin data (a runner's pin mapping works too).
    Raises :class:`PartialError` when the request cannot be served.
    """
    graph = graph or Graph(nodes, connections)
    _check_node(graph, "start_node", start_node)
    _check_node(graph, "destination_node", destination)
    if destination_mode not in ("inclusive", "exclusive"):
        raise PartialError("destination_mode", "must be inclusive or exclusive")
    unknown = sorted(name for name in dirty_nodes if name not in graph.nodes)
    if unknown:
        raise PartialError("dirty_nodes", f"unknown nodes: {', '.join(map(repr, unknown))}")

    trigger: str | None = None
    dirty: set[str] = set()
    within: set[str] | None = None
    if destination is not None:
        upstream = _upstream(graph, destination)
        trigger = find_trigger(graph, destination, previous, pinned, start_node, upstream)
        if trigger is None:
            raise PartialError("destination_node", f"no trigger leads to node {destination!r}")
        within = find_subgraph(graph, trigger, destination, upstream)
        if start_node is not None and start_node not in within:
            raise PartialError(
                "start_node", f"node {start_node!r} is not on a path from {trigger!r} to {destination!r}"
            )
        if input_data is not None and start_node is None:
            start_node = trigger  # the input is the trigger's, which must then run
        named = {*dirty_nodes, *changed_nodes, *([start_node] if start_node else [])}
        dirty = find_dirty(within, previous, pinned, named)
        to_run = downstream(graph, dirty, within)
        if destination_mode == "inclusive":
            to_run.add(destination)
        else:
            to_run.discard(destination)
    elif start_node is None:
        raise PartialError("start_node", "start_node or destination_node is required")
    else:
        to_run = downstream(graph, [start_node])

    builder = _StateBuilder(graph, previous, pinned, to_run, within, start_node, input_data)
    builder.build()
    state = builder.state
    state.destination = destination
    state.destination_mode = destination_mode
    state.node_filter = builder.order
    reused_names, reused = builder.reused(destination if destination_mode == "exclusive" else None)
    state.execution_index = 1 + max(
        (run.execution_index for name in reused_names for run in summarize(previous, name)), default=-1
    )
    return PartialPlan(
        state=state,
        run_data=reused,
        nodes_to_run=to_run,
        start_nodes=builder.start_nodes,
        pinned_starts=builder.pinned_starts,
        reused=frozenset(reused_names),
        trigger=trigger,
        dirty=dirty,
    )


def _disabled(graph: Graph, name: str) -> bool:
    return bool(graph.nodes[name].get("disabled"))


def _check_node(graph: Graph, field_name: str, name: str | None) -> None:
    if name is None:
        return
    if name not in graph.nodes:
        raise PartialError(field_name, f"unknown node {name!r}")
    if _disabled(graph, name):
        raise PartialError(field_name, f"node {name!r} is disabled")


class _StateBuilder:
    """Rebuilds the stack and the multi-input buffers for the nodes that run."""

    def __init__(
        self,
        graph: Graph,
        previous: RunData,
        pinned: Collection[str],
        to_run: set[str],
        within: set[str] | None,
        start_node: str | None,
        input_data: Items | None,
    ) -> None:
        self.graph = graph
        self.previous = previous
        self.pinned = pinned
        self.to_run = to_run
        self.within = within
        self.start_node = start_node
        self.input_data = input_data
        self.state = ExecutionState()
        self.order = _topological(graph, to_run)
        self.start_nodes: list[str] = []
        self.pinned_starts: list[str] = []
        # With input data, a start node inside a cycle starts itself: its loop's entry must not.
        self._skip: set[str] = set()
        if start_node is not None and input_data is not None and start_node in to_run:
            loop = downstream(graph, graph.children(start_node)) & (graph.ancestors(start_node))
            self._skip = loop - {start_node}

    def build(self) -> None:
        ready: list[Task] = []
        for name in self.order:
            if name in self._skip:
                continue
            tasks = self._tasks_for(name)
            if tasks:
                self.start_nodes.append(name)
            for task in tasks:
                if all(items is not None for items in task.inputs):
                    ready.append(task)
                else:
                    self.state.waiting.setdefault(name, []).append(task)
        pins = [Task(name, [[]], [None]) for name in self.pinned_starts]
        # The stack pops from its end: the first node in topological order must be on top,
        # and pinned parents above all (their children wait for them).
        self.state.stack = [*reversed(ready), *reversed(pins)]

    def _feeds(self, edge: Edge) -> bool:
        return self.within is None or edge.source in self.within

    def _tasks_for(self, name: str) -> list[Task]:
        graph = self.graph
        count = max(graph.input_count(name), 1)
        edges = [e for e in graph.incoming[name] if self._feeds(e)]
        explicit = name == self.start_node
        if explicit and self.input_data is not None:
            return [self._given_input(name, count, edges)]
        if not edges:
            return [Task(name, [[{"json": {}}]] + [None] * (count - 1), [None] * count)]
        by_input: list[list[tuple[Items, Source]]] = [[] for _ in range(count)]
        live = False
        missing: tuple[int, str] | None = None
        for edge in edges:
            source = edge.source
            if source in self.to_run:
                live = True
            elif source in self.pinned:
                live = True
                if source not in self.pinned_starts:
                    self.pinned_starts.append(source)
            else:
                delivery = self._stored(edge)
                if delivery is None:
                    missing = missing or (edge.input, source)
                elif delivery[0] or explicit:
                    by_input[edge.input].append(delivery)
        groups = max(len(entries) for entries in by_input)
        if not groups and not live and missing is not None:
            index, parent = missing
            field_name = "start_node" if explicit else "previous_execution_id"
            raise PartialError(
                field_name,
                f"input {index} of node {name!r} cannot be rebuilt: node {parent!r} has no stored output or pin data",
            )
        tasks = []
        for k in range(groups):
            inputs: list[Items | None] = [None] * count
            sources: list[Source | None] = [None] * count
            for index, entries in enumerate(by_input):
                if k < len(entries):
                    inputs[index], sources[index] = entries[k]
            tasks.append(Task(name, inputs, sources))
        return tasks

    def _stored(self, edge: Edge) -> tuple[Items, Source] | None:
        record = last_success(self.previous.get(edge.source))
        if record is None:
            return None
        output = record.output or []
        items: Items = output[edge.output] if edge.output < len(output) else []
        source = {"previousNode": edge.source, "previousNodeOutput": edge.output, "previousNodeRun": record.run_index}
        return items, source

    def _given_input(self, name: str, count: int, edges: list[Edge]) -> Task:
        inputs: list[Items | None] = [self.input_data] + [[] for _ in range(count - 1)]
        sources: list[Source | None] = [None] * count
        for edge in edges:
            if edge.input == 0 or sources[edge.input] is not None or edge.source in self.to_run:
                continue
            delivery = self._stored(edge)
            if delivery is not None:
                inputs[edge.input], sources[edge.input] = delivery
        return Task(name, inputs, sources)

    def reused(self, exclude: str | None) -> tuple[list[str], RunData]:
        """The clean nodes upstream of the run that have stored runs, and those runs.

        The runs are new lists of the same records; from :class:`LazyRunData` they stay lazy,
        so nothing is fetched for a node the run never reads.

        With a destination these are the sub-graph's nodes that do not run; without one, the
        ancestors of the nodes that run. ``exclude`` is an exclusive destination.
        """
        graph = self.graph
        skip = self.to_run | set(self.pinned_starts) | {exclude}
        if self.within is not None:
            keep = self.within - skip
        else:
            keep = set()
            todo = [p for name in self.to_run for p in graph.parents(name)]
            while todo:
                name = todo.pop()
                if name not in keep and name not in skip:
                    keep.add(name)
                    todo.extend(graph.parents(name))
        previous = self.previous
        names = [name for name in graph.nodes if name in keep and summarize(previous, name)]
        if isinstance(previous, LazyRunData):
            return names, previous.subset(names)
        return names, {name: list(previous[name]) for name in names}


def _topological(graph: Graph, names: set[str]) -> list[str]:
    """``names`` in an order where parents come first (Kahn; cycles broken in workflow order)."""
    degree = {name: sum(1 for e in graph.incoming[name] if e.source in names) for name in names}
    order: list[str] = []
    placed: set[str] = set()
    pending = [name for name in graph.nodes if name in names]
    while len(order) < len(names):
        ready = [name for name in pending if name not in placed and degree[name] == 0]
        if not ready:
            ready = [next(name for name in pending if name not in placed)]
        todo = list(reversed(ready))
        while todo:
            name = todo.pop()
            if name in placed:
                continue
            placed.add(name)
            order.append(name)
            for child in graph.children(name):
                if child in names and child not in placed:
                    degree[child] -= sum(1 for e in graph.incoming[child] if e.source == name)
                    if degree[child] <= 0:
                        todo.append(child)
    return order
