"""The registry of node types, keyed by n8n type string."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from workflows.engine.nodes.base import NodeType


class NodeRegistry:
    """Maps ``type`` strings to node-type singletons and checks supported typeVersions."""

    def __init__(self) -> None:
        self._types: dict[str, NodeType] = {}

    def register(self, node_type: type[NodeType]) -> type[NodeType]:
        if node_type.type in self._types:
            raise ValueError(f"node type {node_type.type} registered twice")
        self._types[node_type.type] = node_type()
        return node_type

    def get(self, type_name: str) -> NodeType | None:
        return self._types.get(type_name)

    def supports(self, type_name: str, version: float) -> bool:
        node_type = self._types.get(type_name)
        return node_type is not None and float(version) in node_type.versions

    def __iter__(self) -> Iterator[NodeType]:
        return iter(sorted(self._types.values(), key=lambda t: t.type))

    def __len__(self) -> int:
        return len(self._types)


registry = NodeRegistry()


def load_builtin_nodes() -> NodeRegistry:
    """Import every module of ``workflows.engine.nodes`` so their classes register."""
    from workflows.engine import nodes

    for info in pkgutil.iter_modules(nodes.__path__):
        if info.name != "base":
            importlib.import_module(f"{nodes.__name__}.{info.name}")
    return registry


_loaded = False


def default_registry() -> NodeRegistry:
    """The process-wide registry with every built-in node type loaded."""
    global _loaded
    if not _loaded:
        load_builtin_nodes()
        _loaded = True
    return registry
