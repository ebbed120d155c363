"""The one place execution status changes are checked (the table is ``choices.TRANSITIONS``)."""

from __future__ import annotations

from executions.choices import TRANSITIONS
from executions.models import Execution
from workflows.errors import Conflict


def set_status(execution: Execution, new_status: str) -> None:
    """Move ``execution`` (a row the caller has locked) to ``new_status``, or refuse with 409.

    Only services call this, inside the transaction that saves the row and records the event.
    """
    if new_status not in TRANSITIONS[execution.status]:
        raise Conflict(f"execution {execution.pk} is {execution.status}; it cannot become {new_status}")
    execution.status = new_status
