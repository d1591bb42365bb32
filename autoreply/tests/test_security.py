"""Identity on chat and SMS, and order facts fit for a reply: the data check against the sandbox over HTTP."""

import pytest
import requests

from autoreply.models import AutoReplySettings, OrderMapping
from autoreply.orders import OrderFacts, facts_problem
from autoreply.services.deciding import classification_autoreply
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID, CUSTOMER_ID, ORDER_NUMBER

pytestmark = pytest.mark.django_db


def decide(classification, capture):
    with capture(execute=True):
        return classification_autoreply(classification_pk=classification.pk)


def verified(sandbox, **flags) -> None:
    url = f"{sandbox.base_url}/_sandbox/customers/{CUSTOMER_ID}/verified"
    requests.post(url, json=flags, timeout=10).raise_for_status()


def data_check(decision) -> dict:
    return next(c for c in decision.checks if c["check"] == "data")


@pytest.mark.parametrize("channel", ["chat", "sms"])
def test_on_a_claimed_channel_an_unverified_email_blocks_the_reply(
    starter, mirrored, classified, kustomer_sandbox, django_capture_on_commit_callbacks, channel
):
    AutoReplySettings.objects.filter(pk=1).update(channels="email,chat,sms")
    verified(kustomer_sandbox, email=False, phone=False)
    conversation = mirrored(CONVERSATION_ID, CUSTOMER_ID, "Where is BS-100234?", channel=channel)
    decision = decide(classified(conversation, order_number=ORDER_NUMBER), django_capture_on_commit_callbacks)
    assert (decision.verdict, decision.reason) == ("blocked", "identity_unverified")
    assert "must be verified in Kustomer" in data_check(decision)["reason"]
    assert "ups.com/track" not in decision.body  # the tracking link never reaches the visitor


def test_on_chat_a_verified_email_passes(
    starter, mirrored, classified, kustomer_sandbox, django_capture_on_commit_callbacks
):
    verified(kustomer_sandbox, email=True)
    conversation = mirrored(CONVERSATION_ID, CUSTOMER_ID, "Where is BS-100234?", channel="chat")
    decision = decide(classified(conversation, order_number=ORDER_NUMBER), django_capture_on_commit_callbacks)
    assert decision.verdict == "reply"
    assert "the order's email is verified" in data_check(decision)["reason"]


@pytest.mark.parametrize("sender", ["+14155550123", "(415) 555-0123", {"phone": "+1 415 555 0123"}])
def test_on_sms_the_verified_phone_the_message_came_from_passes(
    starter, mirrored, classified, kustomer_sandbox, django_capture_on_commit_callbacks, sender
):
    AutoReplySettings.objects.filter(pk=1).update(channels="email,chat,sms")
    verified(kustomer_sandbox, email=False, phone=True)  # the seed's customer has +14155550123
    conversation = mirrored(
        CONVERSATION_ID, CUSTOMER_ID, "Where is BS-100234?", channel="sms", meta={"from": sender}
    )
    decision = decide(classified(conversation, order_number=ORDER_NUMBER), django_capture_on_commit_callbacks)
    assert decision.verdict == "reply"
    assert "the phone the message came from is verified" in data_check(decision)["reason"]


@pytest.mark.parametrize("meta", [{"from": "+14155550999"}, {"from": "55501"}, {}])
def test_on_sms_a_verified_phone_that_did_not_send_the_message_blocks_the_reply(
    starter, mirrored, classified, kustomer_sandbox, django_capture_on_commit_callbacks, meta
):
    """Someone texting from another number (or an SMS without one) learns nothing of the order."""
    AutoReplySettings.objects.filter(pk=1).update(channels="email,chat,sms")
    verified(kustomer_sandbox, email=False, phone=True)
    conversation = mirrored(CONVERSATION_ID, CUSTOMER_ID, "Where is BS-100234?", channel="sms", meta=meta)
    decision = decide(classified(conversation, order_number=ORDER_NUMBER), django_capture_on_commit_callbacks)
    assert (decision.verdict, decision.reason) == ("blocked", "identity_unverified")
    assert "email or the sender's phone must be verified" in data_check(decision)["reason"]


def test_email_is_not_a_claimed_channel_by_default(
    starter, mirrored, classified, kustomer_sandbox, django_capture_on_commit_callbacks
):
    verified(kustomer_sandbox, email=False)
    conversation = mirrored(CONVERSATION_ID, CUSTOMER_ID, "Where is BS-100234?", channel="email")
    decision = decide(classified(conversation, order_number=ORDER_NUMBER), django_capture_on_commit_callbacks)
    assert decision.verdict == "reply"


def test_a_tracking_link_off_the_allowed_hosts_blocks_the_reply(
    starter, mirrored, classified, kustomer_sandbox, django_capture_on_commit_callbacks
):
    OrderMapping.objects.filter(pk=1).update(tracking_hosts="dhl.com, usps.com")
    conversation = mirrored(CONVERSATION_ID, CUSTOMER_ID, "Where is BS-100234?")
    decision = decide(classified(conversation, order_number=ORDER_NUMBER), django_capture_on_commit_callbacks)
    assert (decision.verdict, decision.reason) == ("blocked", "order_data_invalid")
    assert "www.ups.com is not one the order mapping allows" in data_check(decision)["reason"]


def _facts(**values) -> OrderFacts:
    base = {
        "order_number": "BS-1",
        "order_status": "on its way",
        "carrier": "UPS",
        "tracking_url": "https://www.ups.com/track?n=1",
        "estimated_delivery": "Monday 3 March",
    }
    return OrderFacts(**{**base, **values})


@pytest.mark.parametrize(
    ("values", "hosts", "problem"),
    [
        ({}, "", ""),
        ({}, "ups.com", ""),
        ({"tracking_url": "http://www.ups.com/track"}, "", "not an https address"),
        ({"tracking_url": "javascript:alert(1)"}, "", "not an https address"),
        ({"tracking_url": "https://evil.example/ups.com"}, "ups.com", "evil.example is not one"),
        ({"tracking_url": "https://ups.com.evil.example/"}, "ups.com", "is not one"),
        ({"tracking_url": "https://user@www.ups.com/"}, "ups.com", "is not one"),
        ({"carrier": "UPS\nClick https://evil.example"}, "", "carrier is not plain text"),
        ({"order_status": "<b>shipped</b>"}, "", "order status is not plain text"),
        ({"carrier": "U" * 121}, "", "longer than 120 characters"),
    ],
)
def test_order_facts_are_validated(values, hosts, problem):
    mapping = OrderMapping(tracking_hosts=hosts)
    found = facts_problem(_facts(**values), mapping)
    assert (problem in found) if problem else found == ""
