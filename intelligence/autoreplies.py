"""Defensive reads of the auto-reply app's decisions: that app may not be installed or migrated yet."""

from django.apps import apps
from django.db import models

AUTOREPLY_APP, DECISION_MODEL = "autoreply", "AutoReplyDecision"
# Field names looked for on the decision model, first found wins.
MODE_FIELDS = ("mode",)
OUTCOME_FIELDS = ("outcome", "status", "verdict")
APPROVAL_FIELDS = ("shadow_approved", "approved", "review_verdict", "shadow_verdict")
SKIPPED_MODES = {"off"}


def decision_model() -> type[models.Model] | None:
    """The auto-reply decision model when the app and the model exist, else None."""
    if not apps.is_installed(AUTOREPLY_APP):
        return None
    try:
        return apps.get_model(AUTOREPLY_APP, DECISION_MODEL)
    except LookupError:
        return None


def _field(model: type[models.Model], names: tuple[str, ...]) -> str | None:
    present = {f.name for f in model._meta.get_fields()}
    return next((name for name in names if name in present), None)


def auto_reply_recorded(*, conversation_id: int) -> bool:
    """Whether the auto-reply pipeline acted on the conversation (any mode but off)."""
    model = decision_model()
    if model is None or _field(model, ("conversation",)) is None:
        return False
    decisions = model.objects.filter(conversation_id=conversation_id)
    mode = _field(model, MODE_FIELDS)
    if mode:
        decisions = decisions.exclude(**{f"{mode}__in": SKIPPED_MODES})
    return decisions.exists()


def outcome_fields() -> tuple[str | None, str | None, str | None]:
    """(mode, outcome, approval) field names on the decision model; Nones when absent."""
    model = decision_model()
    if model is None:
        return None, None, None
    return _field(model, MODE_FIELDS), _field(model, OUTCOME_FIELDS), _field(model, APPROVAL_FIELDS)
