"""The dispatch point of the classification pipeline, fired by classification.services (routing, triage).

- `classification_decided` (`classification`: a Classification): a classification was routed,
  auto or triage, once. It runs inside the saving transaction and only enqueues work on commit.
  Receiver: autoreply.receivers.on_classification_decided → queues
  autoreply.tasks.classification_autoreply (the guardrail chain).
- `triage_reviewed` (`review`: a TriageReview): a reviewer confirmed or corrected a classification,
  once. It runs inside the saving transaction. Receiver: autoreply.receivers.on_triage_reviewed →
  queues autoreply.tasks.review_autoreply (the guardrail chain on the reviewed values).
"""

from django.dispatch import Signal

classification_decided = Signal()
triage_reviewed = Signal()
