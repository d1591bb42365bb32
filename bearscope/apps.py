"""App configuration for bearscope: the ground floor every app may use (sweeps, schedules, commands)."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedules_after_migrate(sender, **kwargs) -> None:
    from .schedules import schedules_setup

    # migrate passes its state's registry; a flush (tests) sends the signal without one.
    if kwargs.get("apps") is not None:
        schedules_setup(registry=kwargs["apps"])
    else:
        schedules_setup()


class BearScopeConfig(AppConfig):
    name = "bearscope"
    verbose_name = "BearScope"

    def ready(self) -> None:
        # Every `migrate` (deploys, the demo, test databases) leaves every schedule in place.
        post_migrate.connect(_schedules_after_migrate, sender=self, dispatch_uid="bearscope-schedules")
