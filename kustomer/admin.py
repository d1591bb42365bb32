"""Admin for webhook events and the Kustomer mirror (mirror fields are read-only)."""

import json

from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from .models import Conversation, ConversationDispatch, Customer, Message, SweepRun, WebhookEvent
from .services import webhook_events_reprocess


class ReadOnlyMirrorAdmin(admin.ModelAdmin):
    """The mirror reflects Kustomer; editing it here would only be overwritten."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMirrorAdmin):
    list_display = ("event_id", "name", "status", "reason", "attempts", "conversation_id", "received_at")
    list_filter = ("status", "name")
    search_fields = ("=event_id", "=conversation_id", "=resource_id")
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    exclude = ("body",)
    readonly_fields = ("payload",)

    class Media:
        # A stylesheet, not a style attribute: the Content-Security-Policy allows no inline styles.
        css = {"all": ["kustomer/admin.css"]}

    @admin.display(description="Payload")
    def payload(self, obj: WebhookEvent) -> str:
        try:
            pretty = json.dumps(json.loads(obj.body), indent=2, sort_keys=True)
        except ValueError:
            pretty = obj.body
        return format_html('<pre class="webhook-payload">{}</pre>', pretty)

    @admin.action(description="Reprocess selected events", permissions=["reprocess"])
    def reprocess(self, request, queryset) -> None:
        count = webhook_events_reprocess(events=queryset)
        skipped = queryset.count() - count
        self.message_user(request, f"{count} event(s) queued for processing again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} event(s) of types BearScope does not handle were left alone.",
                messages.WARNING,
            )

    def has_reprocess_permission(self, request) -> bool:
        return request.user.has_perm("kustomer.change_webhookevent")


@admin.register(Customer)
class CustomerAdmin(ReadOnlyMirrorAdmin):
    list_display = ("kustomer_id", "name", "external_id", "updated_at")
    search_fields = ("=kustomer_id", "name", "external_id")


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("sent_at", "direction", "channel", "subject", "body", "created_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("sent_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DispatchInline(admin.TabularInline):
    model = ConversationDispatch
    fields = ("kind", "occurrence", "event", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyMirrorAdmin):
    list_display = (
        "kustomer_id",
        "name",
        "status",
        "priority",
        "customer",
        "resolved_count",
        "kustomer_created_at",
    )
    list_filter = ("status",)
    search_fields = ("=kustomer_id", "name", "=customer__kustomer_id")
    list_select_related = ("customer",)
    inlines = [MessageInline, DispatchInline]


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
class SweepRunAdmin(ReadOnlyMirrorAdmin):
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
