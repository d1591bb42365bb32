"""Webhook intake: signatures, storing once, bad input, size limit, unknown events."""

import json
import threading
from pathlib import Path

import pytest
from django.db import OperationalError, connection, connections
from django.test import Client

from kustomer.models import WebhookEvent

from .helpers import WEBHOOK_URL, post_webhook

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.mark.django_db
class TestSignature:
    def test_valid_signature_is_accepted_stored_and_processed(
        self, client, django_capture_on_commit_callbacks
    ):
        payload = fixture("conversation_create")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = post_webhook(client, payload)
        assert response.status_code == 200
        assert response.json() == {"status": "accepted", "event_id": payload["id"]}
        assert len(callbacks) == 1
        event = WebhookEvent.objects.get()
        assert (event.org, event.event_id, event.name) == (payload["org"], payload["id"], payload["name"])
        assert event.conversation_id == payload["data"]["id"]
        assert json.loads(event.body) == payload
        assert event.headers["Content-Type"] == "application/json"
        assert event.status == WebhookEvent.Status.PROCESSED

    def test_alternate_header_name_is_accepted(self, client):
        response = post_webhook(client, fixture("conversation_create"), header="HTTP_X_KUSTOMER_SIGNATURE")
        assert response.status_code == 200
        assert WebhookEvent.objects.count() == 1

    def test_uppercase_hex_signature_is_accepted(self, client):
        payload = json.dumps(fixture("customer_create")).encode()
        from kustomer.authentication import signature_expected

        response = post_webhook(
            client, payload, signature=signature_expected(payload, "test-webhook-secret").upper()
        )
        assert response.status_code == 200

    def test_wrong_signature_is_401_and_nothing_stored(self, client):
        response = post_webhook(client, fixture("conversation_create"), secret="some-other-secret")
        assert response.status_code == 401
        assert "WWW-Authenticate" in response.headers
        assert WebhookEvent.objects.count() == 0

    def test_missing_signature_is_401(self, client):
        response = post_webhook(client, fixture("conversation_create"), signature="")
        assert response.status_code == 401
        assert WebhookEvent.objects.count() == 0

    def test_signature_over_a_different_body_is_401(self, client):
        payload = fixture("conversation_create")
        body = json.dumps(payload).encode()
        from kustomer.authentication import signature_expected

        tampered = body.replace(b'"open"', b'"done"')
        response = post_webhook(client, tampered, signature=signature_expected(body, "test-webhook-secret"))
        assert response.status_code == 401

    def test_every_event_is_refused_while_no_secret_is_configured(self, client, settings):
        settings.KUSTOMER_WEBHOOK_SECRET = ""
        response = post_webhook(client, fixture("conversation_create"), secret="x")
        assert response.status_code == 401
        assert "not configured" in response.json()["detail"]
        assert WebhookEvent.objects.count() == 0

    def test_get_without_signature_is_refused(self, client):
        assert client.get(WEBHOOK_URL).status_code == 401


