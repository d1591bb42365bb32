"""Forms of the triage pages: the queue filters and the reviewer's decision."""

import re

from django import forms

from .languages import language_choices
from .models import Classification, ComplexityLevel, Intent, PriorityLevel
from .reasons import QueueReason, RouteReason
from .selectors import QUEUE_BANDS, QUEUE_SORTS, QueueFilters, triage_languages

SLUG = re.compile(r"[-a-zA-Z0-9_]{1,64}")
LANGUAGE = re.compile(r"[a-z]{2}")
QUEUE_REASONS: dict[str, str] = {**dict(QueueReason.choices), **dict(RouteReason.choices)}


def queue_filters_from(data) -> QueueFilters:
    """The queue filters from a query string; unknown values are dropped, never an error.

    Values are not checked against what is waiting now: the filter must survive reviewing the
    last matching conversation, so the reviewer hears that the filtered queue is empty.
    """
    intent = data.get("intent", "")
    band = data.get("band", "")
    channel = data.get("channel", "")
    language = data.get("language", "")
    reason = data.get("reason", "")
    sort = data.get("sort", "")
    return QueueFilters(
        intent=intent if SLUG.fullmatch(intent) else "",
        band=band if band in QUEUE_BANDS else "",
        channel=channel if 0 < len(channel) <= 64 else "",
        language=language if LANGUAGE.fullmatch(language) else "",
        reason=reason if reason in QUEUE_REASONS else "",
        sort=sort if sort in QUEUE_SORTS else "",
    )


class QueueFilterForm(forms.Form):
    """The queue's filters as a GET form."""

    intent = forms.ChoiceField(required=False, label="Intent")
    band = forms.ChoiceField(required=False, label="Confidence")
    channel = forms.ChoiceField(required=False, label="Channel")
    language = forms.ChoiceField(required=False, label="Customer language")
    reason = forms.ChoiceField(required=False, label="Why in triage")
    sort = forms.ChoiceField(required=False, label="Sort", choices=list(QUEUE_SORTS.items()))

    def __init__(self, *args, filters: QueueFilters, channels: list[str], **kwargs) -> None:
        kwargs.setdefault("initial", filters.as_query())
        super().__init__(*args, **kwargs)
        intents = Intent.objects.filter(parent__isnull=True).order_by("position", "key")
        self.fields["intent"].choices = [("", "All intents")] + [(i.key, i.name) for i in intents]
        self.fields["band"].choices = [("", "Any confidence")] + [(k, v[0]) for k, v in QUEUE_BANDS.items()]
        if filters.channel and filters.channel not in channels:
            channels = sorted([*channels, filters.channel])
        self.fields["channel"].choices = [("", "All channels")] + [(c, c.capitalize()) for c in channels]
        languages = {*triage_languages(), *([filters.language] if filters.language else [])}
        self.fields["language"].choices = [("", "All languages"), *language_choices(sorted(languages))]
        self.fields["reason"].choices = [("", "Any reason"), *QUEUE_REASONS.items()]


class SubIntentSelect(forms.Select):
    """A select grouped by intent whose options carry their intent, for the page's script."""

    def __init__(self, *args, parent_of: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.parent_of = parent_of or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None) -> dict:
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        parent = self.parent_of.get(str(value))
        if parent:
            option["attrs"]["data-intent"] = parent
        return option


class IntentChoiceField(forms.ModelChoiceField):
    """Intents by the name reviewers know, not the key written to Kustomer."""

    def label_from_instance(self, obj: Intent) -> str:
        return obj.name


class TriageReviewForm(forms.Form):
    """Confirm or correct the AI's proposal; the sub-intent must belong to the chosen intent."""

    intent = IntentChoiceField(queryset=Intent.objects.none(), label="Intent", empty_label=None)
    sub_intent = forms.ModelChoiceField(
        queryset=Intent.objects.none(),
        required=False,
        label="Sub-intent",
        widget=SubIntentSelect,
    )
    priority = forms.ModelChoiceField(
        queryset=PriorityLevel.objects.all(), label="Priority", empty_label=None
    )
    complexity = forms.ModelChoiceField(
        queryset=ComplexityLevel.objects.all(), label="Complexity", empty_label=None
    )
    note = forms.CharField(
        required=False,
        label="Note for the team",
        help_text="Optional. Why you corrected it, or anything the next reviewer should know.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, classification: Classification, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        # An audit is reviewed blind: nothing of the AI's answer is pre-filled, so the label is the
        # reviewer's own.
        blind = classification.audit
        if not blind:
            kwargs.setdefault(
                "initial",
                {
                    "intent": classification.intent_id,
                    "sub_intent": classification.sub_intent_id,
                    "priority": classification.priority_id,
                    "complexity": classification.complexity_id,
                },
            )
        super().__init__(*args, **kwargs)
        if blind:
            self.fields["priority"].empty_label = "Choose a priority"
            self.fields["complexity"].empty_label = "Choose a complexity"
        intents = list(Intent.objects.filter(parent__isnull=True, active=True).order_by("position", "key"))
        subs = list(
            Intent.objects.filter(parent__in=intents, active=True).order_by("parent_id", "position", "key")
        )
        intent_field = self.fields["intent"]
        intent_field.queryset = Intent.objects.filter(pk__in=[i.pk for i in intents]).order_by(
            "position", "key"
        )
        if blind or classification.intent_id is None:
            # No proposal (the classifier failed) or a blind audit: the reviewer chooses, no default.
            intent_field.empty_label = "Choose an intent"
        sub_field = self.fields["sub_intent"]
        sub_field.queryset = Intent.objects.filter(pk__in=[s.pk for s in subs])
        grouped = [
            (intent.name, [(sub.pk, sub.name) for sub in subs if sub.parent_id == intent.pk])
            for intent in intents
        ]
        sub_field.widget.choices = [("", "No sub-intent"), *[group for group in grouped if group[1]]]
        sub_field.widget.parent_of = {str(sub.pk): str(sub.parent_id) for sub in subs}

    def clean(self) -> dict:
        data = super().clean()
        intent, sub_intent = data.get("intent"), data.get("sub_intent")
        if intent and sub_intent and sub_intent.parent_id != intent.pk:
            self.add_error(
                "sub_intent",
                f"“{sub_intent.name}” is not a sub-intent of “{intent.name}”. Choose one of its own.",
            )
        return data
