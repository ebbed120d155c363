"""Shared plumbing of the benchmarks that run real BudFlow processes.

Each benchmark gets its own PostgreSQL database and Redis database (or a SQLite file), migrated
fresh, and starts web / worker / timer processes against it; everything is stopped on exit.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://budflow:budflow@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")


def prepare_environment(name: str, backend: str = "postgres") -> dict[str, str]:
    """Create an empty database for the run and set the env so django.setup() uses it."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"budflow-bench-{name}-"))
    env = {
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "BUDFLOW_DATA_DIR": str(data_dir),
        "BUDFLOW_QUEUE_NAME": f"bench-{name}-{os.getpid()}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    if backend == "postgres":
        import psycopg

        db = f"budflow_bench_{name}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db}"')
        env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"
        env["REDIS_URL"] = REDIS_URL
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budflow_site.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if backend != "postgres":
        call_command("createcachetable", verbosity=0)
    return env


@contextlib.contextmanager
def processes(*commands: list[str], env_extra: dict[str, str] | None = None) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``manage.py`` commands (each in its own process group) and stop them all on exit.

    A command starting with ``-m`` runs that module instead (``["-m", "daphne", ...]``).
    """
    env = {**os.environ, **(env_extra or {})}
    procs = [
        subprocess.Popen(
            [sys.executable, *(cmd if cmd[0] == "-m" else [str(ROOT / "manage.py"), *cmd])],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for cmd in commands
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()  # the parent stops its own children; leftovers are killed below
        deadline = time.monotonic() + 15
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def noop_chain(owner, name: str, length: int, digits: int = 3):  # type: ignore[no-untyped-def]
    """A manual trigger followed by ``length - 1`` noOp nodes in a line; returns it and the names."""
    from workflows.services import workflow_create

    names = ["Start"] + [f"Step {i:0{digits}d}" for i in range(1, length)]
    nodes = [
        {
            "name": "Start",
            "type": "n8n-nodes-base.manualTrigger",
            "typeVersion": 1,
            "position": [0, 0],
            "parameters": {},
        }
    ]
    nodes += [
        {"name": n, "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [200 * i, 0], "parameters": {}}
        for i, n in enumerate(names[1:], start=1)
    ]
    connections = {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in itertools.pairwise(names)}
    return workflow_create(owner=owner, name=name, nodes=nodes, connections=connections), names
