"""Root URLs: the home page, the webhook, the admin, sign-in, the triage and shadow review pages, the
insight dashboards, backtests, health checks."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .health import healthz, readyz
from .home import home
from .middleware import WEBHOOKS_PREFIX

admin.site.site_header = "BearScope"
admin.site.site_title = "BearScope"
admin.site.index_title = "Operations"
# "View site" in the admin opens the home page.
admin.site.site_url = "/"

urlpatterns = [
    path("", home, name="home"),
    path(WEBHOOKS_PREFIX, include("kustomer.urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("triage/", include("classification.urls")),
    path("autoreply/", include("autoreply.urls")),
    path("insights/", include("intelligence.urls")),
    path("backtests/", include("intelligence.backtests.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]
