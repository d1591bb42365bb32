"""The ops leaders' classification admin: taxonomy, settings, classifications and reviews."""

from django.contrib import admin, messages
from django.db.models import Count, Q

from kustomer.models import Conversation

from .models import (
    BusinessRule,
    Classification,
    ClassifierSettings,
    ComplexityLevel,
    Intent,
    PriorityLevel,
    TriageReview,
)
from .services import conversations_reclassify, writebacks_enqueue


class SubIntentInline(admin.TabularInline):
    model = Intent
    fk_name = "parent"
    fields = ("key", "name", "description", "examples", "active", "position")
    extra = 0
    verbose_name = "sub-intent"
    verbose_name_plural = "sub-intents"


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "active", "auto_route_threshold", "sub_intent_count", "position")
    list_editable = ("active", "position")
    list_filter = ("active",)
    search_fields = ("key", "name", "description")
    fields = ("key", "name", "description", "examples", "active", "position", "auto_route_threshold")
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
class ClassifierSettingsAdmin(admin.ModelAdmin):
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "enabled",
                    "model_id",
                    "auto_route_threshold",
                    "max_tokens",
                    "conversation_char_budget",
                    "reviewed_examples",
                )
            },
        ),
        (
            "Kustomer custom attributes written on the conversation",
            {
                "fields": (
                    "attr_intent",
                    "attr_sub_intent",
                    "attr_priority",
                    "attr_complexity",
                    "attr_confidence",
                    "attr_route",
                    "attr_classified_at",
                    "attr_reviewed",
                )
            },
        ),
    )

    def has_add_permission(self, request) -> bool:
        return not ClassifierSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReviewInline(admin.StackedInline):
    model = TriageReview
    fields = ("reviewer", "intent", "sub_intent", "priority", "complexity", "agreed", "note", "created_at")
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Classification)
class ClassificationAdmin(admin.ModelAdmin):
    list_display = (
        "conversation",
        "intent",
        "sub_intent",
        "confidence",
        "route",
        "route_reason",
        "writeback_status",
        "classified_at",
        "current",
    )
    list_filter = ("route", "route_reason", "writeback_status", "status", "current", "intent")
    search_fields = ("=conversation__kustomer_id",)
    list_select_related = ("conversation", "intent", "sub_intent")
    date_hierarchy = "classified_at"
    actions = ["reclassify", "retry_write_back"]
    inlines = [ReviewInline]
    fieldsets = (
        (
            "Result",
            {
                "fields": (
                    "conversation",
                    "current",
                    "status",
                    "intent",
                    "sub_intent",
                    "priority",
                    "complexity",
                    "confidence",
                    "rationale",
                    "entities",
                    "route",
                    "route_reason",
                    "error",
                    "classified_at",
                )
            },
        ),
        (
            "How it was decided",
            {
                "fields": (
                    "provider",
                    "model_id",
                    "prompt_version",
                    "input_tokens",
                    "output_tokens",
                    "cache_creation_tokens",
                    "cache_read_tokens",
                    "cost_usd",
                    "latency_ms",
                    "prompt_input",
                    "raw_output",
                )
            },
        ),
        (
            "Write-back to Kustomer",
            {"fields": ("writeback_status", "writeback_attempts", "writeback_error", "written_back_at")},
        ),
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_reclassify_permission(self, request) -> bool:
        return request.user.has_perm("classification.add_classification")

    @admin.action(description="Re-classify these conversations", permissions=["reclassify"])
    def reclassify(self, request, queryset) -> None:
        conversations = Conversation.objects.filter(pk__in=queryset.values("conversation_id"))
        count = conversations_reclassify(conversations=conversations)
        self.message_user(request, f"{count} conversation(s) queued for classification.", messages.SUCCESS)

    @admin.action(description="Retry the write-back to Kustomer now", permissions=["reclassify"])
    def retry_write_back(self, request, queryset) -> None:
        pending = queryset.filter(current=True, status=Classification.Status.DONE).exclude(
            writeback_status=Classification.WriteBack.DONE
        )
        count = writebacks_enqueue(classification_ids=list(pending.values_list("pk", flat=True)))
        self.message_user(request, f"{count} write-back(s) queued.", messages.SUCCESS)


@admin.register(TriageReview)
class TriageReviewAdmin(admin.ModelAdmin):
    list_display = ("classification", "reviewer", "intent", "sub_intent", "agreed", "created_at")
    list_filter = ("agreed", "intent")
    readonly_fields = [f.name for f in TriageReview._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
