"""``manage.py budflow_prune``: run one pruning pass now (the same as the scheduled task)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from executions.services.pruning import executions_prune, prune_schedule_ensure


class Command(BaseCommand):
    help = "Delete unsaved executions and prune ended ones by age and count (soft, then hard delete)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--schedule", action="store_true", help="Only create or update the scheduled pruning task.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["schedule"]:
            schedule = prune_schedule_ensure()
            self.stdout.write(f"pruning scheduled every {schedule.minutes} minutes")  # type: ignore[attr-defined]
            return
        counts = executions_prune()
        self.stdout.write(
            f"unsaved deleted: {counts['unsaved']}, soft-deleted: {counts['soft_deleted']}, "
            f"hard-deleted: {counts['hard_deleted']}"
        )
