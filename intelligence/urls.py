"""URLs of the dashboards, mounted at /insights/."""

from django.urls import path

from . import views

app_name = "intelligence"
urlpatterns = [
    path("", views.dashboard, name="overview"),
    path("conversations/", views.conversations, name="conversations"),
    path("conversations/csv/", views.conversations_csv, name="conversations_csv"),
    path("<slug:page>/", views.dashboard, name="dashboard"),
    path("<slug:page>/csv/<slug:panel>/", views.panel_csv, name="panel_csv"),
]
