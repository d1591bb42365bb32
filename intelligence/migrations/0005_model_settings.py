"""Insights settings: the model that reads resolved conversations (default INSIGHTS_MODEL_ID)."""

import intelligence.models
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intelligence", "0004_extraction_started_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="InsightsSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "model_id",
                    models.CharField(
                        default=intelligence.models.insights_model_default,
                        help_text="Reads the whole resolved thread and judges root cause, resolution and the agent's accuracy and tone: a longer, harder reading than routing, so a larger model by default. Its price per token is shown above.",
                        max_length=64,
                        verbose_name="Claude model",
                    ),
                ),
            ],
            options={
                "verbose_name": "insights settings",
                "verbose_name_plural": "insights settings",
            },
        ),
    ]
