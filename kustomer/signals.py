"""The two dispatch points later pipelines plug into; each fires once per occurrence.

Receivers get `conversation` (a kustomer.models.Conversation), `occurrence` and `event`; they
run inside the processing transaction and should only enqueue work on commit.
"""

from django.dispatch import Signal

conversation_needs_classification = Signal()
conversation_resolved = Signal()
