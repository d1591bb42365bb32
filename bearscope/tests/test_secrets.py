"""The API keys, the webhook secret and Django's secret key: never logged, never stored with an event,
never shown in the admin, never in an error's traceback."""

import io
import json
import logging
import traceback

import pytest
from django.test import Client
from django.urls import reverse

from autoreply.models import AutoReplySettings
from bearscope.llm import LlmError, structured_call
from bearscope.redaction import REDACTED, secrets_redact
from bearscope.testing.factories import UserFactory
from classification.models import ClassifierSettings
from kustomer.authentication import signature_expected
from kustomer.client import KustomerClient, client_get
from kustomer.exceptions import KustomerError
from kustomer.models import WebhookEvent
from kustomer.ratelimit import DatabaseBudget, RateBudget
from kustomer.services import STORED_HEADERS
from kustomer.tests.helpers import WEBHOOK_URL, post_webhook
from kustomer.tests.sandbox_fixtures import load_fixture

pytestmark = pytest.mark.django_db

ANTHROPIC_KEY = "sk-ant-api03-test-only-0123456789abcdef"
WEBHOOK_SECRET = "whsec-test-only-0123456789abcdef"
DJANGO_KEY = "django-test-only-secret-key-0123456789abcdef-0123456789"
SCHEMA = {"type": "object", "properties": {"intent": {"type": "string"}}, "required": ["intent"]}


@pytest.fixture
def secrets(settings, kustomer_sandbox, make_messages_server) -> list[str]:
    """Distinct secret values in every setting, Kustomer and Claude stand-ins that check their key."""
    make_messages_server(api_key=ANTHROPIC_KEY)
    settings.ANTHROPIC_API_KEY = ANTHROPIC_KEY
    settings.KUSTOMER_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.SECRET_KEY = DJANGO_KEY
    settings.KUSTOMER_MACHINE_USER_ID = ""  # processing then asks Kustomer who we are
    return [settings.KUSTOMER_API_KEY, ANTHROPIC_KEY, WEBHOOK_SECRET, DJANGO_KEY]


@pytest.fixture
def console():
    """What the configured console handler writes, with every logger at DEBUG."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous_stream, previous_level = handler.setStream(stream), root.level
    root.setLevel(logging.DEBUG)
    yield stream
    root.setLevel(previous_level)
    handler.setStream(previous_stream)


def _signed(payload: dict, **headers):
    body = json.dumps(payload).encode()
    signature = signature_expected(body, WEBHOOK_SECRET)
    return Client().generic(
        "POST",
        WEBHOOK_URL,
        body,
        content_type="application/json",
        HTTP_X_KUSTOMER_WEBHOOK_SIGNATURE=signature,
        **headers,
    )


def test_intake_kustomer_and_claude_at_debug_log_no_secret(
    secrets, console, django_capture_on_commit_callbacks
):
    log = logging.getLogger("kustomer.services")
    with django_capture_on_commit_callbacks(execute=True):
        assert _signed(load_fixture("conversation_create")).status_code == 200
    assert post_webhook(Client(), load_fixture("customer_create"), signature="0" * 64).status_code == 401
    try:
        client_get().conversation_get("no-such-conversation")
    except KustomerError:
        log.exception("Kustomer call failed")
    structured_call(model="claude-haiku-4-5", system=[], user_text="hello", schema=SCHEMA, max_tokens=50)
    # What a careless line would leak: the filter must catch it in the message, its args and a traceback.
    log.warning("settings were %s and %s", *secrets[:2])
    try:
        raise RuntimeError(f"secret in an exception: {secrets[2]} {secrets[3]}")
    except RuntimeError:
        log.exception("and in a traceback")
    written = console.getvalue()
    assert "urllib3.connectionpool" in written  # the Kustomer HTTP calls were logged at DEBUG
    assert "httpx" in written  # and Claude's
    assert written.count(REDACTED) >= 4
    assert [s for s in secrets if s in written] == []


def test_only_whitelisted_headers_are_stored_with_an_event(secrets):
    response = _signed(
        load_fixture("customer_create"),
        HTTP_AUTHORIZATION=f"Bearer {secrets[0]}",
        HTTP_COOKIE="sessionid=abc",
        HTTP_X_API_KEY=secrets[1],
    )
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert set(event.headers) <= set(STORED_HEADERS.values())
    assert "Content-Type" in event.headers
    stored = json.dumps(event.headers) + event.body
    signature = signature_expected(event.body.encode(), WEBHOOK_SECRET)
    assert [s for s in [*secrets, signature, "sessionid"] if s in stored] == []


def test_admin_pages_show_no_secret(secrets):
    assert _signed(load_fixture("conversation_create")).status_code == 200
    event = WebhookEvent.objects.get()
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    pages = [
        reverse("admin:kustomer_webhookevent_changelist"),
        reverse("admin:kustomer_webhookevent_change", args=[event.pk]),
        reverse("admin:classification_classifiersettings_change", args=[ClassifierSettings.load().pk]),
        reverse("admin:autoreply_autoreplysettings_change", args=[AutoReplySettings.load().pk]),
        reverse("admin:django_q_failure_changelist"),
        reverse("admin:index"),
    ]
    for page in pages:
        response = client.get(page, follow=True)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert [s for s in secrets if s in html] == [], page


def test_client_errors_and_their_tracebacks_do_not_carry_the_key(secrets, kustomer_sandbox, settings):
    """The keys travel in request headers, which neither the errors nor their tracebacks include."""
    wrong = "wrong-kustomer-key-0123456789abcdef"
    client = KustomerClient(
        base_url=kustomer_sandbox.base_url,
        api_key=wrong,
        budget=RateBudget(DatabaseBudget(), limit=100, max_wait=1),
        max_retries=0,
    )
    with pytest.raises(KustomerError) as kustomer_failed:
        client.current_user_get()
    assert kustomer_failed.value.status == 401
    assert wrong not in "".join(traceback.format_exception(kustomer_failed.value))

    settings.ANTHROPIC_API_KEY = "sk-ant-wrong-0123456789abcdef"  # Claude's stand-in refuses it
    with pytest.raises(LlmError) as claude_failed:
        structured_call(model="claude-haiku-4-5", system=[], user_text="hi", schema=SCHEMA, max_tokens=50)
    assert "401" in str(claude_failed.value)
    assert settings.ANTHROPIC_API_KEY not in "".join(traceback.format_exception(claude_failed.value))


def test_redaction_replaces_every_configured_secret(secrets):
    text = " / ".join(secrets)
    assert secrets_redact(text) == " / ".join([REDACTED] * len(secrets))
