"""The custom attributes BearScope writes on Kustomer conversations: one list, names editable in the admin."""

from dataclasses import dataclass


@dataclass(frozen=True)
class OwnAttribute:
    """One attribute we write: its field on CustomAttributeNames, default name, label in Kustomer's UI."""

    field: str
    default: str
    display_name: str
    written_by: str


OWN_ATTRIBUTES = (
    OwnAttribute("intent", "aiIntentStr", "AI intent", "classification"),
    OwnAttribute("sub_intent", "aiSubIntentStr", "AI sub-intent", "classification"),
    OwnAttribute("priority", "aiPriorityStr", "AI priority", "classification"),
    OwnAttribute("complexity", "aiComplexityStr", "AI complexity", "classification"),
    OwnAttribute("confidence", "aiConfidenceNum", "AI confidence", "classification"),
    OwnAttribute("route", "aiRouteStr", "AI route (auto or triage)", "classification"),
    OwnAttribute("classified_at", "aiClassifiedAt", "AI classified at", "classification"),
    OwnAttribute("language", "aiLanguageStr", "AI customer language", "classification"),
    OwnAttribute("sentiment", "aiSentimentStr", "AI customer sentiment", "classification"),
    OwnAttribute("reviewed", "aiReviewedBool", "AI reviewed by a person", "triage review"),
    OwnAttribute("escalated", "aiEscalatedBool", "AI escalated after an auto-reply", "auto-reply"),
)
DEFAULTS = {attribute.field: attribute.default for attribute in OWN_ATTRIBUTES}
