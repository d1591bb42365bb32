"""The names of the custom attributes BearScope writes, in one admin row."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('kustomer', '0004_sweep_run_moved'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomAttributeNames',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('intent', models.CharField(default='aiIntentStr', help_text='AI intent; written by classification.', max_length=64)),
                ('sub_intent', models.CharField(default='aiSubIntentStr', help_text='AI sub-intent; written by classification.', max_length=64)),
                ('priority', models.CharField(default='aiPriorityStr', help_text='AI priority; written by classification.', max_length=64)),
                ('complexity', models.CharField(default='aiComplexityStr', help_text='AI complexity; written by classification.', max_length=64)),
                ('confidence', models.CharField(default='aiConfidenceNum', help_text='AI confidence; written by classification.', max_length=64)),
                ('route', models.CharField(default='aiRouteStr', help_text='AI route (auto or triage); written by classification.', max_length=64)),
                ('classified_at', models.CharField(default='aiClassifiedAt', help_text='AI classified at; written by classification.', max_length=64)),
                ('reviewed', models.CharField(default='aiReviewedBool', help_text='AI reviewed by a person; written by triage review.', max_length=64)),
                ('escalated', models.CharField(default='aiEscalatedBool', help_text='AI escalated after an auto-reply; written by auto-reply.', max_length=64)),
            ],
            options={
                'verbose_name': 'custom attribute names',
                'verbose_name_plural': 'custom attribute names',
            },
        ),
    ]
