"""Root URLs: the webhook, the admin, health checks."""

from django.contrib import admin
from django.urls import include, path

from .health import healthz, readyz

admin.site.site_header = "BearScope"
admin.site.site_title = "BearScope"
admin.site.index_title = "Operations"

urlpatterns = [
    path("", include("kustomer.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]
