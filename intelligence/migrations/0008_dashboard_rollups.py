"""Rollups of what the dashboards read live until now (agreement, sentiment, filter values), filled from existing rows."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate

# Each filter's values from the smallest grain of DailyRollup that has them.
CHOICE_GRAINS = {"intent": "intent", "channel": "segment", "team": "agent", "agent": "agent"}


def agreement_fill(apps, schema_editor):
    reviews = apps.get_model("classification", "TriageReview")
    rollup = apps.get_model("intelligence", "AgreementRollup")
    cells = (
        reviews.objects.order_by()
        .values(day=TruncDate("created_at"), ai_intent=F("classification__intent"))
        .annotate(reviewed=Count("pk"), agreed=Count("pk", filter=Q(agreed=True)))
    )
    rollup.objects.bulk_create(
        [
            rollup(day=c["day"], intent_id=c["ai_intent"], reviewed=c["reviewed"], agreed=c["agreed"])
            for c in cells.iterator()
        ],
        batch_size=2000,
    )


def _found(apps, analyses, found: str, *group: str):
    """Analyses per resolution day, `group` and the current classification's `found` ("": not known)."""
    classifications = apps.get_model("classification", "Classification")
    current = classifications.objects.filter(conversation=OuterRef("conversation"), current=True)
    value = Coalesce(Subquery(current.values(found)[:1]), Value(""))
    rows = analyses.annotate(day=TruncDate("resolved_at"), found=value).values("day", *group, "found")
    return rows.annotate(n=Count("pk")).order_by().iterator()


def sentiment_and_choices_fill(apps, schema_editor):
    analyses = apps.get_model("intelligence", "ConversationAnalysis")
    daily = apps.get_model("intelligence", "DailyRollup")
    sentiments = apps.get_model("intelligence", "SentimentRollup")
    choices = apps.get_model("intelligence", "DailyChoice")
    computed = analyses.objects.filter(current=True, status="done")
    sentiments.objects.bulk_create(
        [
            sentiments(day=c["day"], intent=c["intent"], sentiment=c["found"], conversations=c["n"])
            for c in _found(apps, computed, "sentiment", "intent")
        ],
        batch_size=2000,
    )
    made = []
    for dimension, grain in CHOICE_GRAINS.items():
        rows = daily.objects.filter(grain=grain).exclude(**{dimension: ""}).values_list("day", dimension)
        made += [choices(dimension=dimension, day=day, value=value) for day, value in rows.distinct()]
    # Languages of every current analysis, computed or not yet.
    for c in _found(apps, analyses.objects.filter(current=True), "language"):
        if c["found"]:
            made.append(choices(dimension="language", day=c["day"], value=c["found"]))
    choices.objects.bulk_create(made, batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ('classification', '0015_awaiting_review'),
        ('intelligence', '0007_backtests'),
    ]

    operations = [
        migrations.CreateModel(
            name='DailyChoice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('dimension', models.CharField(choices=[('intent', 'Intent'), ('channel', 'Channel'), ('team', 'Team'), ('agent', 'Agent'), ('language', 'Language')], max_length=16)),
                ('day', models.DateField()),
                ('value', models.CharField(max_length=64)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('dimension', 'day', 'value'), name='daily_choice_unique_value')],
            },
        ),
        migrations.CreateModel(
            name='SentimentRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('intent', models.CharField(blank=True, max_length=64)),
                ('sentiment', models.CharField(blank=True, max_length=8)),
                ('conversations', models.PositiveIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'intent', 'sentiment'), name='sentiment_rollup_unique_cell')],
            },
        ),
        migrations.CreateModel(
            name='AgreementRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('reviewed', models.PositiveIntegerField(default=0)),
                ('agreed', models.PositiveIntegerField(default=0)),
                ('intent', models.ForeignKey(blank=True, help_text="The AI's intent of the reviewed classification; empty: none.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='classification.intent')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'intent'), name='agreement_rollup_unique_cell')],
            },
        ),
        migrations.RunPython(agreement_fill, migrations.RunPython.noop),
        migrations.RunPython(sentiment_and_choices_fill, migrations.RunPython.noop),
    ]
