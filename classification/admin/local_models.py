"""Admin of the local classifier: its trained versions (train, activate) and imported examples."""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from ..local.services import local_model_activate, local_model_train_enqueue
from ..models import (
    LabelledExample,
    LocalModelVersion,
)


def figure(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "-"


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
        return figure(obj.validation.get("accuracy"))

    @admin.display(description="macro-F1")
    def macro_f1(self, obj: LocalModelVersion) -> str:
        return figure(obj.validation.get("macro_f1"))

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
            figure(figures.get("accuracy")),
            figure(figures.get("macro_f1")),
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
