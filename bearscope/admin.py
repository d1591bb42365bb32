"""Admin pieces every app shares (settings rows, read-only records) and the sweeper runs."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from .models import PromptVersion, SweepRun
from .prompt_versions import prompt_diff_html


class SingletonAdmin(admin.ModelAdmin):
    """A settings row (pk 1): never a second one, never deleted."""

    def has_add_permission(self, request) -> bool:
        return not self.model.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the product only: shown, never added or edited here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class DidSomethingFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [("requeued", "Queued something again"), ("error", "A step failed"), ("idle", "Nothing to do")]

    def queryset(self, request, queryset):
        if self.value() == "requeued":
            return queryset.filter(total__gt=0)
        if self.value() == "error":
            return queryset.exclude(error="")
        if self.value() == "idle":
            return queryset.filter(total=0, error="")
        return queryset


@admin.register(SweepRun)
class SweepRunAdmin(ReadOnlyAdmin):
    """What each periodic sweeper found stuck and queued again; written by the sweepers only."""

    list_display = ("started_at", "sweeper", "summary", "total", "duration_ms", "failed_steps")
    list_filter = ("sweeper", DidSomethingFilter)
    date_hierarchy = "started_at"
    fields = ("sweeper", "started_at", "duration_ms", "total", "requeued_rows", "error")
    readonly_fields = fields

    @admin.display(description="Failed steps", boolean=True)
    def failed_steps(self, obj: SweepRun) -> bool:
        return bool(obj.error)

    @admin.display(description="Queued again")
    def requeued_rows(self, obj: SweepRun) -> str:
        if not obj.total:
            return "Nothing was stuck."
        return format_html_join(
            "",
            "<p><strong>{}</strong> ({}): {}</p>",
            ((step["kind"], len(step["ids"]), self._links(step)) for step in obj.requeued if step["ids"]),
        )

    @staticmethod
    def _links(step: dict) -> str:
        app_label, model = step["model"].split(".")
        try:
            reverse(f"admin:{app_label}_{model}_change", args=[step["ids"][0]])
        except NoReverseMatch:
            return ", ".join(str(pk) for pk in step["ids"])
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse(f"admin:{app_label}_{model}_change", args=[pk]), pk) for pk in step["ids"]),
        )


@admin.register(PromptVersion)
class PromptVersionAdmin(ReadOnlyAdmin):
    """Every system prompt sent to Claude, whole, with what changed from the one before."""

    list_display = ("version", "kind", "created_at", "changed")
    list_filter = ("kind",)
    date_hierarchy = "created_at"
    fields = ("kind", "version", "created_at", "changed", "diff", "full_text")
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # classifications and analyses point at it: the record of what the model read

    @admin.display(description="Changes against the previous version")
    def diff(self, obj: PromptVersion) -> str:
        table = prompt_diff_html(version=obj)
        if not table:
            return "The first version of this prompt: nothing to compare with."
        # difflib escapes the prompt text itself; the table markup is its own.
        return mark_safe(f'<div class="prompt-diff">{table}</div>')  # noqa: S308

    @admin.display(description="Full text")
    def full_text(self, obj: PromptVersion) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.text)
