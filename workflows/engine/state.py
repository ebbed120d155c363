"""The serialisable execution state and the records of node runs.

Everything a run needs to continue lives in :class:`ExecutionState` (what to run next,
multi-input buffers, counters) plus the run data (:class:`NodeRunRecord` per node per run).
Task inputs that are exactly a stored node output are serialised as references to it, so a
checkpoint costs the size of the frontier's *metadata*, not of its items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.engine.errors import StateError

STATE_VERSION = 1

Item = dict[str, Any]
Items = list[Item]
Source = dict[str, Any]  # {"previousNode", "previousNodeOutput", "previousNodeRun"}


@dataclass(slots=True)
class Task:
    """A node to run: its input items per input index and where each input came from."""

    node: str
    inputs: list[Items | None]
    source: list[Source | None]
    run_index: int | None = None  # fixed when a paused task is continued
    resume: dict[str, Any] | None = None  # data injected when a pause is resumed


@dataclass(slots=True)
class NodeRunRecord:
    """One run of one node: the engine's view of a NodeRun row."""

    node: str
    node_type: str
    run_index: int
    execution_index: int
    status: str
    start_time: float
    execution_time_ms: float
    source: list[Source | None]
    output: list[Items] | None
    error: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def item_counts(self) -> list[int]:
        return [len(out) for out in self.output or []]


RunData = dict[str, list[NodeRunRecord]]


@dataclass(slots=True)
class PauseRequest:
    """A node asks the run to stop here and continue later (wait, approval, sub-workflow)."""

    node: str
    pause_type: str
    run_index: int
    due_at: float | None = None  # epoch seconds, for timed resumes
    expires_at: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ExecutionState:
    """The resumable state of one execution (JSON-serialisable through ``to_dict``)."""

    stack: list[Task] = field(default_factory=list)
    waiting: dict[str, list[Task]] = field(default_factory=dict)
    execution_index: int = 0
    node_runs: int = 0
    last_node: str | None = None
    destination: str | None = None
    destination_mode: str = "inclusive"
    node_filter: list[str] | None = None
    custom_data: dict[str, Any] = field(default_factory=dict)
    pause: dict[str, Any] | None = None
    pause_sequence: int = 0

    # -- serialisation ---------------------------------------------------------------
    def to_dict(self, run_data: RunData) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "stack": [_task_to_dict(t, run_data) for t in self.stack],
            "waiting": {node: [_task_to_dict(t, run_data) for t in tasks] for node, tasks in self.waiting.items()},
            "execution_index": self.execution_index,
            "node_runs": self.node_runs,
            "last_node": self.last_node,
            "destination": self.destination,
            "destination_mode": self.destination_mode,
            "node_filter": self.node_filter,
            "custom_data": self.custom_data,
            "pause": self.pause,
            "pause_sequence": self.pause_sequence,
        }

    @classmethod
    def from_dict(cls, data: Any, run_data: RunData) -> ExecutionState:
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise StateError("saved execution state is missing or of an unknown version")
        try:
            return cls(
                stack=[_task_from_dict(t, run_data) for t in data["stack"]],
                waiting={
                    node: [_task_from_dict(t, run_data) for t in tasks] for node, tasks in data["waiting"].items()
                },
                execution_index=int(data["execution_index"]),
                node_runs=int(data["node_runs"]),
                last_node=data.get("last_node"),
                destination=data.get("destination"),
                destination_mode=data.get("destination_mode") or "inclusive",
                node_filter=data.get("node_filter"),
                custom_data=dict(data.get("custom_data") or {}),
                pause=data.get("pause"),
                pause_sequence=int(data.get("pause_sequence") or 0),
            )
        except StateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(f"saved execution state is corrupted: {exc!r}") from exc


def _task_to_dict(task: Task, run_data: RunData) -> dict[str, Any]:
    inputs: list[Any] = []
    for items, src in zip(task.inputs, task.source, strict=True):
        inputs.append(_ref_or_items(items, src, run_data))
    data: dict[str, Any] = {"node": task.node, "inputs": inputs, "source": task.source}
    if task.run_index is not None:
        data["run_index"] = task.run_index
    if task.resume is not None:
        data["resume"] = task.resume
    return data


def _ref_or_items(items: Items | None, src: Source | None, run_data: RunData) -> Any:
    if items is None:
        return None
    if src is not None:
        runs = run_data.get(src["previousNode"])
        run = src.get("previousNodeRun", 0)
        out = src.get("previousNodeOutput", 0)
        if runs and run < len(runs):
            output = runs[run].output
            # Identity, not equality: the task holds exactly that stored list.
            if output is not None and out < len(output) and output[out] is items:
                return {"$ref": [src["previousNode"], run, out]}
    return {"items": items}


def _task_from_dict(data: dict[str, Any], run_data: RunData) -> Task:
    inputs: list[Items | None] = []
    for entry in data["inputs"]:
        if entry is None:
            inputs.append(None)
        elif "$ref" in entry:
            node, run, out = entry["$ref"]
            try:
                output = run_data[node][run].output
                assert output is not None
                inputs.append(output[out])
            except (KeyError, IndexError, AssertionError) as exc:
                raise StateError(
                    f"saved state refers to output {out} of run {run} of node {node!r}, which is not stored"
                ) from exc
        else:
            items = entry["items"]
            if not isinstance(items, list):
                raise StateError("saved task input is not a list of items")
            inputs.append(items)
    source = list(data["source"])
    if len(source) != len(inputs):
        raise StateError("saved task has mismatched inputs and sources")
    return Task(
        node=data["node"],
        inputs=inputs,
        source=source,
        run_index=data.get("run_index"),
        resume=data.get("resume"),
    )
