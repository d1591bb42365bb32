"""The ops leaders' insights admin: root causes, resolution methods, policy, analyses."""

from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from bearscope.admin import SingletonAdmin
from bearscope.llm import price_list
from kustomer.models import Agent, Team
from kustomer.selectors import people_names

from .backtests import admin as backtests_admin  # noqa: F401  (registers Backtest)
from .models import AgentPolicy, ConversationAnalysis, InsightsSettings, ResolutionMethod, RootCause
from .services import extractions_retry


class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "active", "position")
    list_editable = ("active", "position")
    list_filter = ("active",)
    search_fields = ("key", "name", "description")


@admin.register(InsightsSettings)
class InsightsSettingsAdmin(SingletonAdmin):
    fieldsets = ((None, {"description": "Claude's prices: " + price_list(), "fields": ("model_id",)}),)


admin.site.register(RootCause, TaxonomyAdmin)
admin.site.register(ResolutionMethod, TaxonomyAdmin)


@admin.register(AgentPolicy)
class AgentPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "active", "position")
    list_editable = ("active", "position")


@admin.register(ConversationAnalysis)
class ConversationAnalysisAdmin(admin.ModelAdmin):
    list_display = (
        "conversation",
        "occurrence",
        "current",
        "resolved_at",
        "intent",
        "agent_name",
        "effort_score",
        "root_cause",
        "resolution_method",
        "extraction_status",
    )
    list_filter = ("extraction_status", "status", "current", "root_cause", "resolution_method", "route")
    search_fields = ("conversation__kustomer_id", "conversation__name", "agent", "team", "intent")
    date_hierarchy = "resolved_at"
    list_select_related = ("conversation", "root_cause", "resolution_method")
    raw_id_fields = ("conversation",)
    actions = ["retry_extraction"]
    fieldsets = (
        (None, {"fields": ("conversation", "occurrence", "current", "status", "resolved_at", "analysed_at")}),
        ("Filters", {"fields": ("intent", "route", "channel", "team", "agent", "people")}),
        (
            "Computed",
            {
                "fields": (
                    "first_response_seconds",
                    "resolution_seconds",
                    "customer_messages",
                    "agent_messages",
                    "transfers",
                    "reopens",
                    "customer_wait_seconds",
                    "auto_reply_involved",
                    "effort_score",
                    "messages_fetched",
                )
            },
        ),
        (
            "Extracted by Claude",
            {
                "fields": (
                    "extraction_status",
                    "extraction_error",
                    "root_cause",
                    "resolution_method",
                    "accuracy_score",
                    "accuracy_evidence",
                    "tone_score",
                    "tone_evidence",
                    "summary",
                )
            },
        ),
        (
            "Call",
            {
                "classes": ("collapse",),
                "fields": (
                    "model_id",
                    "prompt_version",
                    "batch_id",
                    "input_tokens",
                    "output_tokens",
                    "cost_usd",
                    "extraction_attempts",
                    "extraction_started_at",
                    "extracted_at",
                    "prompt_input",
                    "raw_output",
                ),
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # Analyses are results: the admin shows them and retries extraction, it does not edit them.
        return [*(f.name for f in self.model._meta.fields), "people"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Names in the list's one query; an id the sync has not seen is marked in agent_name.
        return (
            super()
            .get_queryset(request)
            .annotate(
                synced_agent=Subquery(Agent.objects.filter(kustomer_id=OuterRef("agent")).values("name")[:1]),
                synced_team=Subquery(Team.objects.filter(kustomer_id=OuterRef("team")).values("name")[:1]),
            )
        )

    @admin.display(description="Agent", ordering="synced_agent")
    def agent_name(self, obj: ConversationAnalysis) -> str:
        if not obj.agent:
            return "Unassigned"
        return obj.synced_agent or f"Unknown agent ({obj.agent})"

    @admin.display(description="Agent and team by name")
    def people(self, obj: ConversationAnalysis) -> str:
        names = people_names(user_ids=[obj.agent], team_ids=[obj.team])
        agent = names[obj.agent].name if obj.agent else "Unassigned"
        return f"{agent} · {names[obj.team].name if obj.team else 'No team'}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Extract again (flagged, failed or waiting)", permissions=["change"])
    def retry_extraction(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = extractions_retry(analyses=queryset)
        messages.success(request, f"{count} analyses will be extracted again by the sweeper within a minute.")
