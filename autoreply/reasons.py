"""The guardrail checks and the reasons a reply is blocked, in the support team's words: one home each."""

from django.db import models


class Check(models.TextChoices):
    """Every check between a classification and a reply, in the order the chain runs them."""

    SWITCH = "switch", "Auto-replies switched on"
    CLASSIFICATION = "classification", "Classified automatically (not waiting in triage)"
    INTENT = "intent", "Intent allowed to auto-reply"
    CONFIDENCE = "confidence", "Confident enough"
    CHANNEL = "channel", "Channel supported"
    SENTIMENT = "sentiment", "Customer not upset"
    LANGUAGE = "language", "Reply template in the customer's language"
    FIRST_CONTACT = "first_contact", "First contact (no reply yet)"
    AUTOMATED_SENDER = "automated_sender", "Written by a person, not an auto-responder"
    FIRST_CONTACT_KUSTOMER = "first_contact_kustomer", "No reply yet in Kustomer"
    DATA = "data", "Order found and belongs to the customer"
    TEMPLATE = "template", "Reply complete"
    KUSTOMER = "kustomer", "Kustomer reachable"


class BlockReason(models.TextChoices):
    """Why a decision did not reply: the check that blocked, or what the data check found."""

    SWITCH = Check.SWITCH.value, "Auto-replies switched off"
    CLASSIFICATION = Check.CLASSIFICATION.value, "Waiting in triage"
    INTENT = Check.INTENT.value, "Intent not allowed (no policy, or policy off)"
    CONFIDENCE = Check.CONFIDENCE.value, "Not confident enough"
    CHANNEL = Check.CHANNEL.value, "Channel not supported"
    SENTIMENT = Check.SENTIMENT.value, "Customer upset (negative sentiment)"
    LANGUAGE = Check.LANGUAGE.value, "No template in the customer's language"
    FIRST_CONTACT = Check.FIRST_CONTACT.value, "Not the first contact"
    AUTOMATED_SENDER = Check.AUTOMATED_SENDER.value, "Sent by an auto-responder"
    FIRST_CONTACT_KUSTOMER = Check.FIRST_CONTACT_KUSTOMER.value, "Already answered in Kustomer"
    ORDER_NOT_FOUND = "order_not_found", "Order not found"
    ORDER_CUSTOMER_MISMATCH = "order_customer_mismatch", "Order belongs to someone else"
    ORDER_AMBIGUOUS = "order_ambiguous", "Several recent orders, none named"
    ORDER_DATA_INVALID = "order_data_invalid", "Order data not fit for a reply"
    IDENTITY_UNVERIFIED = "identity_unverified", "Customer's email or phone not verified (chat, SMS)"
    TEMPLATE = Check.TEMPLATE.value, "Reply incomplete"
    KUSTOMER_UNAVAILABLE = "kustomer_unavailable", "Kustomer unreachable"


def check_label(check: str) -> str:
    """A stored check's name in the team's words (an unknown one as it is)."""
    return Check(check).label if check in Check.values else check
