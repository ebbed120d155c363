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
