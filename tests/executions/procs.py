"""Helpers to run BudFlow processes (worker, timers, web) against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created (so child processes share it)."""
    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or ""
    password = conf.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{conf.get('HOST') or '127.0.0.1'}:{conf.get('PORT') or 5432}/{conf['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": test_database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "BUDFLOW_DATA_DIR": str(settings.DATA_DIR),
            "BUDFLOW_QUEUE_NAME": str(settings.Q_CLUSTER["name"]),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal a child's whole process group (a killed qcluster must not leave workers behind)."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


@contextmanager
def running(*args: str, ready: float = 0.0, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``manage.py <args>`` for the duration of the block; stopped with SIGTERM, then SIGKILL."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=child_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: qcluster's children go with it
    )
    try:
        if ready:
            time.sleep(ready)
            assert proc.poll() is None, (proc.stderr.read() if proc.stderr else b"").decode()[-3000:]
        yield proc
    finally:
        proc.terminate()  # the parent shuts its children down cleanly; the group is killed after
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
            proc.wait()
        # Whatever the process left behind (forked workers) goes too.
        signal_group(proc, signal.SIGKILL)
        if proc.stderr is not None:
            proc.stderr.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def daphne(port: int | None = None, **env: str) -> Iterator[int]:
    """Serve ``budflow_site.asgi`` with daphne on loopback (a free port by default); yields the port."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "budflow_site.asgi:application"],
        cwd=ROOT,
        env=child_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, (proc.stderr.read() if proc.stderr else b"").decode()[-3000:]
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "daphne did not start"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
