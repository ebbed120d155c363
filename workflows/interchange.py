"""n8n workflow JSON in and out: import keeps n8n's id as an alias, export is what n8n imports."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from workflows.errors import InvalidInput
from workflows.models import Workflow
from workflows.services import workflow_create

N8N_KEYS = (
    "name",
    "nodes",
    "connections",
    "settings",
    "active",
    "id",
    "pinData",
    "meta",
    "tags",
    "staticData",
    "versionId",
    "createdAt",
    "updatedAt",
    "triggerCount",
    "isArchived",
)


@transaction.atomic
def workflow_import(*, owner: User, data: Any, activate: bool | None = None) -> tuple[Workflow, dict[str, Any]]:
    """Create a workflow from n8n JSON. Returns it and the file's ``pinData`` (``{}`` when none).

    ``executionOrder: "v0"`` workflows import and run with v1 order; the settings keep a warning.
    """
    if not isinstance(data, dict):
        raise InvalidInput("an n8n workflow must be a JSON object", field="body")
    pin_data = data.get("pinData") or {}
    if not isinstance(pin_data, dict):
        raise InvalidInput("pinData must be an object keyed by node name", field="pinData")
    settings = data.get("settings") or {}
    if isinstance(settings, dict) and settings.get("executionOrder", "v0") == "v0":
        settings = {
            **settings,
            "executionOrder": "v1",
            "budflowImportWarning": "imported from executionOrder v0; runs with v1 order",
        }
    n8n_id = data.get("id")
    if n8n_id is not None and not isinstance(n8n_id, (str, int)):
        raise InvalidInput("id must be a string", field="id")
    active = bool(data.get("active")) if activate is None else activate
    workflow = workflow_create(
        owner=owner,
        name=data.get("name") or "Imported workflow",
        nodes=data.get("nodes"),
        connections=data.get("connections"),
        settings=settings,
        active=active,
        n8n_id=str(n8n_id or ""),
    )
    if isinstance(data.get("staticData"), dict):
        workflow.static_data = data["staticData"]
        workflow.save(update_fields=["static_data"])
    return workflow, pin_data


def workflow_export(*, workflow: Workflow, pin_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The workflow as n8n JSON (node ``credentials`` references and BudFlow-only fields kept)."""
    return {
        "id": workflow.n8n_id or str(workflow.pk),
        "name": workflow.name,
        "nodes": workflow.nodes,
        "connections": workflow.connections,
        "settings": workflow.settings,
        "active": workflow.active,
        "pinData": pin_data or {},
        "staticData": workflow.static_data or None,
        "meta": {"budflowId": workflow.pk, "budflowVersion": workflow.version},
    }


def workflow_resolve(*, owner_id: int, reference: str | int) -> Workflow | None:
    """A workflow by BudFlow id or by the n8n id it was imported with (the owner's first)."""
    text = str(reference).strip()
    qs = Workflow.objects.filter(owner_id=owner_id)
    if text.isdigit():
        found = qs.filter(pk=int(text)).first()
        if found:
            return found
    return qs.filter(n8n_id=text).order_by("id").first()
