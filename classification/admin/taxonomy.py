"""Admin of the taxonomy (intents, priorities, complexities, business rules) and the classifier settings."""

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from bearscope.admin import SingletonAdmin
from bearscope.llm import price_list

from ..models import (
    BusinessRule,
    ClassifierSettings,
    ComplexityLevel,
    Intent,
    LocalModelVersion,
    PriorityLevel,
    PromptExample,
)
from .local_models import figure


class SubIntentInline(admin.TabularInline):
    model = Intent
    fk_name = "parent"
    fields = (
        "key",
        "name",
        "description",
        "examples",
        "active",
        "position",
        "default_priority",
        "default_complexity",
    )
    extra = 0
    verbose_name = "sub-intent"
    verbose_name_plural = "sub-intents"


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "active", "auto_route_threshold", "sub_intent_count", "position")
    list_editable = ("active", "position")
    list_filter = ("active",)
    search_fields = ("key", "name", "description")
    fields = (
        "key",
        "name",
        "description",
        "examples",
        "active",
        "position",
        "auto_route_threshold",
        "default_priority",
        "default_complexity",
    )
    inlines = [SubIntentInline]

    def get_queryset(self, request):
        # The list shows intents; sub-intents are edited inside their intent.
        return (
            super()
            .get_queryset(request)
            .filter(parent__isnull=True)
            .annotate(subs=Count("sub_intents", filter=Q(sub_intents__active=True)))
        )

    @admin.display(description="Active sub-intents", ordering="subs")
    def sub_intent_count(self, obj: Intent) -> int:
        return obj.subs


@admin.register(PriorityLevel)
class PriorityLevelAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "kustomer_priority", "position")
    list_editable = ("kustomer_priority", "position")


@admin.register(ComplexityLevel)
class ComplexityLevelAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "description", "position")
    list_editable = ("position",)


@admin.register(BusinessRule)
class BusinessRuleAdmin(admin.ModelAdmin):
    list_display = ("text", "active", "position")
    list_editable = ("active", "position")


@admin.register(ClassifierSettings)
class ClassifierSettingsAdmin(SingletonAdmin):
    fieldsets = (
        (
            None,
            {
                "description": "Claude's prices: " + price_list(),
                "fields": (
                    "enabled",
                    "model_id",
                    "auto_route_threshold",
                    "max_tokens",
                    "conversation_char_budget",
                ),
            },
        ),
        (
            "Personal data",
            {
                "description": "What leaves for Claude: see docs/privacy.md for what is redacted and how.",
                "fields": ("redact_personal_data", "phone_region"),
            },
        ),
        (
            "Local classifier",
            {
                "description": "A small model trained on your own labelled messages (Admin, Local "
                "classifier versions). Its confidence is the probability, measured when it was trained, "
                "that its answer is right. When it decides alone, priority and complexity come from the "
                "intent's defaults (else the lowest level).",
                "fields": (
                    "active_local_model",
                    "local_offline_default",
                    "local_fallback",
                    "local_fallback_threshold",
                    "local_cascade",
                    "local_cascade_threshold",
                    "local_retrain_min_reviews",
                ),
            },
        ),
        (
            "Audit of automatic routing",
            {
                "description": "A share of the conversations routed automatically also enter the triage "
                "queue as blind audits (reason: Audit). The quality report shows agreement on the latest "
                "audits; below the floor it warns and an error is logged once.",
                "fields": ("audit_share", "audit_window", "audit_agreement_floor"),
            },
        ),
        (
            "Following the conversation",
            {
                "description": "A customer's next message classifies the conversation again when it "
                "waits in triage unreviewed, or was classified on too little text; never after a "
                "review or a reply.",
                "fields": ("min_meaningful_words", "max_reclassifications", "reclassify_debounce_seconds"),
            },
        ),
    )

    readonly_fields = ("active_local_model",)

    @admin.display(description="Active local model")
    def active_local_model(self, obj: ClassifierSettings) -> str:
        version = LocalModelVersion.objects.filter(active=True).defer("artifact").first()
        if version is None:
            return (
                "None trained yet: run manage.py classifier_train, or use Train a new version now on "
                "the local model versions page."
            )
        return format_html(
            '<a href="{}">{}</a>: trained {} by {} on {} examples, cross-validated accuracy {}',
            reverse("admin:classification_localmodelversion_change", args=[version.pk]),
            version,
            version.created_at.strftime("%Y-%m-%d %H:%M"),
            version.trained_by,
            version.example_count,
            figure(version.validation.get("accuracy")),
        )


@admin.register(PromptExample)
class PromptExampleAdmin(admin.ModelAdmin):
    """The few-shot examples in the classifier's prompt: intents' examples live on the intents, these are
    reviewed messages an admin promoted (Classifications, action "Use as few-shot examples")."""

    list_display = ("text", "intent", "sub_intent", "active", "promoted_by", "created_at")
    list_filter = ("active", "intent")
    list_editable = ("active",)
    fields = ("text", "intent", "sub_intent", "active", "source", "promoted_by", "created_at")
    readonly_fields = ("source", "promoted_by", "created_at")
