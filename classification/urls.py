"""URLs of the triage pages, mounted at /triage/."""

from django.urls import path

from . import views

app_name = "classification"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("quality/", views.quality, name="quality"),
    path("<int:classification_pk>/", views.item, name="item"),
]
