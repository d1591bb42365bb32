"""Create the "Reply reviewers" group with the review permission. Schedules are created by bearscope.schedules.schedules_setup after every migrate."""

from django.db import migrations

GROUP = "Reply reviewers"


def create_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    group, _ = Group.objects.get_or_create(name=GROUP)
    # Permissions are normally created after migrations; make this one now.
    content_type, _ = ContentType.objects.get_or_create(app_label="autoreply", model="autoreplydecision")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="review_reply",
        defaults={"name": "Can review shadow replies"},
    )
    group.permissions.add(permission)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("autoreply", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
