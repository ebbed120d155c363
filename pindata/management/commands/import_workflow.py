"""``manage.py import_workflow FILE``: import an n8n workflow JSON file (with its ``pinData``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from pindata.services import n8n_import
from workflows.engine.errors import WorkflowValidationError
from workflows.errors import ServiceError


def owner_from(username: str | None) -> User:
    if username:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        return user
    user = User.objects.filter(is_superuser=True).order_by("id").first()
    if user is None:
        raise CommandError("no superuser exists: pass --owner USERNAME")
    return user


def load_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CommandError(f"{path} is not valid JSON: {exc}") from None


class Command(BaseCommand):
    help = "Import an n8n workflow JSON file; prints the new workflow's id."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--owner", help="username of the owner (default: the first superuser)")
        parser.add_argument("--activate", action="store_true", help="activate it (webhooks, schedules)")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = owner_from(options["owner"])
        try:
            workflow = n8n_import(
                owner=owner, data=load_json(options["file"]), activate=True if options["activate"] else None
            )
        except WorkflowValidationError as exc:
            raise CommandError(f"invalid workflow: {exc}") from None
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{workflow.pk}")
        self.stderr.write(f"imported {workflow.name!r} as workflow {workflow.pk} (owner {owner.username})")
