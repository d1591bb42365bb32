"""URLs of the shadow review pages, mounted at /autoreply/."""

from django.urls import path

from . import views

app_name = "autoreply"
urlpatterns = [
    path("shadow/", views.shadow_index, name="shadow_index"),
    path("shadow/<int:decision_pk>/", views.shadow_item, name="shadow_item"),
]
