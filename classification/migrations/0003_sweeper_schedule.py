"""Schedule the classification sweeper (stuck classifications, failed write-backs) every 2 minutes."""

from django.db import migrations

FUNC = "classification.tasks.sweep"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        func=FUNC,
        defaults={"name": "Classification sweeper", "schedule_type": "I", "minutes": 2, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("classification", "0002_triage_reviewers_group"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
