"""The sweeper runs' table takes its own app's name."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("bearscope", "0001_sweep_run"),
        ("kustomer", "0004_sweep_run_moved"),
    ]

    operations = [migrations.AlterModelTable(name="sweeprun", table=None)]
