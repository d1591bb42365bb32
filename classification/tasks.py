"""django-q2 entry points of the classification pipeline: take ids, call one service."""

from bearscope.sweeps import sweep_run
from kustomer.models import Conversation

from .local import services as local_services
from .local.model import LocalModelError
from .models import Classification
from .services import classifying, reclassifying, writeback


def conversation_classify(conversation_pk: int) -> str:
    classification = classifying.conversation_classify(conversation_pk=conversation_pk)
    return classification.route or classification.status if classification else "disabled"


def conversation_reclassify(classification_pk: int) -> str:
    classification = reclassifying.conversation_reclassify(classification_pk=classification_pk)
    return f"re-classified: {classification.route or classification.status}" if classification else "not due"


def classification_write_back(classification_pk: int) -> str:
    return writeback.classification_write_back(classification_pk=classification_pk).writeback_status


def sweep() -> str:
    """Periodic: re-enqueue stuck classifications, write-backs that failed or never ran, and
    re-classifications long due."""
    return sweep_run(
        sweeper="Classification sweeper",
        steps=[
            ("conversations to classify", Conversation, classifying.classification_stuck_sweep),
            ("write-backs", Classification, writeback.writeback_sweep),
            ("re-classifications due", Classification, reclassifying.reclassifications_due_sweep),
        ],
    ).summary


def local_model_retrain() -> str:
    """Periodic: train a new local model once enough triage reviews have arrived since the last one."""
    version = local_services.local_model_retrain_if_due()
    return f"trained {version}" if version else "not due"


def local_model_train(trained_by: str) -> str:
    """On request from the admin: train and activate a new local model."""
    try:
        version = local_services.local_model_train(trained_by=trained_by)
    except LocalModelError as exc:  # not enough labelled data: an answer, not a failure to retry
        return f"not trained: {exc}"
    return f"trained {version}" if version else "training data unchanged"
