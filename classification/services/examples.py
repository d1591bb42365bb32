"""Few-shot examples: a reviewed conversation becomes one only when an admin promotes it."""

from collections.abc import Iterable

from django.db import transaction

from ..models import Classification, PromptExample
from ..redaction import example_text


def examples_promote(*, classifications: Iterable[Classification], promoted_by=None) -> int:
    """Promote reviewed classifications to examples (redacted, with the reviewer's labels); returns how many.

    Unreviewed ones, and ones promoted already, are skipped: the label must be a person's.
    """
    count = 0
    with transaction.atomic():
        for classification in classifications:
            review = getattr(classification, "review", None)
            if review is None or PromptExample.objects.filter(source=classification).exists():
                continue
            text = example_text(conversation=classification.conversation)
            if not text:
                continue
            PromptExample.objects.create(
                text=text,
                intent=review.intent,
                sub_intent=review.sub_intent,
                source=classification,
                promoted_by=promoted_by,
            )
            count += 1
    return count
