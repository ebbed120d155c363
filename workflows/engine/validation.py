"""Validation of n8n-format workflow JSON (nodes, connections, settings).

Pure: returns normalised data or raises :class:`WorkflowValidationError` whose keys are field
paths and whose messages name the node, so the API can answer 400 without further work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from workflows.engine.approval import approval_settings
from workflows.engine.errors import ParameterError, WorkflowValidationError
from workflows.engine.nodes.base import NodeType
from workflows.engine.registry import NodeRegistry
from workflows.engine.retry import ExecutionRetry, check_policy
from workflows.engine.subworkflows import CALLER_POLICIES

ON_ERROR = ("stopWorkflow", "continueRegularOutput", "continueErrorOutput")
MAX_NODES = 5000
MAX_NAME = 200

_BOOL_FIELDS = ("disabled", "retryOnFail", "alwaysOutputData", "executeOnce", "continueOnFail")
_SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "executionOrder": (str,),
    "errorWorkflow": (str, int),
    "saveManualExecutions": (bool, str),
    "saveDataErrorExecution": (str,),
    "saveDataSuccessExecution": (str,),
    "saveExecutionProgress": (bool, str),
    "executionTimeout": (int, float),
    "timezone": (str,),
    "callerPolicy": (str,),
    "callerIds": (str,),
    "allowPinDataInProduction": (bool,),
    "errorWorkflowOnManual": (bool,),
    "concurrencyLimit": (int,),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)


def validate_workflow(
    nodes: Any, connections: Any, settings: Any, registry: NodeRegistry
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Validate and normalise a workflow's ``nodes``, ``connections`` and ``settings``."""
    errs = _Errors()
    clean_nodes = _validate_nodes(nodes, registry, errs)
    clean_settings = _validate_settings(settings, errs)
    clean_connections: dict[str, Any] = {}
    if not errs.errors:
        clean_connections = _validate_connections(connections, clean_nodes, registry, errs)
    if errs.errors:
        raise WorkflowValidationError(errs.errors)
    return clean_nodes, clean_connections, clean_settings


