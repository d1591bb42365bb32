"""Every system prompt kept whole: one row per distinct text of each pipeline."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bearscope', '0002_sweep_run_table'),
    ]

    operations = [
        migrations.CreateModel(
            name='PromptVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(help_text="Which pipeline's prompt: classifier or insights.", max_length=32)),
                ('sha256', models.CharField(help_text='SHA-256 of the text; its first 12 name it.', max_length=64)),
                ('text', models.TextField(help_text='The static prompt exactly as sent, before the conversation.')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('changed', models.TextField(blank=True, help_text='Which sections changed from the previous version.')),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
                'constraints': [models.UniqueConstraint(fields=('kind', 'sha256'), name='promptversion_unique_text')],
            },
        ),
    ]
