"""Set the product up: a starter configuration (taxonomy, a WISMO policy in shadow mode) and the schedules."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from bearscope.exceptions import BearScopeError
from bearscope.schedules import schedules_setup

# The starters live with the auto-reply pipeline; reached by dotted path (this floor imports no app).
STARTERS = "autoreply.starter.STARTERS"
STARTER_LOAD = "autoreply.starter.starter_load"


class Command(BaseCommand):
    help = (
        "Load a starter configuration. ecommerce: the default e-commerce taxonomy, a “where is my order” "
        "reply template, its policy in shadow mode (an existing policy keeps its mode), the order data "
        "mapping for Klass `order`, and the auto-reply switch on. Also creates any missing schedule. "
        "Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--starter", required=True, choices=sorted(import_string(STARTERS)))

    def handle(self, *args, starter: str, **options) -> None:
        try:
            loaded = import_string(STARTER_LOAD)(starter=starter)
        except BearScopeError as exc:
            raise CommandError(str(exc)) from exc
        for line in loaded.summary():
            self.stdout.write(self.style.SUCCESS(line))
        created = schedules_setup()
        if created:
            self.stdout.write(f"Schedules created: {', '.join(created)}.")
