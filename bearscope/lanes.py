"""The queue lanes: which django-q2 cluster runs which task, so routing never waits behind bookkeeping."""

# Imported by the settings: nothing here may import django_q (its configuration reads the settings).

from django.conf import settings

EVENTS, DECISIONS, BACKGROUND = "events", "decisions", "background"

# Each lane is a django-q2 cluster of its own: its own broker queue, its own workers. The background
# lane is the default cluster, whose scheduler runs every schedule (bearscope.schedules).
CLUSTERS = {
    EVENTS: "bearscope-events",
    DECISIONS: "bearscope-decisions",
    BACKGROUND: "bearscope",
}

# What customers feel goes first: storing each event in the mirror, then classifying, writing back
# and replying. Every task not named here (analyses, backfills, imports, sweeps, retraining,
# syncs) runs in the background lane.
TASK_LANES = {
    "kustomer.tasks.webhook_event_process": EVENTS,
    "classification.tasks.conversation_classify": DECISIONS,
    "classification.tasks.classification_write_back": DECISIONS,
    "autoreply.tasks.classification_autoreply": DECISIONS,
    "autoreply.tasks.reply_deliver": DECISIONS,
    "autoreply.tasks.escalation_apply": DECISIONS,
}


def lane_for(func_path: str) -> str:
    return TASK_LANES.get(func_path, BACKGROUND)


def cluster_for(func_path: str) -> str:
    """The cluster (broker queue) that runs `func_path`; the default one when lanes are off."""
    if not settings.QUEUE_LANES:
        return CLUSTERS[BACKGROUND]
    return CLUSTERS[lane_for(func_path)]

