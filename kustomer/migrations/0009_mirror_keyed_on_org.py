"""The mirror keys on the org: Customer, Conversation and Message unique on (Kustomer id, org)."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def orgs_fill(apps, schema_editor):
    """Give stored rows the org their webhook events carried; rows with no event (imported, or from
    events without an org) take KUSTOMER_ORG_ID, else the one org every stored event came from."""
    WebhookEvent = apps.get_model("kustomer", "WebhookEvent")
    Conversation = apps.get_model("kustomer", "Conversation")
    Customer = apps.get_model("kustomer", "Customer")
    Message = apps.get_model("kustomer", "Message")
    events = WebhookEvent.objects.exclude(org="")
    orgs = list(events.values_list("org", flat=True).distinct()[:2])
    only = settings.KUSTOMER_ORG_ID or (orgs[0] if len(orgs) == 1 else "")
    event_org = events.filter(conversation_id=OuterRef("kustomer_id")).values("org")[:1]
    Conversation.objects.update(org=Coalesce(Subquery(event_org), Value(only)))
    conversation_org = Conversation.objects.filter(pk=OuterRef("conversation_id")).values("org")[:1]
    Message.objects.update(org=Coalesce(Subquery(conversation_org), Value(only)))
    customer_org = Conversation.objects.filter(customer_id=OuterRef("pk")).exclude(org="").values("org")[:1]
    Customer.objects.update(org=Coalesce(Subquery(customer_org), Value(only)))


class Migration(migrations.Migration):

    dependencies = [
        ('kustomer', '0008_language_and_sentiment_attributes'),
    ]

    operations = [
        migrations.AddField(
            model_name='conversation',
            name='org',
            field=models.CharField(blank=True, default='', help_text='The Kustomer org it belongs to (mirror_org).', max_length=64),
        ),
        migrations.AddField(
            model_name='customer',
            name='org',
            field=models.CharField(blank=True, default='', help_text='The Kustomer org it belongs to (mirror_org).', max_length=64),
        ),
        migrations.AddField(
            model_name='message',
            name='org',
            field=models.CharField(blank=True, default='', help_text='The Kustomer org it belongs to (mirror_org).', max_length=64),
        ),
        migrations.RunPython(orgs_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='conversation',
            name='kustomer_id',
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name='customer',
            name='kustomer_id',
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name='message',
            name='kustomer_id',
            field=models.CharField(max_length=64),
        ),
        migrations.AddConstraint(
            model_name='conversation',
            constraint=models.UniqueConstraint(fields=('kustomer_id', 'org'), name='conversation_unique_id_org'),
        ),
        migrations.AddConstraint(
            model_name='customer',
            constraint=models.UniqueConstraint(fields=('kustomer_id', 'org'), name='customer_unique_id_org'),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(fields=('kustomer_id', 'org'), name='message_unique_id_org'),
        ),
    ]
