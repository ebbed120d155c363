"""The serialisable execution state and the records of node runs.

Everything a run needs to continue lives in :class:`ExecutionState` (what to run next,
multi-input buffers, counters) plus the run data (:class:`NodeRunRecord` per node per run).
Task inputs that are exactly a stored node output are serialised as references to it, so a
checkpoint costs the size of the frontier's *metadata*, not of its items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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


class RunSummary(NamedTuple):
    """What a planner needs to know of a stored run without fetching its items."""

    run_index: int
    execution_index: int
    status: str
    has_output: bool


class LazyRunData(RunData):
    """Run data whose stored runs are fetched per node on first use.

    ``loaded`` is in memory; the runs of the ``pending`` nodes are fetched by ``load(name)`` the
    first time they are read (``[]``, ``get``, ``in``, ``setdefault``), so a run that touches a
    few stored outputs costs a few fetches, not the whole workflow's. ``summaries`` (optional)
    describe pending runs without fetching them. Iterating or sizing fetches everything.
    """

    __slots__ = ("_load", "_pending", "_summaries")

    def __init__(
        self,
        loaded: Mapping[str, list[NodeRunRecord]],
        pending: Iterable[str],
        load: Callable[[str], list[NodeRunRecord]],
        summaries: Mapping[str, list[RunSummary]] | None = None,
    ) -> None:
        super().__init__(loaded)
        self._pending = {name for name in pending if not dict.__contains__(self, name)}
        self._load = load
        self._summaries: Mapping[str, list[RunSummary]] = summaries or {}

    def __missing__(self, name: str) -> list[NodeRunRecord]:
        if name not in self._pending:
            raise KeyError(name)
        self._pending.discard(name)
        runs = self._load(name)
        dict.__setitem__(self, name, runs)
        return runs

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in self._pending

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def setdefault(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else super().setdefault(name, default)

    def fetch_all(self) -> None:
        for name in list(self._pending):
            self[name]

    def __iter__(self) -> Iterator[str]:
        self.fetch_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        return dict.__len__(self) + len(self._pending)

    def keys(self):  # type: ignore[no-untyped-def]
        self.fetch_all()
        return dict.keys(self)

    def values(self):  # type: ignore[no-untyped-def]
        self.fetch_all()
        return dict.values(self)

    def items(self):  # type: ignore[no-untyped-def]
        self.fetch_all()
        return dict.items(self)

    def known(self) -> set[str]:
        """Every node with runs here, fetched or not (fetches nothing)."""
        return set(super().keys()) | self._pending

    def fetched(self) -> RunData:
        """The runs in memory (a copy of the mapping; fetches nothing)."""
        return dict(dict.items(self))

    def summary(self, name: str) -> list[RunSummary]:
        if super().__contains__(name):
            return _summaries(super().__getitem__(name))
        if name in self._pending and name in self._summaries:
            return list(self._summaries[name])
        return _summaries(self.get(name) or [])

    def subset(self, names: Iterable[str]) -> LazyRunData:
        """The runs of ``names`` only, sharing the fetched records and the loader."""
        wanted = {name for name in names if name in self}
        fetched = self.fetched()
        return LazyRunData(
            {name: list(fetched[name]) for name in wanted if name in fetched},
            wanted & self._pending,
            self._load,
            {name: self._summaries[name] for name in wanted if name in self._summaries},
        )


def _summaries(runs: Iterable[NodeRunRecord]) -> list[RunSummary]:
    return [RunSummary(r.run_index, r.execution_index, r.status, r.output is not None) for r in runs]


def summarize(run_data: RunData, name: str) -> list[RunSummary]:
    """A node's runs described without fetching their items (see :class:`LazyRunData`)."""
    if isinstance(run_data, LazyRunData):
        return run_data.summary(name)
    return _summaries(run_data.get(name) or [])


def fetched_runs(run_data: RunData) -> RunData:
    """The runs already in memory (everything for plain run data)."""
    return run_data.fetched() if isinstance(run_data, LazyRunData) else run_data


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
    # Seconds the run has spent running (not waiting): what ``executionTimeout`` is measured on.
    active_seconds: float = 0.0

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
            "active_seconds": round(self.active_seconds, 3),
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
                active_seconds=float(data.get("active_seconds") or 0.0),
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
