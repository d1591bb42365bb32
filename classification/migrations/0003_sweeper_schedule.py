"""Formerly scheduled a classification job. Schedules are created by bearscope.schedules.schedules_setup after every migrate."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("classification", "0002_triage_reviewers_group"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = []
