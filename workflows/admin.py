from django.contrib import admin

from workflows.models import Workflow


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "active", "version", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    readonly_fields = ["version", "created_at", "updated_at"]
