"""Admin of backtests: start one on a worker, follow its progress, open its report."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from ..models import Backtest
from .running import BacktestError, backtest_check, backtest_create, backtest_enqueue


class BacktestForm(forms.ModelForm):
    class Meta:
        model = Backtest
        fields = ("name", "provider", "since", "until", "limit", "batch")

    def clean(self):
        data = super().clean()
        try:
            backtest_check(
                provider=data.get("provider", ""), since=data.get("since"), until=data.get("until")
            )
        except BacktestError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(Backtest)
class BacktestAdmin(admin.ModelAdmin):
    form = BacktestForm
    list_display = (
        "__str__",
        "provider",
        "since",
        "until",
        "status",
        "progress",
        "report_link",
        "created_at",
    )
    list_filter = ("status", "provider")
    actions = ["run_again"]

    def get_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return BacktestForm.Meta.fields
        return (
            "name",
            "provider",
            "since",
            "until",
            "limit",
            "batch",
            "status",
            "progress",
            "report_link",
            "error",
            "configuration",
            "created_by",
            "started_at",
            "finished_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return ()
        return self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="progress")
    def progress(self, obj: Backtest) -> str:
        return f"{obj.processed} of {obj.total}" if obj.total else "-"

    @admin.display(description="report")
    def report_link(self, obj: Backtest) -> str:
        if obj.pk is None:
            return "-"
        return format_html('<a href="{}">Open the report</a>', reverse("backtests:detail", args=[obj.pk]))

    def save_model(self, request: HttpRequest, obj: Backtest, form, change: bool) -> None:
        data = form.cleaned_data
        created = backtest_create(
            provider=data["provider"],
            since=data["since"],
            until=data.get("until"),
            limit=data.get("limit"),
            name=data.get("name", ""),
            batch=data.get("batch", True),
            user=request.user,
        )
        obj.pk = created.pk
        backtest_enqueue(backtest=created)
        messages.info(request, "The backtest runs on a worker; its page shows the progress.")

    def response_add(self, request: HttpRequest, obj: Backtest, post_url_continue=None):
        return HttpResponseRedirect(reverse("backtests:detail", args=[obj.pk]))

    @admin.action(description="Run again (a stopped one resumes where it stopped)")
    def run_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        with transaction.atomic():
            for backtest in queryset.filter(status=Backtest.Status.FAILED):
                backtest_enqueue(backtest=backtest)
                count += 1
        messages.success(request, f"{count} stopped backtests will run again on a worker.")
