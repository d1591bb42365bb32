"""Analyses linked to whole prompt versions; earlier ones kept only a 12-character hash, now a version row."""

import django.db.models.deletion
from django.db import migrations, models


NOT_KEPT = "(Used before prompts were stored whole: only this version's 12-character hash was kept.)"


def prompt_versions_link(apps, schema_editor):
    analyses = apps.get_model("intelligence", "ConversationAnalysis")
    versions = apps.get_model("bearscope", "PromptVersion")
    hashes = analyses.objects.exclude(prompt_hash="").values_list("prompt_hash", flat=True).distinct()
    for digest in list(hashes):
        version, _ = versions.objects.get_or_create(
            kind="insights", sha256=digest, defaults={"text": NOT_KEPT, "changed": NOT_KEPT}
        )
        analyses.objects.filter(prompt_hash=digest).update(prompt_version=version)


def prompt_hashes_back(apps, schema_editor):
    analyses = apps.get_model("intelligence", "ConversationAnalysis")
    for row in analyses.objects.filter(prompt_version__isnull=False).select_related("prompt_version"):
        analyses.objects.filter(pk=row.pk).update(prompt_hash=row.prompt_version.sha256[:12])


class Migration(migrations.Migration):

    dependencies = [
        ('bearscope', '0003_prompt_version'),
        ("intelligence", "0005_model_settings"),
    ]

    operations = [
        migrations.AlterField(
            model_name='conversationanalysis',
            name='prompt_input',
            field=models.TextField(blank=True, help_text='The thread as the model saw it (redacted).'),
        ),
        migrations.RenameField(model_name='conversationanalysis', old_name='prompt_version', new_name='prompt_hash'),
        migrations.AddField(
            model_name='conversationanalysis',
            name='prompt_version',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='bearscope.promptversion'),
        ),
        migrations.RunPython(prompt_versions_link, prompt_hashes_back),
        migrations.RemoveField(model_name='conversationanalysis', name='prompt_hash'),
    ]
