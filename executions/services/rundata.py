"""Stored node runs in the engine's shape."""

from __future__ import annotations

from collections.abc import Iterable

from executions.models import NodeRun
from workflows.engine.state import NodeRunRecord, RunData


def records_of(rows: Iterable[NodeRun], reused_from: int | None = None) -> RunData:
    """Stored rows (in execution order) in the engine's shape, each node's runs by run index."""
    run_data: RunData = {}
    for row in rows:
        metadata = dict(row.metadata or {})
        if reused_from is not None:
            metadata["reused_from"] = reused_from
        runs = run_data.setdefault(row.node_name, [])
        record = NodeRunRecord(
            node=row.node_name,
            node_type=row.node_type,
            run_index=row.run_index,
            execution_index=row.execution_index,
            status=row.status,
            start_time=row.started_at.timestamp(),
            execution_time_ms=row.execution_time_ms,
            source=row.source,
            output=row.output,
            error=row.error,
            metadata=metadata,
        )
        while len(runs) < row.run_index:
            runs.append(record)  # placeholder; rows arrive in execution order
        if row.run_index < len(runs):
            runs[row.run_index] = record
        else:
            runs.append(record)
    return run_data
