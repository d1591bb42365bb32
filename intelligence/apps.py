"""App configuration for intelligence."""

from django.apps import AppConfig


class IntelligenceConfig(AppConfig):
    name = "intelligence"
    verbose_name = "Insights"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
