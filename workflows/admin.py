from django.contrib import admin

from workflows.models import Variable, Workflow


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "active", "version", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    readonly_fields = ["version", "created_at", "updated_at"]


@admin.register(Variable)
class VariableAdmin(admin.ModelAdmin):
    """Instance variables (``$vars``); the admin is for staff, who alone may change them."""

    list_display = ["key", "value", "updated_at"]
    search_fields = ["key"]
    readonly_fields = ["created_at", "updated_at"]
