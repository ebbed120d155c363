"""Reads of workflows, scoped to what a user may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from workflows.models import Workflow


def workflows_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Workflow]:
    """Staff see every workflow; everyone else only their own (others' look like 404s)."""
    qs = Workflow.objects.select_related("owner")
    if getattr(user, "is_staff", False):
        return qs
    return qs.filter(owner_id=user.pk)


def error_workflow_resolve(*, owner: AbstractBaseUser, reference: object) -> Workflow | None:
    """The workflow a workflow's ``errorWorkflow`` setting names, if its owner may use it.

    ``reference`` is a BudFlow id or the n8n id a workflow was imported with (the owner's
    own first). Staff owners may name any workflow; others only their own.
    """
    text = str(reference).strip() if isinstance(reference, (str, int)) and not isinstance(reference, bool) else ""
    if not text:
        return None
    qs = workflows_visible_to(owner)
    if text.isascii() and text.isdigit() and int(text) < 2**63:
        found = qs.filter(pk=int(text)).first()
        if found is not None:
            return found
    by_alias = qs.filter(n8n_id=text).order_by("id")
    return by_alias.filter(owner_id=owner.pk).first() or by_alias.first()


def workflow_static_data(workflow_id: int) -> dict[str, object]:
    """A workflow's static data (``$getWorkflowStaticData``): ``{"global": {...}, "node:<name>": {...}}``."""
    data = Workflow.objects.filter(pk=workflow_id).values_list("static_data", flat=True).first()
    return data if isinstance(data, dict) else {}
