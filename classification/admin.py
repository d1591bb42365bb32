"""The ops leaders' classification admin: taxonomy, settings, classifications, reviews, local models."""

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from bearscope.admin import SingletonAdmin
from bearscope.llm import price_list
from kustomer.models import Conversation

from .local.services import local_model_activate, local_model_train_enqueue
from .models import (
    BusinessRule,
    Classification,
    ClassifierSettings,
    ComplexityLevel,
    Intent,
    LabelledExample,
    LocalModelVersion,
    PriorityLevel,
    TriageReview,
)
from .services.classifying import conversations_reclassify
from .services.writeback import writebacks_enqueue


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
                    "reviewed_examples",
                )
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
            _figure(version.validation.get("accuracy")),
        )


def _figure(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "-"


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


@admin.register(LocalModelVersion)
class LocalModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "active",
        "created_at",
        "trained_by",
        "example_count",
        "label_count",
        "accuracy",
        "macro_f1",
        "size_mb",
        "train_seconds",
    )
    list_filter = ("active",)
    actions = ["activate"]
    fields = (
        "active",
        "created_at",
        "trained_by",
        "example_count",
        "label_count",
        "sources",
        "last_review_id",
        "train_seconds",
        "sklearn_version",
        "size_mb",
        "data_sha256",
        "validation_table",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Old versions may go; the active one is in use by every process.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.active)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would not spare the active version
        return actions

    def has_activate_permission(self, request) -> bool:
        return request.user.has_perm("classification.change_localmodelversion")

    @admin.display(description="accuracy")
    def accuracy(self, obj: LocalModelVersion) -> str:
        return _figure(obj.validation.get("accuracy"))

    @admin.display(description="macro-F1")
    def macro_f1(self, obj: LocalModelVersion) -> str:
        return _figure(obj.validation.get("macro_f1"))

    @admin.display(description="size (MB)", ordering="artifact_bytes")
    def size_mb(self, obj: LocalModelVersion) -> str:
        return f"{obj.artifact_bytes / 1e6:.1f}"

    @admin.display(description="Validation")
    def validation_table(self, obj: LocalModelVersion) -> str:
        figures = obj.validation
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{row['threshold']:.2f}",
                    f"{row['coverage']:.1%}",
                    f"{row['precision']:.2%}" if row["precision"] is not None else "-",
                )
                for row in figures.get("thresholds", [])
            ),
        )
        return format_html(
            "<p>{}: accuracy {}, macro-F1 {}.</p><table><thead><tr><th>confidence at least</th>"
            "<th>coverage</th><th>precision</th></tr></thead><tbody>{}</tbody></table>",
            figures.get("method", ""),
            _figure(figures.get("accuracy")),
            _figure(figures.get("macro_f1")),
            rows,
        )

    @admin.action(description="Make this the active version", permissions=["activate"])
    def activate(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to make active.", messages.ERROR)
            return
        version = queryset.get()
        local_model_activate(version=version)
        self.message_user(request, f"{version} is now active.", messages.SUCCESS)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_train": self.has_activate_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        train = self.admin_site.admin_view(require_POST(self.train_view))
        return [
            path("train/", train, name="classification_localmodelversion_train"),
            *super().get_urls(),
        ]

    def train_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """The changelist's "Train a new version now" button: training runs on a worker."""
        if not self.has_activate_permission(request):
            messages.error(request, "You may not train local models.")
        else:
            local_model_train_enqueue(trained_by=f"{request.user.get_username()} (admin)")
            messages.success(
                request,
                "Training started on a worker; the new version appears here when done (a minute or so "
                "on tens of thousands of examples). Nothing new is made if the training data is unchanged.",
            )
        return redirect("admin:classification_localmodelversion_changelist")


@admin.register(LabelledExample)
class LabelledExampleAdmin(admin.ModelAdmin):
    """Messages imported with manage.py classifier_import; delete the ones that should not teach."""

    list_display = ("text", "intent", "sub_intent", "source", "created_at")
    list_filter = ("intent", "source")
    search_fields = ("text",)
    list_select_related = ("intent", "sub_intent")
    readonly_fields = ("text", "intent", "sub_intent", "source", "created_at")
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
