"""Default root causes and resolution methods, and the "Ops leaders" group. Schedules are created by bearscope.schedules.schedules_setup after every migrate."""

from django.db import migrations

GROUP = "Ops leaders"
ROOT_CAUSES = [
    ("product_defect", "Product defect", "The item arrived broken, faulty or not as described."),
    (
        "shipping_delay",
        "Shipping delay",
        "The parcel is late, stuck in transit or its tracking does not move.",
    ),
    (
        "lost_or_wrong_item",
        "Lost or wrong item",
        "The parcel was lost, or the wrong item or quantity arrived.",
    ),
    (
        "policy_confusion",
        "Policy confusion",
        "The customer misunderstood a returns, refund, warranty or pricing policy.",
    ),
    ("billing_error", "Billing error", "A wrong charge, double charge, failed payment or missing refund."),
    ("account_problem", "Account problem", "Sign-in, password, two-factor or account settings trouble."),
    (
        "website_or_app_issue",
        "Website or app issue",
        "A bug or outage on the site or app blocked the customer.",
    ),
    (
        "customer_change_of_mind",
        "Change of mind",
        "The customer wants to cancel, change or return without a fault.",
    ),
    (
        "information_request",
        "Information request",
        "A question about products, stock, delivery options or the store.",
    ),
    ("other", "Other", "None of the above fits."),
]
RESOLUTION_METHODS = [
    ("refund", "Refund", "Money given back, fully or in part."),
    ("replacement", "Replacement", "A new item sent in place of the faulty, lost or wrong one."),
    ("information_provided", "Information provided", "An answer, tracking update or explanation was enough."),
    ("order_changed", "Order changed or cancelled", "The order was edited, cancelled or re-routed."),
    ("account_fixed", "Account fixed", "Access restored or account settings corrected."),
    ("store_credit", "Store credit or voucher", "A voucher, credit or goodwill gesture."),
    ("escalated", "Escalated", "Handed to another team, a specialist or a manager."),
    (
        "no_resolution",
        "Not resolved",
        "Closed without solving the customer's problem (no reply, refused, duplicate).",
    ),
]


def create(apps, schema_editor):
    for model_name, entries in (("RootCause", ROOT_CAUSES), ("ResolutionMethod", RESOLUTION_METHODS)):
        model = apps.get_model("intelligence", model_name)
        for position, (key, name, description) in enumerate(entries):
            model.objects.get_or_create(
                key=key, defaults={"name": name, "description": description, "position": position}
            )
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    group, _ = Group.objects.get_or_create(name=GROUP)
    # Permissions are normally created after migrations; make this one now.
    content_type, _ = ContentType.objects.get_or_create(
        app_label="intelligence", model="conversationanalysis"
    )
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="view_insights",
        defaults={"name": "Can view the insight dashboards"},
    )
    group.permissions.add(permission)


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("intelligence", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
