"""Admin for webhook events and the Kustomer mirror (read-only: edits would be overwritten by Kustomer)."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from bearscope.admin import ReadOnlyAdmin, SingletonAdmin

from .assumptions import assumptions_probe
from .connection import Status, connection_check
from .history_import import (
    ImportRefused,
    import_busy,
    import_range_check,
    import_run_get_or_create,
    import_runs_queue,
    import_runs_stop,
    import_summary,
)
from .models import (
    Agent,
    Connection,
    Conversation,
    ConversationDispatch,
    CustomAttributeNames,
    Customer,
    ImportRun,
    Message,
    Team,
    WebhookEvent,
)
from .people import people_sync_enqueue
from .services import webhook_events_reprocess


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
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
class CustomerAdmin(ReadOnlyAdmin):
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


class CameFromFilter(admin.SimpleListFilter):
    title = "came from"
    parameter_name = "came_from"

    def lookups(self, request, model_admin):
        return [("webhook", "Webhooks (live)"), ("import", "History import")]

    def queryset(self, request, queryset):
        if self.value() == "webhook":
            return queryset.filter(imported_at=None)
        if self.value() == "import":
            return queryset.exclude(imported_at=None)
        return queryset


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = (
        "kustomer_id",
        "name",
        "status",
        "priority",
        "customer",
        "resolved_count",
        "kustomer_created_at",
    )
    list_filter = ("status", CameFromFilter)
    search_fields = ("=kustomer_id", "name", "=customer__kustomer_id")
    list_select_related = ("customer",)
    inlines = [MessageInline, DispatchInline]


@admin.register(CustomAttributeNames)
class CustomAttributeNamesAdmin(SingletonAdmin):
    """The names of the conversation custom attributes BearScope writes (Kustomer's Conversation Klass)."""


# --- Agents and teams (kustomer/people.py), the Connection page (kustomer/connection.py) ----------


class PeopleAdmin(ReadOnlyAdmin):
    """Mirrored from Kustomer by the hourly sync; the button syncs now."""

    def has_sync_permission(self, request) -> bool:
        # The rows are read-only here, but a sync rewrites them: the model's change permission.
        return request.user.has_perm("kustomer.change_agent")

    change_list_template = "admin/kustomer/people_change_list.html"
    search_fields = ("=kustomer_id", "name", "display_name")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_sync": self.has_sync_permission(request)}
        return super().changelist_view(request, extra_context)


@admin.register(Agent)
class AgentAdmin(PeopleAdmin):
    list_display = ("name", "display_name", "email", "user_type", "kustomer_id", "synced_at")
    list_filter = ("user_type",)
    search_fields = (*PeopleAdmin.search_fields, "email")

    def get_urls(self):
        sync = self.admin_site.admin_view(require_POST(self.sync_view))
        return [path("sync/", sync, name="kustomer_people_sync"), *super().get_urls()]

    def sync_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """The "Sync users and teams now" button of the agents' and the teams' lists."""
        if not self.has_sync_permission(request):
            messages.error(request, "You may not sync users and teams.")
        else:
            people_sync_enqueue()
            messages.success(request, "Syncing users and teams from Kustomer on a worker: reload shortly.")
        back = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("admin:kustomer_agent_changelist")
        return redirect(back)


@admin.register(Team)
class TeamAdmin(PeopleAdmin):
    list_display = ("name", "display_name", "kustomer_id", "synced_at")


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    """Admin > Kustomer > Connection: the checks of kustomer_connect --check, run each time it opens."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = connection_check(webhook_url=request.build_absolute_uri(reverse("kustomer:webhook")))
        key_works = bool(report.checks) and report.checks[0].status == Status.OK
        context = {
            **self.admin_site.each_context(request),
            "title": "Connection to Kustomer",
            "opts": self.model._meta,
            "report": report,
            "problems": report.problems(),
            "findings": assumptions_probe() if key_works else [],
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/kustomer/connection.html", context)


# --- History imports (kustomer/history_import/) ------------------------------------------------


class ImportRunForm(forms.ModelForm):
    class Meta:
        model = ImportRun
        fields = ("since", "until", "budget_share")
        help_texts = {
            "since": "First day of conversations updated (UTC), e.g. 2026-01-31.",
            "until": "Last day (UTC); leave empty to import up to now.",
            "budget_share": "Largest share of the org's Kustomer request budget to use (0.5: half).",
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            import_range_check(since=data["since"], until=data.get("until"), share=data["budget_share"])
        except ImportRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        if (busy := import_busy()) is not None:
            raise forms.ValidationError(f"{busy} is running: wait for it, or stop it first.")
        return data


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Admin > Kustomer > History imports: start one on a worker, and watch it go."""

    form = ImportRunForm
    change_form_template = "admin/kustomer/importrun_change_form.html"
    list_display = ("__str__", "status", "progress", "conversations_imported", "requests", "heartbeat_at")
    list_filter = ("status",)
    actions = ["start", "stop"]
    readonly_fields = (
        "status",
        "summary",
        "window",
        "found",
        "requests",
        "started_by",
        "created_at",
        "heartbeat_at",
        "finished_at",
        "error",
    )

    def get_fields(self, request, obj=None):
        return ("since", "until", "budget_share") if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        # The form's row becomes the run to start: a new one, or the unfinished one over the same days.
        run = import_run_get_or_create(
            since=obj.since, until=obj.until, share=obj.budget_share, started_by=request.user.get_username()
        )
        obj.pk = run.pk
        obj.refresh_from_db()
        import_runs_queue(runs=ImportRun.objects.filter(pk=run.pk))

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, f"{obj} is starting on a worker; this page shows how far it got.")
        return redirect(reverse("admin:kustomer_importrun_change", args=[obj.pk]))

    @admin.display(description="Progress")
    def progress(self, obj: ImportRun) -> str:
        done = obj.conversations_imported + obj.conversations_updated + obj.conversations_present
        return f"{done:,} of {obj.found:,}" if obj.found is not None else f"{done:,}"

    @admin.display(description="What it copied")
    def summary(self, obj: ImportRun) -> str:
        return import_summary(obj)

    @admin.display(description="Still to copy")
    def window(self, obj: ImportRun) -> str:
        if obj.status == ImportRun.Status.DONE:
            return "Nothing: every conversation of the range is in."
        start = obj.cursor.strftime("%Y-%m-%d %H:%M UTC") if obj.cursor else obj.since.isoformat()
        return f"Conversations updated from {start} to {obj.ends_at:%Y-%m-%d %H:%M} UTC"

    @admin.action(description="Start or resume selected imports", permissions=["add"])
    def start(self, request, queryset) -> None:
        count = import_runs_queue(runs=queryset)
        self.message_user(request, f"{count} import(s) starting on a worker.", messages.SUCCESS)

    @admin.action(description="Stop selected imports", permissions=["add"])
    def stop(self, request, queryset) -> None:
        count = import_runs_stop(runs=queryset)
        self.message_user(request, f"{count} import(s) will stop after the conversation at hand.")
