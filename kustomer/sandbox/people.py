"""Users (agents) and teams: the lists Kustomer serves and renames made in its UI (a SandboxState mixin)."""

import copy
from typing import Any

from .errors import bad_request, not_found
from .webhooks import iso_now

Events = list[dict[str, Any]]
RENAMEABLE = {"user": ("name", "email"), "team": ("name",)}


class PeopleMixin:
    """Uses SandboxState's lock, data and helpers; every public method takes the lock itself."""

    def users_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.users.values()))

    def user_get(self, user_id: str) -> dict[str, Any]:
        with self.lock:
            if user_id not in self.users:
                raise not_found("User")
            return copy.deepcopy(self.users[user_id])

    def teams_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.teams.values()))

    def team_get(self, team_id: str) -> dict[str, Any]:
        with self.lock:
            if team_id not in self.teams:
                raise not_found("Team")
            return copy.deepcopy(self.teams[team_id])

    def scenario_rename(self, kind: str, id_: str, body: dict[str, Any]) -> tuple[dict[str, Any], Events]:
        """An admin renames a user (name, email) or a team (name) in Kustomer's UI."""
        fields = RENAMEABLE[kind]
        if not body.keys() & set(fields) or body.keys() - {*fields, "deliver"}:
            raise bad_request(f"Send {' and/or '.join(fields)} (and optionally deliver).")
        for key in fields:
            if key in body and (not isinstance(body[key], str) or not body[key].strip()):
                raise bad_request(f"{key} must be a non-empty string.", f"/{key}")
        with self.lock:
            resource = (self.users if kind == "user" else self.teams).get(id_)
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
