"""Sweeper runs for the admin. Schedules are created by bearscope.schedules.schedules_setup after every migrate."""

from django.db import migrations, models


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
    ]
