"""Bad input, generated: signed junk and mutated real payloads never make a 500 or an event stuck in
`received`; unsigned or wrongly signed bytes are refused and nothing is stored."""

import copy
import json
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from kustomer.authentication import signature_expected
from kustomer.models import WebhookEvent
from kustomer.payloads import as_str
from kustomer.tasks import webhook_event_process as webhook_event_task

from .helpers import post_webhook

FIXTURES = Path(__file__).parent / "fixtures"
BY_NAME = {path.stem: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))}
PAYLOADS = list(BY_NAME.values())
SETTLED = {WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED}

# Fixed examples, no example database written: the same inputs run on every machine and in CI.
FUZZ = hypothesis_settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Strings that broke, or could break, a reader or a database column.
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "²",
    "--5",
    "9" * 5000,
    "2025-06-02T14:03:11",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+05:00",
    "2025-13-45T99:99:99Z",
    "done",
    "in",
    "é" * 70_000,
]
NASTY_NUMBERS = [0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, float("nan"), float("inf"), -float("inf"), 1e308]

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(NASTY_STRINGS),
    st.builds(lambda a, b: a + "\ud800" + b, st.text(max_size=5), st.text(max_size=5)),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from(NASTY_NUMBERS),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)),
    max_leaves=12,
)


def with_attributes(fixture: str, **attributes) -> dict:
    """A fixture under a new event id with some data attributes replaced (regression examples)."""
    payload = copy.deepcopy(BY_NAME[fixture])
    payload["id"] = f"fuzz-{fixture}"
    payload["data"]["attributes"].update(attributes)
    return payload


def _paths(value, prefix=()):
    """Every (container path, key) in a JSON value."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_payloads(draw) -> dict:
    """A real fixture with fields deleted or replaced by junk (wrong types, huge, NUL, unicode)."""
    payload = copy.deepcopy(draw(st.sampled_from(PAYLOADS)))
    for _ in range(draw(st.integers(1, 4))):
        *parent_path, key = draw(st.sampled_from(list(_paths(payload))))
        parent = payload
        for step in parent_path:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = draw(json_values)
        if not list(_paths(payload)):
            break
    return payload


def _signed_post(client: Client, body: bytes):
    return post_webhook(client, body, signature=signature_expected(body, "test-webhook-secret"))


@pytest.fixture
def mirror(db):
    """Every fixture delivered and processed once, so junk also meets existing rows (stale checks)."""
    client = Client()
    for payload in PAYLOADS:
        assert _signed_post(client, json.dumps(payload).encode()).status_code == 200
    for event in WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED):
        webhook_event_task(event.pk)
    return client


def _deliver_and_process(client: Client, body: bytes) -> None:
    """Post signed, then run the queue's entry point for what was stored; roll everything back after."""
    with transaction.atomic():
        before = WebhookEvent.objects.count()
        response = _signed_post(client, body)
        assert response.status_code in (200, 400), (response.status_code, response.content[:300])
        if response.status_code == 400:
            assert response.json()["detail"], response.content
            assert WebhookEvent.objects.count() == before
        else:
            assert response.json()["status"] in ("accepted", "duplicate")
            event = WebhookEvent.objects.get(event_id=response.json()["event_id"], org__in=_orgs(body))
            if event.status == WebhookEvent.Status.RECEIVED:
                webhook_event_task(event.pk)
                event.refresh_from_db()
            # Tolerant readers: a payload that passed intake is mirrored or ignored with a reason,
            # never failed (which would retry it for nothing) nor left waiting.
            assert event.status in SETTLED, event.error
            assert event.status == WebhookEvent.Status.PROCESSED or event.reason
        transaction.set_rollback(True)


def _orgs(body: bytes) -> list[str]:
    return [as_str(json.loads(body).get("org"), 64)]


@FUZZ
@given(payload=st.one_of(mutated_payloads(), mutated_payloads(), json_values))
@example(payload={"id": "a\x00b", "name": "kustomer.customer.create", "data": {}})
@example(payload={"id": "\ud800", "name": "kustomer.customer.create", "data": {}})
@example(payload=with_attributes("message_create_inbound", preview="x\ud800", meta={"\udc00": "\x00"}))
@example(payload=with_attributes("conversation_update_status_done", custom={"score": float("nan")}))
@example(payload=with_attributes("customer_update", rev=None, updatedAt="2030-01-01T00:00:00"))
@example(payload=with_attributes("customer_update", rev="²"))
@example(payload=with_attributes("customer_update", rev="--5"))
@example(payload=with_attributes("customer_update", rev="9" * 5000))
@example(payload=with_attributes("conversation_create", rev=2**63, messageCount=10**12))
@example(payload=with_attributes("message_update", rev=None, updatedAt="9999-12-31T23:59:59-05:00"))
def test_signed_junk_is_accepted_or_refused_and_never_left_unprocessed(mirror, payload):
    _deliver_and_process(mirror, json.dumps(payload).encode())


@hypothesis_settings(FUZZ, max_examples=60)
@given(body=st.binary(max_size=2048))
@example(body=b"[" * 100_000)
@example(body=b'{"id": "1", "name": "x", "data": ' + b"[" * 5000 + b"}")
@example(body=b"\xef\xbb\xbf{}")
def test_signed_random_bytes_are_refused_with_400(mirror, body):
    _deliver_and_process(mirror, body)


@hypothesis_settings(FUZZ, max_examples=60)
@given(
    body=st.one_of(st.binary(max_size=2048), st.sampled_from([json.dumps(p).encode() for p in PAYLOADS])),
    signature=st.one_of(
        st.none(),
        st.text(max_size=80),
        st.text("0123456789abcdef", min_size=64, max_size=64),
        st.just("é" * 64),
    ),
)
@example(body=json.dumps(PAYLOADS[0]).encode(), signature="é" * 64)
@example(body=json.dumps(PAYLOADS[0]).encode(), signature="\x00")
def test_unsigned_or_wrongly_signed_bytes_are_401_and_nothing_is_stored(mirror, body, signature):
    before = WebhookEvent.objects.count()
    if signature is not None and signature.strip().lower() == signature_expected(body, "test-webhook-secret"):
        return
    response = post_webhook(mirror, body, signature=signature or "")
    assert response.status_code == 401, (response.status_code, response.content[:300])
    assert "WWW-Authenticate" in response.headers
    assert WebhookEvent.objects.count() == before


@hypothesis_settings(FUZZ, max_examples=20)
@given(body=st.binary(min_size=1025, max_size=4096))
def test_bodies_over_the_limit_are_413_signed_or_not(mirror, body, settings):
    settings.KUSTOMER_WEBHOOK_MAX_BYTES = 1024
    before = WebhookEvent.objects.count()
    assert _signed_post(mirror, body).status_code == 413
    assert post_webhook(mirror, body, signature="").status_code == 413
    assert WebhookEvent.objects.count() == before
