"""Admin of classifications (with their inputs, costs and write-back) and triage reviews."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from kustomer.models import Conversation

from ..models import (
    Classification,
    TriageReview,
)
from ..services.classifying import conversations_reclassify
from ..services.examples import examples_promote
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
        "reclassify_reason",
    )
    list_filter = (
        "route",
        "route_reason",
        "reclassify_reason",
        "provider",
        "provider_reason",
        "writeback_status",
        "status",
        "current",
        "intent",
        "sentiment",
        "language",
    )
    search_fields = ("=conversation__kustomer_id",)
    list_select_related = ("conversation", "intent", "sub_intent")
    date_hierarchy = "classified_at"
    actions = ["reclassify", "retry_write_back", "promote_to_example"]
    inlines = [ReviewInline]
    fieldsets = (
        (
            "Result",
            {
                "fields": (
                    "conversation",
                    "current",
                    "reclassify_reason",
                    "conversation_history",
                    "status",
                    "intent",
                    "sub_intent",
                    "priority",
                    "complexity",
                    "confidence",
                    "sub_intent_confidence",
                    "rationale",
                    "entities",
                    "language",
                    "sentiment",
                    "route",
                    "route_reason",
                    "route_threshold",
                    "audit",
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
                    "redactions",
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

    readonly_fields = ("conversation_history",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="All classifications of this conversation")
    def conversation_history(self, obj: Classification) -> str:
        rows = (
            Classification.objects.filter(conversation_id=obj.conversation_id)
            .select_related("intent", "sub_intent")
            .order_by("created_at", "pk")
        )
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a>{} — {}, {}{}</li>',
                (
                    (
                        reverse("admin:classification_classification_change", args=[row.pk]),
                        date_format(
                            timezone.localtime(row.classified_at or row.created_at), "DATETIME_FORMAT"
                        ),
                        " (this one)" if row.pk == obj.pk else "",
                        " / ".join(i.name for i in (row.intent, row.sub_intent) if i) or "no intent",
                        row.get_route_display() or row.get_status_display(),
                        f"; {row.get_reclassify_reason_display()}" if row.reclassify_reason else "",
                    )
                    for row in rows
                ),
            ),
        )

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


    def has_promote_permission(self, request) -> bool:
        return request.user.has_perm("classification.add_promptexample")

    @admin.action(description="Use as few-shot examples in the classifier's prompt", permissions=["promote"])
    def promote_to_example(self, request, queryset) -> None:
        reviewed = queryset.filter(review__isnull=False).select_related("conversation", "review")
        count = examples_promote(classifications=reviewed, promoted_by=request.user)
        skipped = queryset.count() - count
        message = f"{count} reviewed conversation(s) added as examples, personal data redacted."
        if skipped:
            message += f" {skipped} skipped: not reviewed yet, or already an example."
        self.message_user(request, message, messages.SUCCESS if count else messages.WARNING)


@admin.register(TriageReview)
class TriageReviewAdmin(admin.ModelAdmin):
    list_display = ("classification", "reviewer", "intent", "sub_intent", "agreed", "created_at")
    list_filter = ("agreed", "intent")
    readonly_fields = [f.name for f in TriageReview._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # reviews are the evidence readiness and audits are computed from
