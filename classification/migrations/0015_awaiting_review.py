"""The review time on the classification row, so the triage backlog is counted without reading reviews."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def reviewed_at_fill(apps, schema_editor):
    classifications = apps.get_model("classification", "Classification")
    reviews = apps.get_model("classification", "TriageReview")
    review_time = reviews.objects.filter(classification=OuterRef("pk")).values("created_at")[:1]
    classifications.objects.filter(review__isnull=False).update(reviewed_at=Subquery(review_time))


class Migration(migrations.Migration):
    # The review times commit before the index is built: built in the same transaction, the index would
    # also hold every row version the fill replaced (every reviewed row) until a VACUUM.
    atomic = False

    dependencies = [
        ("classification", "0014_reference_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name='classification',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, help_text="When a reviewer confirmed or corrected it (its triage review's time); empty: not yet.", null=True),
        ),
        migrations.RunPython(reviewed_at_fill, migrations.RunPython.noop, atomic=True),
        migrations.AddIndex(
            model_name='classification',
            index=models.Index(condition=models.Q(('current', True), ('reviewed_at__isnull', True), ('route', 'triage'), ('status', 'done')), fields=['classified_at'], name='classification_awaiting'),
        ),
    ]
