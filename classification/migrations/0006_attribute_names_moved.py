"""The custom attribute names move to kustomer.CustomAttributeNames (values kept)."""

from django.db import migrations


FIELDS = [("attr_intent", "intent"), ("attr_sub_intent", "sub_intent"), ("attr_priority", "priority"), ("attr_complexity", "complexity"), ("attr_confidence", "confidence"), ("attr_route", "route"), ("attr_classified_at", "classified_at"), ("attr_reviewed", "reviewed")]


def names_copy(apps, schema_editor):
    """Names an admin changed here move to kustomer's CustomAttributeNames."""
    settings_row = apps.get_model("classification", "ClassifierSettings").objects.filter(pk=1).first()
    if settings_row is None:
        return
    names, _ = apps.get_model("kustomer", "CustomAttributeNames").objects.get_or_create(pk=1)
    for old, new in FIELDS:
        setattr(names, new, getattr(settings_row, old))
    names.save()


class Migration(migrations.Migration):

    dependencies = [
        ("kustomer", "0005_custom_attribute_names"),
        ('classification', '0005_local_retrain_schedule'),
    ]

    operations = [
        migrations.RunPython(names_copy, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='classifiersettings',
            name='attr_classified_at',
        ),
        migrations.RemoveField(
            model_name='classifiersettings',
            name='attr_complexity',
        ),
        migrations.RemoveField(
            model_name='classifiersettings',
            name='attr_confidence',
        ),
        migrations.RemoveField(
            model_name='classifiersettings',
            name='attr_intent',
        ),
        migrations.RemoveField(
            model_name='classifiersettings',
            name='attr_priority',
        ),
        migrations.RemoveField(
            model_name='classifiersettings',
            name='attr_reviewed',
        ),
        migrations.RemoveField(
            model_name='classifiersettings',
            name='attr_route',
        ),
        migrations.RemoveField(
            model_name='classifiersettings',
            name='attr_sub_intent',
        ),
    ]
