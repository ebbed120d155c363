"""Who may see and decide what (API.md, "Who may see and decide")."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, PermissionsMixin
from django.db.models import Q

from executions.choices import ExecutionStatus, PauseStatus, PauseType
from executions.models import Execution, ExecutionPause

User = AbstractBaseUser | AnonymousUser


def approver_tokens(user: User) -> list[str]:
    """How a user can be named in ``approvers``: their username and ``group:<name>`` per group."""
    if not user.is_authenticated:
        return []
    names = [f",{user.get_username()},"]
    if isinstance(user, PermissionsMixin):
        names.extend(f",group:{group}," for group in user.groups.values_list("name", flat=True))
    return names


def approval_visibility(user: User) -> Q:
    """Waiting approvals a non-owner may see: named approver, or the permission with no list."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    waiting = Q(
        status=ExecutionStatus.WAITING, pauses__status=PauseStatus.WAITING, pauses__pause_type=PauseType.APPROVAL
    )
    named = Q()
    for token in approver_tokens(user):
        named |= Q(pauses__approver_list__contains=token)
    visible = waiting & named if named else Q(pk__in=[])
    if isinstance(user, PermissionsMixin) and user.has_perm("executions.approve_pause"):
        visible |= waiting & Q(pauses__approver_list="")
    return visible


def is_owner(user: User, execution: Execution) -> bool:
    return user.is_authenticated and execution.workflow.owner_id == user.pk


def can_manage(user: User, execution: Execution) -> bool:
    """Resume a manual wait, stop, retry, delete: the owner and staff."""
    return bool(getattr(user, "is_staff", False)) or is_owner(user, execution)


def can_decide(user: User, execution: Execution, pause: ExecutionPause) -> bool:
    """Approve or reject a waiting approval."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False):
        return True
    if pause.approver_list:
        return any(token in pause.approver_list for token in approver_tokens(user))
    return is_owner(user, execution) or (
        isinstance(user, PermissionsMixin) and user.has_perm("executions.approve_pause")
    )
