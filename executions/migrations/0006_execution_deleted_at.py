from django.db import migrations, models


def create_prune_schedule(apps, schema_editor):
    from executions.services.pruning import prune_schedule_ensure

    prune_schedule_ensure(schedule_model=apps.get_model("django_q", "Schedule"))


def delete_prune_schedule(apps, schema_editor):
    from executions.services.pruning import PRUNE_SCHEDULE_NAME

    apps.get_model("django_q", "Schedule").objects.filter(name=PRUNE_SCHEDULE_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0005_subworkflow_executions'),
        ('django_q', '0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more'),
    ]

    operations = [
        migrations.AddField(
            model_name='execution',
            name='deleted_at',
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        # The scheduled pruning task (executions.services.pruning), created once per database.
        migrations.RunPython(create_prune_schedule, delete_prune_schedule),
    ]
