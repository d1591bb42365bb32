"""Triage shows the agents who answered by name, synced from the Kustomer sandbox, never by id."""

import pytest

from kustomer.models import Message
from kustomer.people import people_sync
from kustomer.tests.factories import ConversationFactory, MessageFactory

from .test_views import item_url, signed_in, waiting

pytestmark = pytest.mark.django_db

MARCUS = "6650a1b2c3d4e5f600a1b203"  # Marcus Bell in the sandbox's seed


def test_the_transcript_names_the_agent_who_replied_and_marks_one_not_synced(
    taxonomy, reviewer, kustomer_sandbox
):
    people_sync(page_size=5)
    conversation = ConversationFactory()
    MessageFactory(conversation=conversation, body="Where is my parcel?")
    MessageFactory(
        conversation=conversation, direction=Message.Direction.OUT, created_by=MARCUS, body="On it!"
    )
    MessageFactory(
        conversation=conversation, direction=Message.Direction.OUT, created_by="gone-42", body="Hi"
    )
    item = waiting(taxonomy, 5, conversation=conversation)
    page = signed_in(reviewer).get(item_url(item)).content.decode()
    assert "Marcus Bell" in page and "Unknown agent (gone-42)" in page
    assert MARCUS not in page
