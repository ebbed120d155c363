"""``manage.py budflow_timers``: the timer process (lease sweeper, lost tasks, later: due waits)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from executions.services.sweeper import requeue_unclaimed, sweep_expired_leases


class Command(BaseCommand):
    help = "Run BudFlow's timer loop beside qcluster: sweeps expired leases and re-queues lost tasks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        poll = settings.BUDFLOW["TIMER_POLL_SECONDS"]
        self.stdout.write(f"budflow_timers: polling every {poll}s")
        while not stop.is_set():
            close_old_connections()
            try:
                sweep_expired_leases()
                requeue_unclaimed()
            except Exception as exc:  # keep the loop alive through a database restart
                self.stderr.write(f"budflow_timers: pass failed: {exc!r}")
            if options["once"]:
                break
            stop.wait(poll)
