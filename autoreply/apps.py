"""App configuration for autoreply."""

from django.apps import AppConfig


class AutoreplyConfig(AppConfig):
    name = "autoreply"
    verbose_name = "Auto-reply"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
