"""Loading a taxonomy file (intents, sub-intents, levels, rules) into the admin's tables."""

import json
from pathlib import Path

from django.db import transaction

from bearscope.exceptions import BearScopeError

from .models import BusinessRule, ComplexityLevel, Intent, PriorityLevel

DEFAULT_TAXONOMY = Path(__file__).parent / "data" / "ecommerce_taxonomy.json"


class TaxonomyFileError(BearScopeError, ValueError):
    """The file is not a taxonomy BearScope can load; the message says what is wrong."""


def taxonomy_read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaxonomyFileError(f"Cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise TaxonomyFileError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("intents"), list):
        raise TaxonomyFileError(f"{path} needs an object with an 'intents' list.")
    for n, intent in enumerate(data["intents"], 1):
        if not isinstance(intent, dict) or not intent.get("key") or not intent.get("name"):
            raise TaxonomyFileError(f"Intent {n} needs a 'key' and a 'name'.")
    return data


@transaction.atomic
def taxonomy_load(*, data: dict) -> dict[str, int]:
    """Create or update by key; nothing is deleted, so edits made in the admin to other rows survive."""
    counts = {"intents": 0, "sub_intents": 0, "priorities": 0, "complexities": 0, "rules": 0}
    for position, item in enumerate(data["intents"]):
        intent, _ = Intent.objects.update_or_create(
            key=item["key"],
            parent=None,
            defaults={
                "name": item["name"],
                "description": item.get("description", ""),
                "examples": "\n".join(item.get("examples", [])),
                "position": position,
            },
        )
        counts["intents"] += 1
        for sub_position, sub in enumerate(item.get("sub_intents", [])):
            Intent.objects.update_or_create(
                key=sub["key"],
                parent=intent,
                defaults={
                    "name": sub.get("name", sub["key"]),
                    "description": sub.get("description", ""),
                    "examples": "\n".join(sub.get("examples", [])),
                    "position": sub_position,
                },
            )
            counts["sub_intents"] += 1
    for position, level in enumerate(data.get("priorities", [])):
        PriorityLevel.objects.update_or_create(
            key=level["key"],
            defaults={
                "name": level["name"],
                "description": level.get("description", ""),
                "kustomer_priority": level["kustomer_priority"],
                "position": position,
            },
        )
        counts["priorities"] += 1
    for position, level in enumerate(data.get("complexities", [])):
        ComplexityLevel.objects.update_or_create(
            key=level["key"],
            defaults={
                "name": level["name"],
                "description": level.get("description", ""),
                "position": position,
            },
        )
        counts["complexities"] += 1
    for position, text in enumerate(data.get("rules", [])):
        BusinessRule.objects.get_or_create(text=text, defaults={"position": position})
        counts["rules"] += 1
    return counts
