"""``manage.py budflow_timers``: BudFlow's timer process, run beside ``qcluster``.

It resumes due waits and fires due Schedule Triggers on time (sleeping until the earliest one instead of polling on
a coarse tick), sweeps expired execution leases, re-queues executions no worker claimed and
cancels test webhooks nobody called and deletes unsaved manual runs. Several timer processes may run: every claim is a
compare-and-set or a ``skip_locked`` lock.

Continuations of due waits run here, in a pool of threads, for up to
``TIMER_RUN_BUDGET_SECONDS``; then they are checkpointed and handed to the workers. So a due
wait is not late behind a backlog of new executions in the workers' queue, and a long
continuation still never blocks the timer.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone

from executions.services.concurrency import concurrency_start_queued
from executions.services.pauses import pauses_fire_due, pauses_next_due
from executions.services.pruning import prune_unsaved
from executions.services.schedules import schedules_fire_due, schedules_next_due
from executions.services.subworkflow_waits import subworkflows_settle_stale
from executions.services.sweeper import (
    expire_webhook_listeners,
    requeue_unclaimed,
    start_due,
    sweep_expired_leases,
)
from executions.services.worker import execution_run


class Command(BaseCommand):
    help = "Run BudFlow's timer loop (schedules, lease sweeper, lost tasks, test webhook expiry, unsaved manual runs)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        poll = float(settings.BUDFLOW["TIMER_POLL_SECONDS"])
        pool = ThreadPoolExecutor(max_workers=int(settings.BUDFLOW["TIMER_THREADS"]), thread_name_prefix="continue")
        budget = float(settings.BUDFLOW["TIMER_RUN_BUDGET_SECONDS"])

        def run_continuation(execution_id: int) -> None:
            try:
                execution_run(execution_id=execution_id, budget_seconds=budget)
            except Exception as exc:  # the lease expires and the sweeper recovers the run
                self.stderr.write(f"budflow_timers: continuation of {execution_id} failed: {exc!r}")
            finally:
                connection.close()

        def dispatch(execution_id: int) -> None:
            pool.submit(run_continuation, execution_id)

        sweep_every = max(poll, float(settings.BUDFLOW["LEASE_SECONDS"]) / 6)
        last_sweep = 0.0
        self.stdout.write(f"budflow_timers: polling every {poll}s, sweeping every {sweep_every:.1f}s")
        while not stop.is_set():
            close_old_connections()
            try:
                pauses_fire_due(dispatch=dispatch if budget > 0 else None)
                schedules_fire_due()
                start_due()
                if time.monotonic() - last_sweep >= sweep_every:
                    sweep_expired_leases()
                    requeue_unclaimed()
                    concurrency_start_queued()
                    expire_webhook_listeners()
                    prune_unsaved()
                    subworkflows_settle_stale()
                    last_sweep = time.monotonic()
                dues = [d for d in (pauses_next_due(), schedules_next_due()) if d is not None]
                next_due = min(dues) if dues else None
            except Exception as exc:  # keep the loop alive through a database restart
                self.stderr.write(f"budflow_timers: pass failed: {exc!r}")
                next_due = None
            if options["once"]:
                break
            delay = poll
            if next_due is not None:
                delay = min(poll, max(0.0, (next_due - timezone.now()).total_seconds()))
            stop.wait(delay)
        pool.shutdown(wait=True, cancel_futures=False)