@pytest.mark.django_db
class TestDuplicates:
    def test_sequential_duplicate_is_200_duplicate_and_processed_once(
        self, client, django_capture_on_commit_callbacks
    ):
        payload = fixture("message_create_inbound")
        with django_capture_on_commit_callbacks(execute=True) as first_callbacks:
            first = post_webhook(client, payload)
        with django_capture_on_commit_callbacks(execute=True) as second_callbacks:
            second = post_webhook(client, payload)
        assert first.json()["status"] == "accepted"
        assert second.status_code == 200
        assert second.json() == {"status": "duplicate", "event_id": payload["id"]}
        assert len(first_callbacks) >= 1  # processing, then what the pipelines enqueue
        assert second_callbacks == []
        event = WebhookEvent.objects.get()
        assert event.attempts == 1

    def test_same_event_id_from_another_org_is_a_different_event(self, client):
        payload = fixture("customer_create")
        post_webhook(client, payload)
        post_webhook(client, {**payload, "org": "another-org"})
        assert WebhookEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_store_and_process_one(settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent inserts need PostgreSQL (SQLite serialises writers)")
    payload = fixture("conversation_create")
    barrier = threading.Barrier(8)
    answers: list[str] = []

    def deliver() -> None:
        try:
            barrier.wait()
            answers.append(post_webhook(Client(), payload).json()["status"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == ["accepted"] + ["duplicate"] * 7
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 1


@pytest.mark.django_db
class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            (b"not json", "not valid JSON"),
            (b"[1, 2, 3]", "JSON object"),
            (b'"a string"', "JSON object"),
            (b"{}", "id, name, data"),
            (b'{"id": "e1", "name": "kustomer.conversation.create"}', "data"),
            (b'{"id": "e1", "name": "kustomer.conversation.create", "data": []}', "'data'"),
            (b'{"id": 7, "name": "kustomer.conversation.create", "data": {}}', "'id'"),
            (b'{"id": "e1", "name": "", "data": {}}', "'name'"),
            (b'{"id": "e1", "name": "x", "data": {}, "org": {"a": 1}}', "'org'"),
            ('{"id": "é"}'.encode("latin-1"), "not valid JSON"),
        ],
    )
    def test_malformed_body_is_400_with_reason_and_nothing_stored(self, client, body, fragment):
        response = post_webhook(client, body)
        assert response.status_code == 400
        assert fragment in response.json()["detail"]
        assert WebhookEvent.objects.count() == 0

    def test_oversize_body_is_413(self, client, settings):
        settings.KUSTOMER_WEBHOOK_MAX_BYTES = 2048
        payload = fixture("conversation_create")
        payload["data"]["attributes"]["preview"] = "x" * 4000
        response = post_webhook(client, payload)
        assert response.status_code == 413
        assert WebhookEvent.objects.count() == 0

    def test_body_at_the_limit_is_accepted(self, client, settings):
        body = json.dumps(fixture("customer_create")).encode()
        settings.KUSTOMER_WEBHOOK_MAX_BYTES = len(body)
        assert post_webhook(client, body).status_code == 200

    def test_nul_characters_in_strings_are_stored_without_error(
        self, client, django_capture_on_commit_callbacks
    ):
        payload = fixture("message_create_inbound")
        payload["data"]["attributes"]["preview"] = "where\u0000 is it"
        with django_capture_on_commit_callbacks(execute=True):
            response = post_webhook(client, payload)
        assert response.status_code == 200
        assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


@pytest.mark.django_db
def test_unknown_event_name_is_stored_ignored_and_200(client, django_capture_on_commit_callbacks):
    payload = fixture("user_update")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(client, payload)
    assert response.status_code == 200
    assert response.json()["ignored"] == "event type not handled by BearScope"
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert callbacks == []


@pytest.mark.django_db
class TestDatabaseOutage:
    """The database at the network boundary: its connection fails the way a restarting server's does."""

    @pytest.fixture
    def database_down(self, monkeypatch):
        def refuse(*args, **kwargs):
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(connection, "cursor", refuse)
        yield
        monkeypatch.undo()

    def test_intake_answers_503_with_retry_after_and_stores_nothing(self, client, database_down, caplog):
        payload = fixture("conversation_create")
        response = post_webhook(client, payload)
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert response.json()["status"] == "unavailable"
        assert response.json()["event_id"] == payload["id"]
        assert "send it again" in response.json()["detail"]
        assert f"Webhook event {payload['id']} not stored" in caplog.text

    def test_readyz_says_not_ready(self, client, database_down):
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "database: OperationalError" in response.json()["problems"]

    def test_the_event_sent_again_after_the_outage_is_accepted(self, client, database_down, monkeypatch):
        payload = fixture("conversation_create")
        assert post_webhook(client, payload).status_code == 503
        monkeypatch.undo()
        assert WebhookEvent.objects.count() == 0
        assert post_webhook(client, payload).json()["status"] == "accepted"
        assert WebhookEvent.objects.get().event_id == payload["id"]


@pytest.mark.django_db
def test_the_webhook_answers_without_session_user_or_page_headers(client, django_user_model):
    """The browser middleware skips the webhook (bearscope.middleware); pages keep all of it."""
    client.force_login(django_user_model.objects.create_superuser("ops", password="x"))
    response = post_webhook(client, fixture("conversation_create"))
    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    assert "sessionid" not in response.cookies
    assert "Content-Security-Policy" not in response.headers

    page = client.get("/triage/")
    assert page.status_code == 200
    assert page.wsgi_request.user.username == "ops"
    assert "Content-Security-Policy" in page.headers
    assert page.headers["X-Frame-Options"] == "DENY"
