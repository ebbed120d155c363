import hashlib
import json

import django.db.models.deletion
from django.db import migrations, models


def snapshots_to_versions(apps, schema_editor):
    """Each execution's copied snapshot becomes a reference to a stored workflow version."""
    Execution = apps.get_model("executions", "Execution")
    WorkflowVersion = apps.get_model("workflows", "WorkflowVersion")
    for execution in Execution.objects.only("pk", "workflow_id", "workflow_snapshot").iterator():
        snapshot = execution.workflow_snapshot or {}
        text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), default=str)
        version, _ = WorkflowVersion.objects.get_or_create(
            id=f"{execution.workflow_id}-{hashlib.sha256(text.encode()).hexdigest()}",
            defaults={"workflow_id": execution.workflow_id, "snapshot": snapshot},
        )
        Execution.objects.filter(pk=execution.pk).update(workflow_version=version)


def reused_rows_to_references(apps, schema_editor):
    """A partial run's reused rows become its ``reused_runs`` map (and are removed)."""
    NodeRun = apps.get_model("executions", "NodeRun")
    Execution = apps.get_model("executions", "Execution")
    maps: dict[int, dict[str, int]] = {}
    rows = NodeRun.objects.filter(reused_from__isnull=False).select_related("reused_from")
    for row in rows.iterator():
        maps.setdefault(row.execution_id, {})[row.node_name] = row.reused_from.execution_id
    for execution_id, reused in maps.items():
        Execution.objects.filter(pk=execution_id).update(reused_runs=reused)
    NodeRun.objects.filter(reused_from__isnull=False).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("executions", "0003_pauses"),
        ("workflows", "0003_workflow_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="execution",
            name="reused_runs",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="execution",
            name="workflow_version",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="workflows.workflowversion",
            ),
        ),
        migrations.RunPython(snapshots_to_versions, migrations.RunPython.noop),
        migrations.RunPython(reused_rows_to_references, migrations.RunPython.noop),
        migrations.RemoveField(model_name="execution", name="workflow_snapshot"),
        migrations.RemoveField(model_name="noderun", name="reused_from"),
        migrations.AlterField(
            model_name="execution",
            name="workflow_version",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="workflows.workflowversion"
            ),
        ),
    ]
