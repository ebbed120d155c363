"""Pure graph helpers over n8n-format workflows (nodes list + connections dict)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Edge:
    """One ``main`` connection: ``source`` output ``output`` → ``target`` input ``input``."""

    source: str
    output: int
    target: str
    input: int


class Graph:
    """Adjacency of a workflow's ``main`` connections, both directions.

    Built once per workflow version; every query is a dict lookup or a linear walk.
    """

    def __init__(self, nodes: Iterable[Mapping[str, Any]], connections: Mapping[str, Any]) -> None:
        self.nodes: dict[str, Mapping[str, Any]] = {n["name"]: n for n in nodes}
        # outgoing[source][output] -> [Edge]; incoming[target] -> [Edge]
        self.outgoing: dict[str, list[list[Edge]]] = {name: [] for name in self.nodes}
        self.incoming: dict[str, list[Edge]] = {name: [] for name in self.nodes}
        for source, by_type in (connections or {}).items():
            if source not in self.nodes:
                continue
            for output, targets in enumerate((by_type or {}).get("main") or []):
                out = self.outgoing[source]
                while len(out) <= output:
                    out.append([])
                for conn in targets or []:
                    target = conn.get("node")
                    if target not in self.nodes:
                        continue
                    edge = Edge(source, output, target, int(conn.get("index", 0) or 0))
                    out[output].append(edge)
                    self.incoming[target].append(edge)

    # -- neighbours --------------------------------------------------------------------
    def parents(self, name: str) -> list[str]:
        """Direct parents, in connection order, without duplicates."""
        return list(dict.fromkeys(e.source for e in self.incoming.get(name, ())))

    def children(self, name: str) -> list[str]:
        """Direct children over every output, without duplicates."""
        return list(dict.fromkeys(e.target for out in self.outgoing.get(name, ()) for e in out))

    def input_count(self, name: str) -> int:
        """Number of distinct input indexes that have a connection (1 for an unconnected node)."""
        edges = self.incoming.get(name, ())
        return max((e.input for e in edges), default=0) + 1

    def ancestors(self, name: str) -> set[str]:
        """Every node with a path to ``name`` (excluding ``name`` unless it is in a cycle)."""
        return self._walk(name, self.parents)

    def descendants(self, name: str) -> set[str]:
        """Every node reachable from ``name`` (excluding ``name`` unless it is in a cycle)."""
        return self._walk(name, self.children)

    @staticmethod
    def _walk(start: str, step: Any) -> set[str]:
        seen: set[str] = set()
        todo = list(step(start))
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo.extend(step(node))
        return seen

    def roots(self) -> list[str]:
        """Nodes without parents (triggers and orphans), in workflow order."""
        return [name for name in self.nodes if not self.incoming[name]]

    def paths_between(self, source: str, destination: str) -> set[str]:
        """Nodes on any path from ``source`` to ``destination`` (both included when connected)."""
        if source == destination:
            return {source}
        down = self.descendants(source) | {source}
        up = self.ancestors(destination) | {destination}
        on_path = down & up
        return on_path if destination in on_path and source in on_path else set()

    def strongly_connected_components(self) -> list[list[str]]:
        """Tarjan's algorithm, iterative (deep chains must not hit the recursion limit)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        result: list[list[str]] = []
        counter = 0
        for root in self.nodes:
            if root in index:
                continue
            work: list[tuple[str, Iterable[str]]] = [(root, iter(self.children(root)))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, it = work[-1]
                advanced = False
                for child in it:
                    if child not in index:
                        index[child] = low[child] = counter
                        counter += 1
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(self.children(child))))
                        advanced = True
                        break
                    if child in on_stack:
                        low[node] = min(low[node], index[child])
                if advanced:
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    result.append(component)
        return result

    def cycles(self) -> list[set[str]]:
        """Components that are real cycles (several nodes, or one node looping to itself)."""
        found = []
        for comp in self.strongly_connected_components():
            if len(comp) > 1 or comp[0] in self.children(comp[0]):
                found.append(set(comp))
        return found

    def position(self, name: str) -> tuple[float, float]:
        pos = self.nodes[name].get("position") or (0, 0)
        try:
            return float(pos[0]), float(pos[1])
        except (TypeError, ValueError, IndexError):
            return 0.0, 0.0
