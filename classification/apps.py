"""App configuration for classification."""

from django.apps import AppConfig


class ClassificationConfig(AppConfig):
    name = "classification"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
