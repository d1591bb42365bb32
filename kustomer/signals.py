"""The dispatch points the pipelines plug into, each fired once per occurrence by kustomer/services.py.

Receivers run inside the event's processing transaction and only enqueue work on commit. Every
signal gets `conversation` (a kustomer.models.Conversation) and `event` (the WebhookEvent).

- `conversation_needs_classification` (also `occurrence`): the first inbound customer message.
  Receiver: classification.receivers.on_needs_classification → queues
  classification.tasks.conversation_classify.
- `conversation_resolved` (also `occurrence`, `resolved_at`): the status became done (again, after a
  reopen: the next occurrence). Receiver: intelligence.receivers.on_resolved → schedules the
  analysis (intelligence.services.analysis_schedule) after the quiet period.
- `customer_message_received` (also `message`): each new inbound message mirrored, not a duplicate.
  Receivers: autoreply.receivers.on_customer_message → autoreply's escalation_open (a customer who
  writes again after an auto-reply gets a person); classification.receivers.on_customer_message →
  reclassification_request (a conversation waiting in triage or classified on too little text is
  classified again).
"""

from django.dispatch import Signal

conversation_needs_classification = Signal()
conversation_resolved = Signal()
customer_message_received = Signal()
