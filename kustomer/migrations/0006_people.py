"""Users and teams mirrored from Kustomer, and the admin's Connection page (no table)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('kustomer', '0005_custom_attribute_names'),
    ]

    operations = [
        migrations.CreateModel(
            name='Connection',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
            options={
                'verbose_name': 'connection',
                'verbose_name_plural': 'connection',
                'managed': False,
                'default_permissions': ('view',),
            },
        ),
        migrations.CreateModel(
            name='Agent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('kustomer_id', models.CharField(max_length=64, unique=True)),
                ('name', models.CharField(blank=True, default='', max_length=255)),
                ('display_name', models.CharField(blank=True, default='', max_length=255)),
                ('email', models.CharField(blank=True, default='', max_length=254)),
                ('user_type', models.CharField(blank=True, default='', help_text='user (an agent), system or machine.', max_length=16)),
                ('synced_at', models.DateTimeField(help_text='When a sync last found it in Kustomer.')),
            ],
            options={
                'ordering': ['name', 'kustomer_id'],
            },
        ),
        migrations.CreateModel(
            name='Team',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('kustomer_id', models.CharField(max_length=64, unique=True)),
                ('name', models.CharField(blank=True, default='', max_length=255)),
                ('display_name', models.CharField(blank=True, default='', max_length=255)),
                ('synced_at', models.DateTimeField(help_text='When a sync last found it in Kustomer.')),
            ],
            options={
                'ordering': ['name', 'kustomer_id'],
            },
        ),
    ]
