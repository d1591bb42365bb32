"""Admin of classifications (with their inputs, costs and write-back) and triage reviews."""

from django.contrib import admin, messages

from kustomer.models import Conversation

from ..models import (
    Classification,
    TriageReview,
)
from ..services.classifying import conversations_reclassify
from ..services.writeback import writebacks_enqueue


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
        "provider",
        "writeback_status",
        "classified_at",
        "current",
    )
    list_filter = (
        "route",
        "route_reason",
        "provider",
        "provider_reason",
        "writeback_status",
        "status",
        "current",
        "intent",
    )
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
                    "sub_intent_confidence",
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
                    "provider_reason",
                    "local_model",
                    "local_label",
                    "local_confidence",
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
        count = writebacks_enqueue(classification_pks=list(pending.values_list("pk", flat=True)))
        self.message_user(request, f"{count} write-back(s) queued.", messages.SUCCESS)


@admin.register(TriageReview)
class TriageReviewAdmin(admin.ModelAdmin):
    list_display = ("classification", "reviewer", "intent", "sub_intent", "agreed", "created_at")
    list_filter = ("agreed", "intent")
    readonly_fields = [f.name for f in TriageReview._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
