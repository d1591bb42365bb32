"""The dispatch point of the classification pipeline, fired by classification.services.routing.

- `classification_decided` (`classification`: a Classification): a classification was routed,
  auto or triage, once. It runs inside the saving transaction and only enqueues work on commit.
  Receiver: autoreply.receivers.on_classification_decided → queues
  autoreply.tasks.classification_autoreply (the guardrail chain).
"""

from django.dispatch import Signal

classification_decided = Signal()
