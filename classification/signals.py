"""Dispatch point later pipelines plug into: a classification was decided (auto or triage)."""

from django.dispatch import Signal

# Sent once per decided classification with `classification` (a Classification); receivers run
# inside the saving transaction and should only enqueue work on commit.
classification_decided = Signal()
