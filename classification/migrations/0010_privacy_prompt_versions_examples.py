"""Redaction settings, few-shot examples an admin promotes, and classifications linked to whole prompt versions.

The reviewed-examples setting goes: reviewed conversations no longer enter the prompt on their own.
Earlier classifications kept only a 12-character hash of their prompt; each distinct hash becomes a
version row whose text says it was not kept.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


NOT_KEPT = "(Used before prompts were stored whole: only this version's 12-character hash was kept.)"


def prompt_versions_link(apps, schema_editor):
    classifications = apps.get_model("classification", "Classification")
    versions = apps.get_model("bearscope", "PromptVersion")
    hashes = classifications.objects.exclude(prompt_hash="").values_list("prompt_hash", flat=True).distinct()
    for digest in list(hashes):
        version, _ = versions.objects.get_or_create(
            kind="classifier", sha256=digest, defaults={"text": NOT_KEPT, "changed": NOT_KEPT}
        )
        classifications.objects.filter(prompt_hash=digest).update(prompt_version=version)


def prompt_hashes_back(apps, schema_editor):
    classifications = apps.get_model("classification", "Classification")
    for row in classifications.objects.filter(prompt_version__isnull=False).select_related("prompt_version"):
        classifications.objects.filter(pk=row.pk).update(prompt_hash=row.prompt_version.sha256[:12])


class Migration(migrations.Migration):

    dependencies = [
        ('bearscope', '0003_prompt_version'),
        ("classification", "0009_sub_intent_confidence"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveField(
            model_name='classifiersettings',
            name='reviewed_examples',
        ),
        migrations.AddField(
            model_name='classification',
            name='redactions',
            field=models.JSONField(blank=True, default=dict, help_text='Personal items redacted, per kind.'),
        ),
        migrations.AddField(
            model_name='classifiersettings',
            name='phone_region',
            field=models.CharField(default='US', help_text="Your store's country (two letters, e.g. US, GB): how phone numbers written without a country code are read when redacting.", max_length=2),
        ),
        migrations.AddField(
            model_name='classifiersettings',
            name='redact_personal_data',
            field=models.BooleanField(default=True, help_text="Replace email addresses, phone numbers, card numbers, IBANs and the customer's own name by placeholders before any text goes to a model (classification and insights)."),
        ),
        migrations.AlterField(
            model_name='classification',
            name='prompt_input',
            field=models.TextField(blank=True, help_text='The conversation part of the prompt, as the model saw it (redacted).'),
        ),
        migrations.RenameField(model_name='classification', old_name='prompt_version', new_name='prompt_hash'),
        migrations.AddField(
            model_name='classification',
            name='prompt_version',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='bearscope.promptversion'),
        ),
        migrations.RunPython(prompt_versions_link, prompt_hashes_back),
        migrations.RemoveField(model_name='classification', name='prompt_hash'),
        migrations.CreateModel(
            name='PromptExample',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('text', models.TextField(help_text='The message as the classifier sees it (personal data redacted).')),
                ('active', models.BooleanField(default=True, help_text='Off: left out of the prompt.')),
                ('intent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='classification.intent')),
                ('promoted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('source', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='classification.classification')),
                ('sub_intent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='classification.intent')),
            ],
            options={
                'verbose_name': 'few-shot example',
                'ordering': ['intent__position', 'pk'],
            },
        ),
    ]
