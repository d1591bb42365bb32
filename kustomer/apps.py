"""App configuration for kustomer."""

from django.apps import AppConfig


class KustomerConfig(AppConfig):
    name = "kustomer"
    verbose_name = "Kustomer"
