"""The classifier's model id defaults to CLASSIFIER_MODEL_ID."""

import classification.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('classification', '0006_attribute_names_moved'),
    ]

    operations = [
        migrations.AlterField(
            model_name='classifiersettings',
            name='model_id',
            field=models.CharField(default=classification.models.classifier_model_default, help_text='Made for classification and routing: cheap and fast. Its price per token is shown above.', max_length=64, verbose_name='Claude model'),
        ),
    ]
