"""Triage and provider reasons become choices (TextChoices in classification/reasons.py); no data change."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('classification', '0007_model_settings'),
    ]

    operations = [
        migrations.AlterField(
            model_name='classification',
            name='provider_reason',
            field=models.CharField(blank=True, choices=[('claude', 'Claude'), ('offline_default', 'Local classifier: no Anthropic key'), ('fallback_after_claude_error', 'Local classifier after Claude failed'), ('cascade_confident', 'Local classifier sure enough (cascade)'), ('cascade_not_confident', 'Claude after an unsure local classifier (cascade)'), ('no_classifier', 'No classifier configured')], help_text='Why that provider decided.', max_length=32),
        ),
        migrations.AlterField(
            model_name='classification',
            name='route_reason',
            field=models.CharField(blank=True, choices=[('low_confidence', 'Low confidence'), ('invalid_output', 'Answer outside the taxonomy'), ('truncated_output', 'Answer cut off'), ('refusal', 'Classifier refused'), ('classifier_error', 'Classifier error'), ('no_classifier', 'No classifier configured')], help_text='Why it went to triage.', max_length=32),
        ),
    ]
