from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from pindata.models import PinData
from pindata.services import pin_deactivate


@admin.register(PinData)
class PinDataAdmin(admin.ModelAdmin):
    """Pins are changed through the API; here they can be read and deactivated."""

    list_display = [
        "id",
        "workflow",
        "node_name",
        "output_index",
        "data_type",
        "is_active",
        "item_count",
        "expires_at",
        "created_by",
        "created_at",
    ]
    list_filter = ["is_active", "data_type"]
    search_fields = ["workflow__name", "node_name"]
    actions = ["deactivate"]
    exclude = ["data"]
    readonly_fields = [
        "workflow",
        "node_name",
        "output_index",
        "data_type",
        "checksum",
        "is_active",
        "expires_at",
        "created_by",
        "created_at",
        "updated_at",
        "deleted_at",
        "metadata",
        "pretty_data",
    ]

    @admin.display(description="items")
    def item_count(self, obj: PinData) -> int:
        return len(obj.data or [])

    @admin.display(description="data")
    def pretty_data(self, obj: PinData) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2)[:50000])

    @admin.action(description="Deactivate selected pins")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[PinData]) -> None:
        for pin in queryset.filter(is_active=True):
            pin_deactivate(pin=pin)
        self.message_user(request, "Deactivated.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)