def _validate_nodes(nodes: Any, registry: NodeRegistry, errs: _Errors) -> list[dict[str, Any]]:
    if not isinstance(nodes, list):
        errs.add("nodes", "must be a list of node objects")
        return []
    if len(nodes) > MAX_NODES:
        errs.add("nodes", f"at most {MAX_NODES} nodes are allowed (got {len(nodes)})")
        return []
    seen: dict[str, int] = {}
    unknown: list[str] = []
    clean: list[dict[str, Any]] = []
    for i, node in enumerate(nodes):
        where = f"nodes[{i}]"
        if not isinstance(node, dict):
            errs.add(where, "must be an object")
            continue
        name = node.get("name")
        label = f"node {name!r}" if isinstance(name, str) else f"node #{i}"
        if not isinstance(name, str) or not name.strip():
            errs.add(f"{where}.name", f"{label}: name must be a non-empty string")
            continue
        if len(name) > MAX_NAME:
            errs.add(f"{where}.name", f"{label}: name is longer than {MAX_NAME} characters")
            continue
        if name in seen:
            errs.add(f"{where}.name", f"{label}: duplicate node name (also nodes[{seen[name]}])")
            continue
        seen[name] = i
        type_name = node.get("type")
        if not isinstance(type_name, str) or not type_name:
            errs.add(f"{where}.type", f"{label}: type must be a non-empty string")
            continue
        version = node.get("typeVersion", 1)
        if not _is_number(version):
            errs.add(f"{where}.typeVersion", f"{label}: typeVersion must be a number")
            continue
        node_type = registry.get(type_name)
        if node_type is None or float(version) not in node_type.versions:
            unknown.append(f"{type_name}@{version}")
            supported = ", ".join(_fmt_version(v) for v in node_type.versions) if node_type else "none"
            # A known type with an unsupported version is the version's fault, not the type's.
            errs.add(
                f"{where}.typeVersion" if node_type else f"{where}.type",
                f"{label}: unsupported node type {type_name!r} typeVersion {version} (supported versions: {supported})",
            )
            continue
        item = dict(node)
        item["typeVersion"] = version
        params = node.get("parameters", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            errs.add(f"{where}.parameters", f"{label}: parameters must be an object")
            continue
        item["parameters"] = params
        position = node.get("position", [0, 0])
        if not isinstance(position, list) or len(position) != 2 or not all(_is_number(p) for p in position):
            errs.add(f"{where}.position", f"{label}: position must be [x, y] numbers")
            continue
        for key in _BOOL_FIELDS:
            if key in node and not isinstance(node[key], bool):
                errs.add(f"{where}.{key}", f"{label}: {key} must be true or false")
        for key, low, high in (("maxTries", 1, 100), ("waitBetweenTries", 0, 3_600_000)):
            if key in node and (
                not isinstance(node[key], int) or isinstance(node[key], bool) or not low <= node[key] <= high
            ):
                errs.add(f"{where}.{key}", f"{label}: {key} must be an integer from {low} to {high}")
        if "onError" in node and node["onError"] not in ON_ERROR:
            errs.add(f"{where}.onError", f"{label}: onError must be one of {', '.join(ON_ERROR)}")
        if "requireApproval" in node and node["requireApproval"] not in (None, False, True):
            if not isinstance(node["requireApproval"], dict):
                errs.add(f"{where}.requireApproval", f"{label}: requireApproval must be true or an object")
            else:
                try:
                    approval_settings(node["requireApproval"], "")
                except ParameterError as exc:
                    errs.add(f"{where}.requireApproval.{exc.parameter}", f"{label}: {exc.message}")
        if "retryPolicy" in node and node["retryPolicy"] is not None:
            try:
                check_policy(node["retryPolicy"])
            except ParameterError as exc:
                errs.add(f"{where}.{exc.parameter}", f"{label}: {exc.message}")
        if "timeout" in node and (not _is_number(node["timeout"]) or node["timeout"] <= 0):
            errs.add(f"{where}.timeout", f"{label}: timeout must be a number of seconds > 0")
        for key in ("notes", "id", "webhookId"):
            if key in node and node[key] is not None and not isinstance(node[key], str):
                errs.add(f"{where}.{key}", f"{label}: {key} must be a string")
        if "credentials" in node and not isinstance(node["credentials"], dict):
            errs.add(f"{where}.credentials", f"{label}: credentials must be an object")
        try:
            node_type.validate_parameters(params, item)
        except ParameterError as exc:
            errs.add(f"{where}.parameters.{exc.parameter}", f"{label}: {exc.message}")
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            # A validator that trips over a shape it did not expect (a list where a string
            # belongs) still means bad input: answer it as such, never as a server error.
            errs.add(f"{where}.parameters", f"{label}: parameters have an unexpected shape ({exc})")
        clean.append(item)
    if unknown:
        errs.add("nodes", "unsupported node types: " + ", ".join(sorted(set(unknown))))
    return clean


def _fmt_version(version: float) -> str:
    return str(int(version)) if float(version).is_integer() else str(version)


def _validate_connections(
    connections: Any, nodes: list[dict[str, Any]], registry: NodeRegistry, errs: _Errors
) -> dict[str, Any]:
    if connections is None:
        return {}
    if not isinstance(connections, dict):
        errs.add("connections", "must be an object keyed by source node name")
        return {}
    by_name = {n["name"]: n for n in nodes}
    clean: dict[str, Any] = {}
    for source, by_type in connections.items():
        where = f"connections.{source}"
        node = by_name.get(source)
        if node is None:
            errs.add(where, f"source node {source!r} does not exist")
            continue
        if not isinstance(by_type, dict):
            errs.add(where, f'node {source!r}: must be an object like {{"main": [[...]]}}')
            continue
        node_type = registry.get(node["type"])
        assert node_type is not None
        outputs = node_type.output_count(node) + (1 if node.get("onError") == "continueErrorOutput" else 0)
        clean_types: dict[str, Any] = {}
        for conn_type, per_output in by_type.items():
            if conn_type != "main":
                errs.add(f"{where}.{conn_type}", f"node {source!r}: only `main` connections are supported")
                continue
            if not isinstance(per_output, list):
                errs.add(f"{where}.main", f"node {source!r}: must be a list (one entry per output)")
                continue
            if len([o for o in per_output if o]) and len(per_output) > outputs and any(per_output[outputs:]):
                errs.add(
                    f"{where}.main",
                    f"node {source!r}: has {outputs} output(s); connections use output {len(per_output) - 1}",
                )
                continue
            clean_out: list[list[dict[str, Any]]] = []
            for o, targets in enumerate(per_output):
                if targets is None:
                    clean_out.append([])
                    continue
                if not isinstance(targets, list):
                    errs.add(f"{where}.main[{o}]", f"node {source!r}: must be a list of connections")
                    continue
                row = []
                for c, conn in enumerate(targets):
                    cw = f"{where}.main[{o}][{c}]"
                    if not isinstance(conn, dict):
                        errs.add(cw, f"node {source!r}: connection must be an object")
                        continue
                    target = conn.get("node")
                    target_node = by_name.get(target) if isinstance(target, str) else None
                    if target_node is None:
                        errs.add(f"{cw}.node", f"node {source!r}: target node {target!r} does not exist")
                        continue
                    index = conn.get("index", 0)
                    target_type = registry.get(target_node["type"])
                    assert target_type is not None
                    inputs = target_input_count(target_type, target_node)
                    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < inputs:
                        errs.add(
                            f"{cw}.index",
                            f"node {source!r}: input index {index!r} of {target!r} must be 0..{inputs - 1}",
                        )
                        continue
                    if target_type.is_trigger and not target_type.inputs:
                        errs.add(f"{cw}.node", f"node {source!r}: trigger {target!r} cannot have inputs")
                        continue
                    row.append({"node": target, "type": "main", "index": index})
                clean_out.append(row)
            clean_types["main"] = clean_out
        clean[source] = clean_types
    return clean


def target_input_count(node_type: NodeType, node: Mapping[str, Any]) -> int:
    """Inputs of a node: Merge's ``numberInputs`` or the type's fixed count."""
    if node_type.inputs > 1:
        count = (node.get("parameters") or {}).get("numberInputs", node_type.inputs)
        return count if isinstance(count, int) and not isinstance(count, bool) else node_type.inputs
    return max(node_type.inputs, 1)


def _validate_settings(settings: Any, errs: _Errors) -> dict[str, Any]:
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        errs.add("settings", "must be an object")
        return {}
    for key, kinds in _SETTING_TYPES.items():
        if (
            key in settings
            and settings[key] is not None
            and (not isinstance(settings[key], kinds) or (bool not in kinds and isinstance(settings[key], bool)))
        ):
            errs.add(f"settings.{key}", f"has the wrong type ({type(settings[key]).__name__})")
    # n8n's saving settings; "DEFAULT" (n8n's editor writes it) means the instance default.
    for key in ("saveDataErrorExecution", "saveDataSuccessExecution"):
        if isinstance(settings.get(key), str) and settings[key] not in ("all", "none", "DEFAULT"):
            errs.add(f"settings.{key}", "must be `all`, `none` or `DEFAULT`")
    for key in ("saveManualExecutions", "saveExecutionProgress"):
        if isinstance(settings.get(key), str) and settings[key] != "DEFAULT":
            errs.add(f"settings.{key}", "has the wrong type (str): must be true, false or `DEFAULT`")
    timeout: Any = settings.get("executionTimeout")
    if _is_number(timeout) and timeout != -1 and timeout <= 0:
        errs.add("settings.executionTimeout", "must be a positive number of seconds, or -1 for none")
    limit = settings.get("concurrencyLimit")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit < 0:
        errs.add("settings.concurrencyLimit", "must be a whole number ≥ 0 (0: no limit of its own)")
    if settings.get("executionOrder") not in (None, "v0", "v1"):
        errs.add("settings.executionOrder", "must be `v0` or `v1`")
    if settings.get("callerPolicy") not in (None, *CALLER_POLICIES):
        errs.add("settings.callerPolicy", f"must be one of {', '.join(CALLER_POLICIES)}")
    try:
        ExecutionRetry.of(settings.get("executionRetry"))
    except ParameterError as exc:
        errs.add(f"settings.{exc.parameter}", exc.message)
    return dict(settings)
