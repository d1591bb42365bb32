"""Custom attribute definitions per standard Klass, served by GET/PUT /v1/metadata/{resource} (a mixin)."""

import copy
import re
from typing import Any

from .errors import bad_request, not_found
from .validation import CUSTOM_KEY
from .webhooks import iso_now

RESOURCES = ("conversation", "customer", "message", "company")
TYPES = {
    "Str": "string",
    "Txt": "text",
    "Num": "number",
    "Bool": "boolean",
    "At": "date",
    "Url": "url",
    "Id": "id",
}
ID_TARGETS = {"user", "team", "customer", "conversation", "message", "company"}


def display_name(name: str) -> str:
    """Kustomer's default label: the name without its suffix, title-cased (totalOrdersNum: Total Orders)."""
    base = name.removesuffix(CUSTOM_KEY.match(name).group(1))
    return re.sub(r"(?<!^)(?=[A-Z])", " ", base).title()


def definition(name: str, raw: Any, known: dict[str, Any] | None) -> dict[str, Any]:
    """A checked definition: `raw` merged over what is `known`, the type taken from the suffix."""
    pointer = f"/properties/{name}"
    match = CUSTOM_KEY.match(name)
    if not match:
        raise bad_request(
            f"'{name}' must be camelCase and end in a type suffix ({', '.join(TYPES)}).", pointer
        )
    if not isinstance(raw, dict):
        raise bad_request(f"The definition of '{name}' must be an object.", pointer)
    kind = TYPES[match.group(1)]
    if raw.get("type", kind) != kind:
        raise bad_request(f"'{name}' is a {kind} by its suffix, not a {raw['type']}.", pointer + "/type")
    if not isinstance(raw.get("displayName", ""), str):
        raise bad_request("displayName must be a string.", pointer + "/displayName")
    merged = {"displayName": display_name(name), **(known or {}), **raw, "type": kind}
    if kind == "id":
        target = merged.get("target")
        if not (target in ID_TARGETS or (isinstance(target, str) and target.startswith("kobject."))):
            raise bad_request(
                f"'{name}' is an Id attribute: it needs a target "
                f"({', '.join(sorted(ID_TARGETS))} or kobject.<klass>).",
                pointer + "/target",
            )
    return merged


class KlassesMixin:
    """Uses SandboxState's lock and data; every public method takes the lock itself."""

    def _klass(self, resource: str) -> dict[str, Any]:
        if resource not in self.metadata:
            raise not_found("Klass")
        return {
            "type": "klass",
            "id": resource,
            "attributes": {
                "name": resource,
                "properties": self.metadata[resource],
                "updatedAt": self.metadata_updated[resource],
            },
            "links": {"self": f"/v1/metadata/{resource}"},
        }

    def metadata_get(self, resource: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._klass(resource))

    def metadata_put(self, resource: str, body: Any) -> dict[str, Any]:
        """Add or update definitions; properties not named in `body` stay as they are."""
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict) or not properties:
            raise bad_request("properties must be a non-empty object.", "/properties")
        with self.lock:
            self._klass(resource)
            known = self.metadata[resource]
            checked = {name: definition(name, raw, known.get(name)) for name, raw in properties.items()}
            known.update(checked)
            self.metadata_updated[resource] = iso_now()
            return copy.deepcopy(self._klass(resource))

    def _seed_metadata(self, seeded: dict[str, dict[str, Any]], created_at: str) -> None:
        self.metadata = {resource: {} for resource in RESOURCES}
        self.metadata_updated = dict.fromkeys(RESOURCES, created_at)
        for resource, properties in seeded.items():
            self.metadata[resource] = {name: definition(name, raw, None) for name, raw in properties.items()}
