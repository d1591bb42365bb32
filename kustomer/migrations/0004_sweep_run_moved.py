"""SweepRun now belongs to bearscope (the table is kept and renamed there)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("kustomer", "0003_sweep_runs"),
        ("bearscope", "0001_sweep_run"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="SweepRun")]),
    ]
