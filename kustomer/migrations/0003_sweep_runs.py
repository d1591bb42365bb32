"""Sweeper runs for the admin, and the webhook event sweeper scheduled every 2 minutes."""

from django.db import migrations, models

FUNC = "kustomer.tasks.sweep"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        func=FUNC,
        defaults={"name": "Webhook event sweeper", "schedule_type": "I", "minutes": 2, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("kustomer", "0002_task_results_prune_schedule"),
    ]

    operations = [
        migrations.CreateModel(
            name="SweepRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sweeper", models.CharField(db_index=True, max_length=64)),
                ("started_at", models.DateTimeField(db_index=True)),
                ("duration_ms", models.PositiveIntegerField(default=0)),
                (
                    "requeued",
                    models.JSONField(
                        default=list,
                        help_text='What was queued again: [{"kind", "model", "ids"}], one entry per step.',
                    ),
                ),
                ("total", models.PositiveIntegerField(default=0, help_text="How many rows were queued again.")),
                ("error", models.TextField(blank=True, default="", help_text="Steps that failed, and why.")),
            ],
            options={"ordering": ["-started_at"], "verbose_name": "sweeper run"},
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
