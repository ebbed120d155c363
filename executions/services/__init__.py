"""Services: the only code that changes executions. Each status change publishes its event."""

from executions.services.lifecycle import (
    execution_claim,
    execution_create,
    execution_delete,
    execution_finish,
    execution_stop,
    execution_wait,
)

__all__ = [
    "execution_claim",
    "execution_create",
    "execution_delete",
    "execution_finish",
    "execution_stop",
    "execution_wait",
]
