"""Liveness and readiness endpoints for load balancers and orchestrators."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers; touches no database."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database: {exc.__class__.__name__}"
    return None


def _queue_ok() -> str | None:
    try:
        if Conf.ORM:
            # The ORM broker's ping() is always true; reading its table is the real check.
            OrmQ.objects.using(Conf.ORM).exists()
        elif not get_broker().ping():
            return "queue: broker did not answer"
    except Exception as exc:
        return f"queue: {exc.__class__.__name__}"
    return None


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the queue broker are reachable; 503 names what is not."""
    problems = [p for p in (_database_ok(), _queue_ok()) if p]
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ok"})
