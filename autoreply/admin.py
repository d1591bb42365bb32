"""The ops leaders' auto-reply admin: switch, policies, templates, order mapping, decisions, replies."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from bearscope.admin import SingletonAdmin

from .models import (
    AutoReply,
    AutoReplyDecision,
    AutoReplyPolicy,
    AutoReplySettings,
    Escalation,
    OrderMapping,
    PolicyAudit,
    ReplyTemplate,
    ReplyTemplateVariant,
    ReplyTemplateVersion,
    ShadowReview,
)
from .reasons import check_label
from .selectors import Readiness, policy_readiness
from .services.delivery import replies_enqueue
from .services.modes import (
    ReadinessNotMet,
    live_switch_check,
    policy_mode_set,
    policy_template_changed,
    reply_template_changed,
)


@admin.register(AutoReplySettings)
class AutoReplySettingsAdmin(SingletonAdmin):
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "enabled",
                    "escalation_line",
                    "channels",
                    "claimed_identity_channels",
                    "shadow_note",
                    "block_negative_sentiment",
                )
            },
        ),
        (
            "Readiness bar for going live",
            {
                "description": "An intent may switch to live only when enough of its shadow replies are "
                "graded and the share rated good as is reaches the bar with 95% confidence (its Wilson lower "
                "bound), counting replies made since its template last changed, unless an admin overrides "
                "with a written reason.",
                "fields": ("readiness_min_graded", "readiness_min_approval"),
            },
        ),
    )


@admin.register(OrderMapping)
class OrderMappingAdmin(SingletonAdmin):
    fields = (
        "klass_name",
        "field_order_number",
        "field_status",
        "field_carrier",
        "field_tracking_url",
        "tracking_hosts",
        "field_estimated_delivery",
        "field_email",
        "recent_days",
        "status_labels",
    )


class VariantInline(admin.StackedInline):
    model = ReplyTemplateVariant
    extra = 0
    verbose_name = "channel version"
    verbose_name_plural = (
        "channel versions (used instead of the default on that channel, in the template's language)"
    )


class LanguageVersionInline(admin.StackedInline):
    model = ReplyTemplateVersion
    extra = 0
    verbose_name = "language version"
    verbose_name_plural = (
        "language versions (customers writing in that language get it; with none, they get no auto-reply)"
    )


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "language", "languages", "variables", "changed_at")
    fields = ("key", "name", "language", "variables", "subject", "body", "changed_at")
    readonly_fields = ("changed_at",)
    inlines = [VariantInline, LanguageVersionInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("versions")

    @admin.display(description="other languages")
    def languages(self, obj: ReplyTemplate) -> str:
        return ", ".join(sorted(v.language for v in obj.versions.all())) or "-"

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """New wording restarts readiness: grades of replies made from the old wording no longer count."""
        super().save_related(request, form, formsets, change)
        reworded = set(form.changed_data) & {"variables", "subject", "body"}
        if change and (reworded or any(formset.has_changed() for formset in formsets)):
            reply_template_changed(template=form.instance)
            messages.info(
                request,
                "The wording changed, so readiness starts again for the policies using this template: "
                "only replies made from now on count.",
            )


def _readiness_text(readiness: Readiness) -> str:
    verdict = "passes the bar" if readiness.ready else f"below the bar: needs {readiness.missing_text}"
    return f"{readiness.summary}; {verdict}"


class PolicyForm(forms.ModelForm):
    override_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Override reason",
        help_text="Only to go live below the readiness bar: why it may go ahead (kept in the audit log).",
    )

    class Meta:
        model = AutoReplyPolicy
        fields = ("intent", "sub_intent", "mode", "threshold", "template", "data_check")

    def clean(self) -> dict:
        data = super().clean()
        current = (
            AutoReplyPolicy.objects.filter(pk=self.instance.pk).values_list("mode", flat=True).first() or ""
        )
        try:
            live_switch_check(
                policy=self.instance,
                mode=data.get("mode", ""),
                current_mode=current,
                override_reason=data.get("override_reason", ""),
            )
        except ReadinessNotMet as exc:
            self.add_error("mode", str(exc))
        return data


class AuditInline(admin.TabularInline):
    model = PolicyAudit
    fields = ("created_at", "actor", "mode_before", "mode_after", "threshold_after", "override_reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "changes (audit log)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AutoReplyPolicy)
class AutoReplyPolicyAdmin(admin.ModelAdmin):
    form = PolicyForm
    list_display = ("__str__", "mode", "threshold", "template", "data_check", "readiness")
    list_filter = ("mode",)
    fields = (
        "intent",
        "sub_intent",
        "mode",
        "threshold",
        "template",
        "data_check",
        "override_reason",
        "readiness",
    )
    readonly_fields = ("readiness",)
    inlines = [AuditInline]

    @admin.display(description="Readiness")
    def readiness(self, obj: AutoReplyPolicy) -> str:
        return _readiness_text(policy_readiness(policy=obj)) if obj.pk else "-"

    def save_model(self, request: HttpRequest, obj: AutoReplyPolicy, form, change: bool) -> None:
        """Mode and threshold change only through the service, which checks readiness and audits."""
        mode, threshold = obj.mode, obj.threshold
        if change:
            obj.mode, obj.threshold = (
                AutoReplyPolicy.objects.filter(pk=obj.pk).values_list("mode", "threshold").get()
            )
        else:
            obj.mode = AutoReplyPolicy._meta.get_field("mode").default
        super().save_model(request, obj, form, change)
        if change and "template" in form.changed_data:
            policy_template_changed(policy=obj)
        try:
            policy_mode_set(
                policy=obj,
                mode=mode,
                threshold=threshold,
                actor=request.user.get_username(),
                user=request.user,
                override_reason=form.cleaned_data.get("override_reason", ""),
            )
        except ReadinessNotMet as exc:
            messages.error(request, f"The mode was not changed: {exc}")


@admin.register(PolicyAudit)
class PolicyAuditAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "policy",
        "actor",
        "mode_before",
        "mode_after",
        "threshold_after",
        "override_reason",
    )
    list_filter = ("mode_after",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _checks_table(checks: list[dict]):
    verdicts = {True: "passed", False: "BLOCKED", None: "not run"}
    return format_html(
        "<table><thead><tr><th>Check</th><th>Verdict</th><th>Reason</th></tr></thead><tbody>{}</tbody></table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    check_label(c.get("check")),
                    verdicts.get(c.get("passed"), "?"),
                    c.get("reason"),
                )
                for c in checks or []
            ),
        ),
    )


@admin.register(AutoReplyDecision)
class AutoReplyDecisionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "conversation", "policy", "mode", "verdict", "reason")
    list_filter = ("verdict", "mode", "reason")
    search_fields = ("conversation__kustomer_id", "conversation__name")
    fields = (
        "conversation",
        "classification",
        "policy",
        "mode",
        "verdict",
        "reason",
        "guardrails",
        "channel",
        "subject",
        "body",
        "order",
        "note_id",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="Guardrail verdicts")
    def guardrails(self, obj: AutoReplyDecision):
        return _checks_table(obj.checks)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # every decision explains itself, for as long as the product runs


@admin.register(AutoReply)
class AutoReplyAdmin(admin.ModelAdmin):
    list_display = ("created_at", "conversation", "mode", "state", "attempts", "draft_id", "message_id")
    list_filter = ("state", "mode")
    fields = (
        "conversation",
        "decision",
        "mode",
        "state",
        "channel",
        "subject",
        "body",
        "draft_id",
        "message_id",
        "attempts",
        "error",
        "sending_started_at",
        "finished_at",
    )
    readonly_fields = fields
    actions = ["finish_replies"]

    @admin.action(
        description="Finish selected replies (look in Kustomer first, then send what is missing)",
        permissions=["finish"],
    )
    def finish_replies(self, request: HttpRequest, queryset) -> None:
        count = replies_enqueue(reply_pks=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} repl{'y' if count == 1 else 'ies'} queued.", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False

    def has_finish_permission(self, request) -> bool:
        # Sends to customers: seeing the replies is not enough.
        return request.user.has_perm("autoreply.change_autoreply")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the row is what keeps a conversation from a second auto-reply


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "conversation", "flagged", "note_id", "attempts", "error")
    readonly_fields = ("conversation", "message_id", "flagged", "note_id", "attempts", "error")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an escalated conversation is never auto-replied again


@admin.register(ShadowReview)
class ShadowReviewAdmin(admin.ModelAdmin):
    list_display = ("created_at", "decision", "grade", "reviewer")
    list_filter = ("grade",)
    readonly_fields = ("decision", "reviewer", "grade", "note")

    def has_add_permission(self, request) -> bool:
        return False
