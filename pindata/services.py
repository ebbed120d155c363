"""Services that write pins: set (replace), delete, pin a past output, import from n8n."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from pindata.models import PinData, PinDataType
from pindata.selectors import cache_key
from pindata.validation import checksum, clean_pin_items
from workflows.errors import InvalidInput, NotFound
from workflows.interchange import workflow_import
from workflows.models import Workflow


def _invalidate(workflow_id: int) -> None:
    transaction.on_commit(lambda: cache.delete(cache_key(workflow_id)))


def _node(workflow: Workflow, node_name: str) -> dict[str, Any]:
    node = next((n for n in workflow.nodes if n.get("name") == node_name), None)
    if node is None:
        raise InvalidInput(f"node {node_name!r} does not exist in workflow {workflow.pk}", field="node_name")
    return node


def pin_set(
    *,
    workflow: Workflow,
    node_name: str,
    data: Any,
    user: AbstractBaseUser | AnonymousUser | None,
    data_type: str = PinDataType.SAMPLE,
    expires_in_hours: float | None = None,
    output_index: int = 0,
    mask: bool = True,
) -> PinData:
    """Pin ``data`` as the node's output (replacing an active pin of that output)."""
    _node(workflow, node_name)
    if data_type not in PinDataType.values:
        raise InvalidInput(f"must be one of {', '.join(PinDataType.values)}", field="data_type")
    if expires_in_hours is not None and (isinstance(expires_in_hours, bool) or not expires_in_hours > 0):
        raise InvalidInput("must be a number of hours > 0", field="expires_in_hours")
    if not isinstance(output_index, int) or isinstance(output_index, bool) or not 0 <= output_index < 64:
        raise InvalidInput("must be an output index from 0 to 63", field="output_index")
    items, metadata = clean_pin_items(data, mask=mask)
    now = timezone.now()
    with transaction.atomic():
        # The workflow row lock serialises concurrent pin writes of one workflow, so exactly
        # one pin per output stays active (the partial unique constraint backs this up).
        Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
        PinData.objects.filter(
            workflow=workflow, node_name=node_name, output_index=output_index, is_active=True
        ).update(is_active=False, deleted_at=now)
        pin = PinData.objects.create(
            workflow=workflow,
            node_name=node_name,
            output_index=output_index,
            data=items,
            data_type=data_type,
            checksum=checksum(items),
            metadata=metadata,
            expires_at=now + dt.timedelta(hours=float(expires_in_hours)) if expires_in_hours else None,
            created_by=user if isinstance(user, User) else None,
        )
        _invalidate(workflow.pk)
    return pin


def pin_delete(*, workflow: Workflow, node_name: str) -> int:
    """Deactivate the node's active pins (every output); returns how many."""
    with transaction.atomic():
        count = PinData.objects.filter(workflow=workflow, node_name=node_name, is_active=True).update(
            is_active=False, deleted_at=timezone.now()
        )
        _invalidate(workflow.pk)
    if not count:
        raise NotFound(f"node {node_name!r} has no pin data")
    return count


def pin_deactivate(*, pin: PinData) -> None:
    with transaction.atomic():
        PinData.objects.filter(pk=pin.pk, is_active=True).update(is_active=False, deleted_at=timezone.now())
        _invalidate(pin.workflow_id)


def pins_import(
    *, workflow: Workflow, pin_data: dict[str, Any], user: AbstractBaseUser | AnonymousUser | None
) -> list[PinData]:
    """n8n's ``pinData`` (``{node: [items]}``), as exported, pinned without masking."""
    pins = []
    for node_name, items in pin_data.items():
        try:
            pins.append(pin_set(workflow=workflow, node_name=node_name, data=items, user=user, mask=False))
        except InvalidInput as exc:
            raise InvalidInput(f"pinData.{node_name}: {exc.message}", field=f"pinData.{node_name}") from None
    return pins


def pins_export(*, workflow: Workflow) -> dict[str, list[dict[str, Any]]]:
    """Active pins of output 0 as n8n's ``pinData``."""
    now = timezone.now()
    out: dict[str, list[dict[str, Any]]] = {}
    for pin in PinData.objects.filter(workflow=workflow, is_active=True, output_index=0):
        if pin.expires_at is None or pin.expires_at > now:
            out[pin.node_name] = pin.data
    return out


@transaction.atomic
def n8n_import(*, owner: User, data: Any, activate: bool | None = None) -> Workflow:
    """An n8n workflow JSON with its ``pinData``: the workflow, then its pins, all or nothing."""
    workflow, pin_data = workflow_import(owner=owner, data=data, activate=activate)
    pins_import(workflow=workflow, pin_data=pin_data, user=owner)
    return workflow
