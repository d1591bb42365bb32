"""App configuration for autoreply."""

from django.apps import AppConfig


class AutoreplyConfig(AppConfig):
    name = "autoreply"
