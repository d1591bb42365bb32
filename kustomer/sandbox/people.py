"""Users (agents) and teams: the lists Kustomer serves and renames made in its UI (a SandboxState mixin)."""

import copy
from typing import Any

from .errors import bad_request, not_found
from .webhooks import iso_now

Events = list[dict[str, Any]]
RENAMEABLE = {"user": ("name", "email"), "team": ("name",)}


class PeopleMixin:
    """Uses SandboxState's lock, data and helpers; every public method takes the lock itself."""

    def _people(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.users if kind == "user" else self.teams

    def people_list(self, kind: str) -> list[dict[str, Any]]:
        """Every user or every team, in the order they were seeded."""
        with self.lock:
            return copy.deepcopy(list(self._people(kind).values()))

    def person_get(self, kind: str, id_: str) -> dict[str, Any]:
        with self.lock:
            if id_ not in self._people(kind):
                raise not_found(kind.capitalize())
            return copy.deepcopy(self._people(kind)[id_])

    def scenario_rename(self, kind: str, id_: str, body: dict[str, Any]) -> tuple[dict[str, Any], Events]:
        """An admin renames a user (name, email) or a team (name) in Kustomer's UI."""
        fields = RENAMEABLE[kind]
        if not body.keys() & set(fields) or body.keys() - {*fields, "deliver"}:
            raise bad_request(f"Send {' and/or '.join(fields)} (and optionally deliver).")
        for key in fields:
            if key in body and (not isinstance(body[key], str) or not body[key].strip()):
                raise bad_request(f"{key} must be a non-empty string.", f"/{key}")
        with self.lock:
            resource = self._people(kind).get(id_)
            if resource is None:
                raise not_found(kind.capitalize())
            attrs = resource["attributes"]
            changed = {}
            for key in fields:
                targets = ("name", "displayName") if key == "name" else (key,)
                for target in targets:
                    if key in body and attrs[target] != body[key]:
                        changed[target] = {"op": "replace", "before": attrs[target], "after": body[key]}
                        attrs[target] = body[key]
            if not changed:
                return {"id": id_, "rev": attrs["rev"]}, []
            attrs["rev"] += 1
            attrs["updatedAt"] = iso_now()
            changes = {"attributes": changed, "relationships": {}}
            return {"id": id_, "rev": attrs["rev"]}, [
                self._event(f"kustomer.{kind}.update", resource, changes)
            ]
