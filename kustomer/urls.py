"""URLs of the Kustomer app: the webhook."""

from django.urls import path

from .apis import KustomerWebhookApi

app_name = "kustomer"
urlpatterns = [path("kustomer/", KustomerWebhookApi.as_view(), name="webhook")]
