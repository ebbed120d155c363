from django.db import migrations, models


class Migration(migrations.Migration):
    """A parent waits for its waiting sub-workflows: a ``subworkflow`` pause, resumed by them."""

    dependencies = [
        ("executions", "0006_execution_deleted_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="executionpause",
            name="pause_type",
            field=models.CharField(
                choices=[
                    ("time", "Time"),
                    ("webhook", "Webhook"),
                    ("form", "Form"),
                    ("manual", "Manual"),
                    ("approval", "Approval"),
                    ("subworkflow", "Sub-workflow executions"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="executionpause",
            name="resume_trigger",
            field=models.CharField(
                blank=True,
                choices=[
                    ("timer", "Timer"),
                    ("webhook", "Webhook call"),
                    ("form", "Form submission"),
                    ("api", "API"),
                    ("admin", "Admin"),
                    ("timeout", "Timeout"),
                    ("subworkflow", "Sub-workflow executions ended"),
                ],
                default="",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="subworkflowexecution",
            name="status",
            field=models.CharField(
                choices=[
                    ("running", "Running"),
                    ("queued", "Queued (not awaited)"),
                    ("waiting", "Waiting (the parent waits too)"),
                    ("success", "Success"),
                    ("error", "Error"),
                    ("canceled", "Canceled"),
                ],
                default="running",
                max_length=10,
            ),
        ),
    ]
