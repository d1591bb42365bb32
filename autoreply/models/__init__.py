"""Auto-reply's models, by part: settings, templates, policies, decisions and what followed them."""

from .decisions import AutoReply, AutoReplyDecision, Escalation, ShadowReview
from .policies import AutoReplyPolicy, PolicyAudit
from .settings import (
    DEFAULT_ESCALATION_LINE,
    LANGUAGE_CODE,
    UNIT_INTERVAL,
    AutoReplySettings,
    Mode,
    OrderMapping,
)
from .templates import ReplyTemplate, ReplyTemplateVariant, ReplyTemplateVersion

__all__ = [
    "DEFAULT_ESCALATION_LINE",
    "LANGUAGE_CODE",
    "UNIT_INTERVAL",
    "AutoReply",
    "AutoReplyDecision",
    "AutoReplyPolicy",
    "AutoReplySettings",
    "Escalation",
    "Mode",
    "OrderMapping",
    "PolicyAudit",
    "ReplyTemplate",
    "ReplyTemplateVariant",
    "ReplyTemplateVersion",
    "ShadowReview",
]
