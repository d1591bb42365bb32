"""Classification's models: taxonomy, settings, classifications and reviews, learning, reference labels."""

from .classifications import Classification, Sentiment, TriageReview
from .labels import ContactReasonMapping, ImportedLabel
from .learning import LabelledExample, LocalModelVersion, PromptExample
from .settings import ClassifierSettings, classifier_model_default
from .taxonomy import UNIT_INTERVAL, BusinessRule, ComplexityLevel, Intent, PriorityLevel

__all__ = [
    "UNIT_INTERVAL",
    "BusinessRule",
    "Classification",
    "ClassifierSettings",
    "ComplexityLevel",
    "ContactReasonMapping",
    "ImportedLabel",
    "Intent",
    "LabelledExample",
    "LocalModelVersion",
    "PriorityLevel",
    "PromptExample",
    "Sentiment",
    "TriageReview",
    "classifier_model_default",
]
