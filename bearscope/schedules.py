"""Every periodic job of the product in one list, and the idempotent step that creates them."""

from dataclasses import dataclass

from django.apps import apps


@dataclass(frozen=True)
class Every:
    """A django-q2 schedule: `func` (dotted path) run every `minutes`, or hourly / daily."""

    name: str
    func: str
    minutes: int = 0
    hourly: bool = False
    daily: bool = False

    def fields(self) -> dict:
        if self.daily:
            return {"func": self.func, "schedule_type": "D", "minutes": None, "repeats": -1}
        if self.hourly:
            return {"func": self.func, "schedule_type": "H", "minutes": None, "repeats": -1}
        return {"func": self.func, "schedule_type": "I", "minutes": self.minutes, "repeats": -1}


SCHEDULES = [
    Every("Webhook event sweeper", "kustomer.tasks.sweep", minutes=2),
    Every("Classification sweeper", "classification.tasks.sweep", minutes=2),
    Every("Local classifier retrain", "classification.tasks.local_model_retrain", hourly=True),
    Every("Auto-reply sweeper", "autoreply.tasks.sweep", minutes=2),
    Every("Insights sweeper", "intelligence.tasks.sweep", minutes=1),
    Every("Insights rollup refresh", "intelligence.tasks.rollup_refresh", minutes=5),
    Every("Task results pruning", "bearscope.tasks.task_results_prune", daily=True),
    Every("Users and teams sync", "kustomer.tasks.people_sync", hourly=True),
    Every("Personal data pruning", "bearscope.tasks.pii_prune", hourly=True),
]


def schedules_setup(*, registry=apps) -> list[str]:
    """Create the schedules that are missing; returns their names. Safe to run again.

    A schedule is found by name (else by func) and only its func is brought up to date (a task
    that moved); an interval an operator changed in the admin is kept. `registry` is the migration
    state's registry when called from `migrate`.
    """
    schedule_model = registry.get_model("django_q", "Schedule")
    created = []
    for every in SCHEDULES:
        fields = every.fields()
        existing = schedule_model.objects.filter(name=every.name).first() or (
            schedule_model.objects.filter(func=every.func).first()
        )
        if existing is None:
            schedule_model.objects.create(name=every.name, **fields)
            created.append(every.name)
            continue
        if (existing.name, existing.func) != (every.name, every.func):
            schedule_model.objects.filter(pk=existing.pk).update(name=every.name, func=every.func)
    return created
