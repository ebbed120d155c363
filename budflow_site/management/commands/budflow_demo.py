"""``manage.py budflow_demo``: a demo admin user and an example workflow (idempotent)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from workflows.models import Workflow
from workflows.services import workflow_create

EXAMPLE_NAME = "Example: greet and route"


def example_workflow() -> dict[str, Any]:
    def node(name: str, type_: str, version: float, x: int, y: int, **params: Any) -> dict[str, Any]:
        return {
            "id": name.lower().replace(" ", "-"),
            "name": name,
            "type": f"n8n-nodes-base.{type_}",
            "typeVersion": version,
            "position": [x, y],
            "parameters": params,
        }

    return {
        "nodes": [
            node("Start", "manualTrigger", 1, 0, 0),
            node(
                "Greeting",
                "set",
                3.4,
                220,
                0,
                mode="manual",
                includeOtherFields=True,
                assignments={
                    "assignments": [
                        {"id": "1", "name": "greeting", "value": "Hello from BudFlow", "type": "string"},
                        {"id": "2", "name": "size", "value": "3", "type": "number"},
                    ]
                },
            ),
            node(
                "Is big",
                "if",
                2.2,
                440,
                0,
                conditions={
                    "options": {"caseSensitive": True, "typeValidation": "strict"},
                    "conditions": [
                        {"id": "c1", "leftValue": 3, "rightValue": 2, "operator": {"type": "number", "operation": "gt"}}
                    ],
                    "combinator": "and",
                },
            ),
            node("Big", "noOp", 1, 660, -100),
            node("Small", "noOp", 1, 660, 100),
            node("Together", "merge", 3.2, 880, 0, mode="append"),
        ],
        "connections": {
            "Start": {"main": [[{"node": "Greeting", "type": "main", "index": 0}]]},
            "Greeting": {"main": [[{"node": "Is big", "type": "main", "index": 0}]]},
            "Is big": {
                "main": [[{"node": "Big", "type": "main", "index": 0}], [{"node": "Small", "type": "main", "index": 0}]]
            },
            "Big": {"main": [[{"node": "Together", "type": "main", "index": 0}]]},
            "Small": {"main": [[{"node": "Together", "type": "main", "index": 1}]]},
        },
        "settings": {"executionOrder": "v1"},
    }


class Command(BaseCommand):
    help = "Create the demo admin (admin) and an example workflow if they do not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        creds = settings.DATA_DIR / "demo-admin.txt"
        user = User.objects.filter(username="admin").first()
        if user is None:
            password = os.environ.get("BUDFLOW_DEMO_PASSWORD") or secrets.token_urlsafe(12)
            user = User.objects.create_superuser("admin", "admin@example.com", password)
            creds.write_text(f"username: admin\npassword: {password}\n")
            creds.chmod(0o600)
        token, _ = Token.objects.get_or_create(user=user)
        if not Workflow.objects.filter(owner=user, name=EXAMPLE_NAME).exists():
            workflow_create(owner=user, name=EXAMPLE_NAME, **example_workflow())
        login = creds.read_text().strip().replace("\n", ", ") if creds.exists() else "username: admin"
        self.stdout.write(
            f"Demo admin: {login} (stored in {creds.name} in the data directory)\n"
            f"API token for admin: {token.key}\n"
            f'Example workflow: "{EXAMPLE_NAME}" — run it with\n'
            f"  curl -X POST -H 'Authorization: Token {token.key}' -H 'Content-Type: application/json' "
            f"-d '{{\"wait_till_completion\": true}}' {settings.BUDFLOW_PUBLIC_URL}/api/workflows/"
            f"{Workflow.objects.get(owner=user, name=EXAMPLE_NAME).pk}/execute/"
        )
