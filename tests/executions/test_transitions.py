"""Status changes go through one table; an illegal one is refused and changes nothing."""

from __future__ import annotations

import pytest

from executions.choices import TRANSITIONS, ExecutionStatus
from executions.models import Execution
from executions.transitions import set_status
from workflows.errors import Conflict


@pytest.mark.parametrize("current", list(ExecutionStatus))
@pytest.mark.parametrize("new", list(ExecutionStatus))
def test_transition_table_is_enforced(current, new):
    execution = Execution(pk=1, status=current)
    if new in TRANSITIONS[current]:
        set_status(execution, new)
        assert execution.status == new
    else:
        with pytest.raises(Conflict):
            set_status(execution, new)
        assert execution.status == current


def test_terminal_statuses_are_final():
    for status in (ExecutionStatus.SUCCESS, ExecutionStatus.ERROR, ExecutionStatus.CANCELED, ExecutionStatus.CRASHED):
        assert TRANSITIONS[status] == frozenset()
