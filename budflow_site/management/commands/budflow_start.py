"""``manage.py budflow_start``: run web (daphne), worker (qcluster) and timers together.

Ctrl-C (or SIGTERM) stops all three; if one dies, the others are stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start BudFlow's web, worker and timer processes in the foreground."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("BUDFLOW_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("BUDFLOW_PORT", "8000")))

    def handle(self, *args: Any, **options: Any) -> None:
        from executions.services.pruning import prune_schedule_ensure

        prune_schedule_ensure()  # the pruning task's interval follows BUDFLOW_PRUNE_INTERVAL_MINUTES
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        commands = {
            "web": [
                python,
                "-m",
                "daphne",
                "-b",
                options["host"],
                "-p",
                str(options["port"]),
                "budflow_site.asgi:application",
            ],
            "worker": [python, manage, "qcluster"],
            "timers": [python, manage, "budflow_timers"],
        }
        procs: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, cmd in commands.items():
            procs[name] = subprocess.Popen(cmd, cwd=settings.BASE_DIR)
        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nBudFlow is running ({'Redis + ' if settings.REDIS_URL else 'embedded default: '}"
                f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}):\n"
                f"  admin     {base}/admin/\n"
                f"  API docs  {base}/api/docs/\n"
                f"  API       {base}/api/workflows/\n"
                "Press Ctrl-C to stop web, worker and timers.\n"
            )
        )
        exit_code = 0
        try:
            while not stopping:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping the others")
                        exit_code = proc.returncode or 1
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
        if exit_code:
            sys.exit(exit_code)
