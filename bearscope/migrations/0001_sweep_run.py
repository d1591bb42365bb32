"""SweepRun moves from kustomer to bearscope: the table is renamed, the rows stay."""

from django.db import migrations, models


def content_type_move(apps, schema_editor):
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label="kustomer", model="sweeprun").update(
        app_label="bearscope"
    )


def content_type_back(apps, schema_editor):
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label="bearscope", model="sweeprun").update(
        app_label="kustomer"
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("kustomer", "0003_sweep_runs"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
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
                    options={"ordering": ["-started_at"], "verbose_name": "sweeper run", "db_table": "kustomer_sweeprun"},
                ),
            ],
        ),
        migrations.RunPython(content_type_move, content_type_back),
    ]
