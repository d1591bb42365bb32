"""django-q2 entry points of the classification pipeline: take ids, call one service."""

from . import services


def conversation_classify(conversation_pk: int) -> str:
    classification = services.conversation_classify(conversation_id=conversation_pk)
    return classification.route or classification.status if classification else "disabled"


def classification_write_back(classification_pk: int) -> str:
    return services.classification_write_back(classification_id=classification_pk).writeback_status


def sweep() -> str:
    """Periodic: re-enqueue stuck classifications and write-backs that failed or never ran."""
    return (
        f"classifications {services.classification_stuck_sweep()}, write-backs {services.writeback_sweep()}"
    )
