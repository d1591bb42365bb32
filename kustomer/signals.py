"""The dispatch points later pipelines plug into; each fires once per occurrence.

Receivers get `conversation` (a kustomer.models.Conversation), `occurrence` and `event`
(`customer_message_received`: `conversation`, `message` and `event`); they run inside the
processing transaction and should only enqueue work on commit.
"""

from django.dispatch import Signal

conversation_needs_classification = Signal()
conversation_resolved = Signal()
# Once per new inbound message mirrored (a duplicate or update of a known message does not fire it).
customer_message_received = Signal()
