"""The two dispatch points later pipelines plug into; each fires once per occurrence.

Receivers get `conversation` (a kustomer.models.Conversation), `occurrence` and `event`; they
run inside the processing transaction and should only enqueue work on commit.
"""

from collections.abc import Callable, Iterable

from django.dispatch import Signal

conversation_needs_classification = Signal()
conversation_resolved = Signal()

# Functions that name custom attributes BearScope writes on conversations (the classification
# settings register theirs); an update touching only those is our own echo and is ignored.
own_custom_attribute_sources: list[Callable[[], Iterable[str]]] = []
