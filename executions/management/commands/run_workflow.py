"""``manage.py run_workflow ID|FILE [--input JSON]``: run a workflow here, with per-node progress."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from executions.choices import ExecutionMode
from executions.models import Execution, ExecutionEvent
from executions.selectors import run_data_of
from executions.services import execution_create
from executions.services.worker import execution_run
from pindata.management.commands.import_workflow import load_json, owner_from
from pindata.services import n8n_import
from workflows.engine.errors import WorkflowValidationError
from workflows.errors import ServiceError
from workflows.models import Workflow

BAR = 24


class Command(BaseCommand):
    help = "Run a workflow (by id, or an n8n JSON file to import first) in this process and print its result."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("workflow", help="workflow id, or path to an n8n workflow JSON file")
        parser.add_argument("--input", help="input items as JSON (a list of objects, or one object)")
        parser.add_argument("--owner", help="owner for an imported file (default: the first superuser)")
        parser.add_argument("--trigger", help="trigger node to start from")

    def handle(self, *args: Any, **options: Any) -> None:
        workflow = self._workflow(options)
        input_data = None
        if options["input"]:
            try:
                input_data = json.loads(options["input"])
            except ValueError as exc:
                raise CommandError(f"--input is not valid JSON: {exc}") from None
        try:
            execution = execution_create(
                workflow=workflow,
                user=None,
                mode=ExecutionMode.CLI,
                trigger_node=options["trigger"],
                input_data=input_data,
                defer_enqueue=True,
            )
        except ServiceError as exc:
            raise CommandError(f"{exc.field or 'error'}: {exc.message}") from None
        total = len(workflow.nodes)
        runner = threading.Thread(target=self._run, args=(execution.pk,), daemon=True)
        runner.start()
        seen = 0
        while True:
            alive = runner.is_alive()
            for event in ExecutionEvent.objects.filter(execution_id=execution.pk, sequence__gt=seen).order_by(
                "sequence"
            ):
                seen = event.sequence
                self._progress(event, total)
            if not alive:
                break
            time.sleep(0.05)
        execution = Execution.objects.get(pk=execution.pk)
        self.stderr.write(f"execution {execution.pk}: {execution.status}")
        run_data = run_data_of(execution)
        last = run_data.get(execution.last_node_executed, [{}])[-1]
        items = [item.get("json") for item in ((last.get("data") or {}).get("main") or [[]])[0]]
        self.stdout.write(json.dumps(items, indent=2, default=str))
        if execution.status != "success":
            raise CommandError(f"the execution ended {execution.status}: {(execution.error or {}).get('message')}")

    def _workflow(self, options: dict[str, Any]) -> Workflow:
        ref = options["workflow"]
        if ref.isdigit():
            workflow = Workflow.objects.filter(pk=int(ref)).first()
            if workflow is None:
                raise CommandError(f"no workflow with id {ref}")
            return workflow
        try:
            workflow = n8n_import(owner=owner_from(options["owner"]), data=load_json(ref), activate=False)
        except WorkflowValidationError as exc:
            raise CommandError(f"invalid workflow: {exc}") from None
        return workflow

    @staticmethod
    def _run(execution_id: int) -> None:
        try:
            execution_run(execution_id=execution_id)
        finally:
            close_old_connections()

    def _progress(self, event: ExecutionEvent, total: int) -> None:
        if event.type not in ("node_finished", "node_error"):
            return
        done = event.data.get("execution_index", 0) + 1
        filled = min(BAR, int(BAR * done / max(total, 1)))
        mark = "ok" if event.type == "node_finished" else "FAILED"
        items = "/".join(str(n) for n in event.data.get("items") or []) or "0"
        self.stderr.write(
            f"[{'#' * filled}{'.' * (BAR - filled)}] {event.data.get('node_name')}: {mark} "
            f"({items} items, {event.data.get('execution_time_ms', 0):.1f} ms)"
        )
