"""The mirror keys on the org: the same Kustomer ids from two orgs are two rows, never one."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from classification.services.labels import labels_import
from kustomer.assumptions import ASSUMPTIONS, Verdict
from kustomer.client import client_get
from kustomer.models import Conversation, Customer, Message
from kustomer.payloads import mirror_org
from kustomer.services import conversation_messages_complete

from .helpers import post_webhook
from .sandbox_fixtures import CUSTOMER_ID
from .test_processing import CONVERSATION_ID, fixture

pytestmark = pytest.mark.django_db

OTHER = "org-other-0002"


@pytest.fixture
def deliver(django_capture_on_commit_callbacks, settings):
    settings.KUSTOMER_ORG_ID = ""
    client = Client()

    def _deliver(payload: dict, org: str | None = None) -> None:
        if org is not None:
            payload["org"], payload["id"] = org, f"{payload['id']}-{org}"
        with django_capture_on_commit_callbacks(execute=True):
            assert post_webhook(client, payload).status_code == 200

    return _deliver


def test_the_same_ids_from_two_orgs_are_kept_apart(deliver):
    for org in (None, OTHER):
        deliver(fixture("customer_create"), org)
        deliver(fixture("conversation_create"), org)
        deliver(fixture("message_create_inbound"), org)
    ours = fixture("conversation_create")["org"]
    conversations = {c.org: c for c in Conversation.objects.filter(kustomer_id=CONVERSATION_ID)}
    assert set(conversations) == {ours, OTHER}
    for org, conversation in conversations.items():
        # Each conversation's customer and message are its own org's rows, not the other's.
        assert (conversation.customer.org, conversation.customer.kustomer_id) == (org, CUSTOMER_ID)
        assert [m.org for m in conversation.messages.all()] == [org]
    assert Customer.objects.filter(kustomer_id=CUSTOMER_ID).count() == 2
    assert Message.objects.count() == 2


def test_a_row_takes_the_envelope_org_then_the_resource_org_then_the_configured_one(settings):
    settings.KUSTOMER_ORG_ID = "org-configured"
    resource = {"id": "c1", "relationships": {"org": {"data": {"type": "org", "id": "org-resource"}}}}
    assert mirror_org(resource, "org-envelope") == "org-envelope"
    assert mirror_org(resource) == "org-resource"
    assert mirror_org({"id": "c1"}) == "org-configured"


def test_messages_fetched_for_a_conversation_take_its_org(kustomer_sandbox):
    kustomer_id = next(iter(kustomer_sandbox.state.conversations))
    conversation = Conversation.objects.create(org=OTHER, kustomer_id=kustomer_id)
    added = conversation_messages_complete(conversation=conversation)
    assert added > 0
    assert set(Message.objects.values_list("org", flat=True)) == {OTHER}


def test_labels_refuse_an_id_found_in_two_orgs():
    Conversation.objects.create(org="org-a", kustomer_id="conv-twice")
    Conversation.objects.create(org="org-b", kustomer_id="conv-twice")
    report = labels_import(rows=[(2, {"conversation": "conv-twice", "intent": "x"})], source="t.csv")
    assert report.errors == [(2, "conversation conv-twice is in more than one Kustomer org")]


def test_the_probe_reads_the_org_of_a_mirrored_conversation(kustomer_sandbox):
    probe = next(a for a in ASSUMPTIONS if a.function == "kustomer.payloads.mirror_org")
    assert probe.check(client_get()).verdict == Verdict.NOT_PROBED
    kustomer_id = next(iter(kustomer_sandbox.state.conversations))
    conversation = Conversation.objects.create(org=kustomer_sandbox.state.org, kustomer_id=kustomer_id)
    assert probe.check(client_get()).verdict == Verdict.HOLDS
    conversation.org = OTHER
    conversation.save()
    finding = probe.check(client_get())
    assert finding.verdict == Verdict.FAILS
    assert OTHER in finding.detail



BEFORE = [("kustomer", "0008_language_and_sentiment_attributes")]
AFTER = [("kustomer", "0009_mirror_keyed_on_org")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("orgs_seen", "configured", "org_of_the_rest"),
    [(("org-a", "org-b"), "", ""), (("org-a", "org-b"), "org-a", "org-a"), (("org-a",), "", "org-a")],
)
def test_upgrading_gives_stored_rows_the_org_of_their_events(
    settings, orgs_seen, configured, org_of_the_rest
):
    settings.KUSTOMER_ORG_ID = configured
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    names = ("WebhookEvent", "Customer", "Conversation", "Message")
    old = {name: apps.get_model("kustomer", name) for name in names}
    for org in orgs_seen:
        old["WebhookEvent"].objects.create(
            org=org,
            event_id=f"e-{org}",
            name="kustomer.conversation.create",
            conversation_id=f"conv-{org}",
            body="{}",
            received_at="2026-12-01T00:00:00Z",
        )
    customer = old["Customer"].objects.create(kustomer_id="cust-a")
    conversation = old["Conversation"].objects.create(kustomer_id="conv-org-a", customer=customer)
    old["Message"].objects.create(kustomer_id="msg-a", conversation=conversation)
    old["Conversation"].objects.create(kustomer_id="conv-imported")
    MigrationExecutor(connection).migrate(AFTER)
    # Rows with an event take its org; the imported one (no event) the configured or only org.
    assert dict(Conversation.objects.values_list("kustomer_id", "org")) == {
        "conv-org-a": "org-a",
        "conv-imported": org_of_the_rest,
    }
    assert (Message.objects.get().org, Customer.objects.get().org) == ("org-a", "org-a")
