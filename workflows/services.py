"""Services that write workflows. Validation of the graph happens here, in one place."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from workflows.activation import triggers_sync
from workflows.engine.registry import default_registry
from workflows.engine.validation import validate_workflow
from workflows.errors import InvalidInput
from workflows.models import Workflow
from workflows.selectors import error_workflow_resolve

MAX_NAME = 200


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name must be a non-empty string", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"name is longer than {MAX_NAME} characters", field="name")
    return name.strip()


def _check_error_workflow(owner: User, settings: dict[str, Any]) -> None:
    """``settings.errorWorkflow`` must name a workflow the owner may use (its own; any for staff)."""
    reference = settings.get("errorWorkflow")
    if reference in (None, ""):
        return
    if error_workflow_resolve(owner=owner, reference=reference) is None:
        raise InvalidInput(
            f"no workflow {reference!r} that the owner may use as error workflow", field="settings.errorWorkflow"
        )


@transaction.atomic
def workflow_create(
    *,
    owner: User,
    name: Any,
    nodes: Any = None,
    connections: Any = None,
    settings: Any = None,
    active: bool = False,
    n8n_id: str = "",
) -> Workflow:
    """Validate an n8n-format definition and store it for ``owner``."""
    clean_name = _clean_name(name)
    clean_nodes, clean_connections, clean_settings = validate_workflow(
        # ``None`` means "absent"; any other value, even a falsy one of the wrong type, is validated.
        nodes if nodes is not None else [],
        connections if connections is not None else {},
        settings if settings is not None else {},
        default_registry(),
    )
    _check_error_workflow(owner, clean_settings)
    workflow = Workflow.objects.create(
        owner=owner,
        name=clean_name,
        nodes=clean_nodes,
        connections=clean_connections,
        settings=clean_settings,
        active=bool(active),
        n8n_id=n8n_id,
    )
    if workflow.active:
        triggers_sync(workflow=workflow)
    return workflow


@transaction.atomic
def workflow_update(*, workflow: Workflow, **changes: Any) -> Workflow:
    """Apply ``changes`` (any of name, nodes, connections, settings, active); bump the version."""
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    if "name" in changes:
        locked.name = _clean_name(changes["name"])
    graph_keys = {"nodes", "connections", "settings"} & changes.keys()
    if graph_keys:
        nodes, connections, settings = validate_workflow(
            changes.get("nodes", locked.nodes),
            changes.get("connections", locked.connections),
            changes.get("settings", locked.settings),
            default_registry(),
        )
        # Checked only when it changes: a deleted error workflow must not block unrelated edits.
        if settings.get("errorWorkflow") != (locked.settings or {}).get("errorWorkflow"):
            _check_error_workflow(locked.owner, settings)
        if (nodes, connections, settings) != (locked.nodes, locked.connections, locked.settings):
            locked.version += 1
        locked.nodes, locked.connections, locked.settings = nodes, connections, settings
    if "active" in changes:
        locked.active = bool(changes["active"])
    locked.save()
    triggers_sync(workflow=locked)
    return locked


def workflow_delete(*, workflow: Workflow) -> None:
    """Delete a workflow and (by cascade) its executions."""
    workflow.delete()
