"""The customer's language on pages: its name, and the triage queue's language filter."""

import pytest
from django.urls import reverse

from classification.languages import language_label

from .test_views import signed_in, waiting

pytestmark = pytest.mark.django_db

QUEUE = reverse("classification:queue")


def test_language_names():
    labels = [language_label(code) for code in ("es", "zz", "", None)]
    assert labels == ["Spanish (es)", "zz", "Unknown", "Unknown"]


def test_the_queue_filters_by_customer_language(taxonomy, reviewer):
    spanish = waiting(taxonomy, 30, language="es")
    waiting(taxonomy, 20, language="fr")
    waiting(taxonomy, 10)
    client = signed_in(reviewer)
    response = client.get(QUEUE, {"language": "es"})
    assert [c.pk for c in response.context["items"]] == [spanish.pk]
    html = response.content.decode()
    # Only the languages waiting are offered, by name; unknown ones are not a choice.
    assert '<option value="es" selected>Spanish (es)</option>' in html and ">French (fr)</option>" in html
    assert "1 conversation matches these filters." in html
    assert f"{reverse('classification:item', args=[spanish.pk])}?language=es" in html
    # A value that is not a language code is dropped: the whole queue shows.
    assert len(client.get(QUEUE, {"language": "Spanish"}).context["items"]) == 3
    assert list(client.get(QUEUE, {"language": "de"}).context["items"]) == []
