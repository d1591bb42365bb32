"""The custom attribute names move to kustomer.CustomAttributeNames (values kept)."""

from django.db import migrations


FIELDS = [("attr_escalated", "escalated")]


def names_copy(apps, schema_editor):
    """Names an admin changed here move to kustomer's CustomAttributeNames."""
    settings_row = apps.get_model("autoreply", "AutoReplySettings").objects.filter(pk=1).first()
    if settings_row is None:
        return
    names, _ = apps.get_model("kustomer", "CustomAttributeNames").objects.get_or_create(pk=1)
    for old, new in FIELDS:
        setattr(names, new, getattr(settings_row, old))
    names.save()


class Migration(migrations.Migration):

    dependencies = [
        ("kustomer", "0005_custom_attribute_names"),
        ('autoreply', '0002_reply_reviewers_and_sweeper'),
    ]

    operations = [
        migrations.RunPython(names_copy, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='autoreplysettings',
            name='attr_escalated',
        ),
    ]
