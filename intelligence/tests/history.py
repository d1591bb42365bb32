"""The sandbox's seeded history copied straight into the mirror, for backtest tests and figures.

The same generator the sandbox seeds from (kustomer/sandbox/history.py), without HTTP: tests of
backtests need a mirror full of past conversations, not the import that fills it.
"""

from datetime import UTC, datetime, timedelta

from kustomer.models import Conversation, Customer, Message
from kustomer.sandbox import history
from kustomer.sandbox.resources import parse_iso

TEAMS = {
    "General Support": ("team-general", [("user-ana", "Ana"), ("user-ben", "Ben")]),
    "Shipping": ("team-shipping", [("user-cy", "Cy")]),
}


def history_mirror(count: int, *, seed: int = 2024) -> dict[str, dict]:
    """Fill the mirror with `count` past conversations; returns the sandbox's labels by conversation id."""
    past = history.generate(count, seed=seed, now=datetime.now(UTC), teams=TEAMS)
    customers = {
        c["id"]: Customer(
            kustomer_id=c["id"], name=c["name"], emails=[c["email"]], external_id=c["externalId"]
        )
        for c in past.customers
    }
    Customer.objects.bulk_create(customers.values(), batch_size=500)
    by_id = {c.kustomer_id: c for c in Customer.objects.filter(kustomer_id__in=customers)}
    conversations, messages = [], []
    for conv in past.conversations:
        started = parse_iso(conv["createdAt"])
        conversations.append(
            Conversation(
                kustomer_id=conv["id"],
                customer=by_id[conv["customer"]],
                name=conv["subject"] or "",
                status=conv["status"],
                channels=[conv["channel"]],
                custom=conv["custom"],
                message_count=len(conv["messages"]),
                kustomer_created_at=started,
                kustomer_updated_at=started + timedelta(seconds=conv["messages"][-1]["after"]),
            )
        )
    Conversation.objects.bulk_create(conversations, batch_size=500)
    stored = {
        c.kustomer_id: c
        for c in Conversation.objects.filter(kustomer_id__in=[c["id"] for c in past.conversations])
    }
    for conv in past.conversations:
        started = parse_iso(conv["createdAt"])
        for message in conv["messages"]:
            messages.append(
                Message(
                    kustomer_id=message["id"],
                    conversation=stored[conv["id"]],
                    customer=by_id[conv["customer"]] if message["direction"] == "in" else None,
                    direction=message["direction"],
                    channel=conv["channel"],
                    subject=(conv["subject"] or "") if message is conv["messages"][0] else "",
                    body=message["text"],
                    sent_at=started + timedelta(seconds=message["after"]),
                )
            )
    Message.objects.bulk_create(messages, batch_size=1000)
    return past.labels
