"""Is a Kustomer org connected: the API key, its roles, our custom attributes, the webhook; fixed if asked."""

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from .attributes import OWN_ATTRIBUTES
from .client import KustomerClient, client_checking
from .exceptions import KustomerAuthError, KustomerError
from .models import Conversation, CustomAttributeNames, WebhookEvent
from .payloads import HANDLED_EVENTS, klass_properties, person_fields, subscription_fields
from .roles import ROLE_PREFIX, ROLES, Role

WEBHOOK_NAME = "BearScope"
WEBHOOK_PATH = "/webhooks/kustomer/"
# Kustomer takes https only; plain http is for a sandbox on this machine.
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# For probes while the mirror holds no conversation: an id of the right shape that nothing has.
MADE_UP_ID = "000000000000000000000000"
KEYS_PAGE = "Kustomer: Settings > Security > API keys"
WEBHOOKS_PAGE = "Kustomer: Settings > Platform > Outbound webhooks"
RESTART = "and restart BearScope (web and workers)."
CONNECT = "Run manage.py kustomer_connect --webhook-url URL (without --check)"


class Status(StrEnum):
    OK = "OK"
    TODO = "to do"
    MISSING = "missing"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True)
class Check:
    """One line of the checklist: what was checked, what was found, and what to do about it."""

    section: str
    item: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class ConnectionReport:
    """The checklist for one org and webhook URL; `token` is set when an answer showed one."""

    base_url: str
    webhook_url: str
    fix: bool
    checks: list[Check] = field(default_factory=list)
    subscription_id: str = ""
    token: str = ""
    token_is_new: bool = False
    last_event: WebhookEvent | None = None

    def problems(self, *, strict: bool = True) -> list[Check]:
        """Lines not OK; `strict=False` leaves out the "to do" ones (what a person does after a fix)."""
        fine = {Status.OK} if strict else {Status.OK, Status.TODO}
        return [check for check in self.checks if check.status not in fine]


def role_held(status: int) -> bool:
    """Assumption: Kustomer checks a key's roles before it looks the object up, so a 404 for a made-up
    id means the key holds the role (without it the answer is 401 or 403 first)."""
    return status < 400 or status == 404


def attributes_to_define(labels: dict[str, str], defined: dict[str, dict]) -> dict[str, dict]:
    """Assumption: a `custom` key with no definition may be stored silently or refused, so each attribute
    BearScope writes gets its definition on the conversation Klass before the first write."""
    return {name: {"displayName": label} for name, label in labels.items() if name not in defined}


def webhook_url_problem(url: str) -> str:
    """What is wrong with a webhook URL for Kustomer, or "" when nothing is."""
    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or local):
        return f"Kustomer sends webhooks to https:// addresses only, not {url!r}."
    if not parts.path.endswith(WEBHOOK_PATH):
        return f"BearScope receives webhooks at {WEBHOOK_PATH} (https://HOST{WEBHOOK_PATH}), not {url!r}."
    return ""


def same_url(a: str, b: str) -> bool:
    """The same receiver: host, port and path alike (behind a proxy the admin page may not see https)."""
    pa, pb = urlsplit(a.strip()), urlsplit(b.strip())
    return (pa.hostname, pa.port, pa.path.rstrip("/")) == (pb.hostname, pb.port, pb.path.rstrip("/"))


def connection_check(*, webhook_url: str, fix: bool = False) -> ConnectionReport:
    """Check the key, each role (one read per endpoint family), our attributes and the webhook.

    With `fix`, missing attributes are created and a missing webhook subscription is registered; an
    existing subscription is never changed. Without it nothing is written to Kustomer.
    """
    report = ConnectionReport(
        base_url=settings.KUSTOMER_API_BASE_URL,
        webhook_url=webhook_url,
        fix=fix,
        last_event=WebhookEvent.objects.order_by("-received_at").first(),
    )
    client = client_checking()
    report.checks.append(_key_check(client))
    if report.checks[0].status != Status.OK:
        return report  # every other answer would be the same refusal
    ids = _probe_ids()
    report.checks += [_role_check(client, role, ids) for role in ROLES]
    report.checks += _attribute_checks(client, fix=fix)
    report.checks += _webhook_checks(client, report)
    return report


def _key_check(client: KustomerClient) -> Check:
    def line(status: Status, detail: str, fix: str = "") -> Check:
        return Check("API key", "Who the key is", status, detail, fix)

    if not settings.KUSTOMER_API_KEY:
        return line(Status.MISSING, "KUSTOMER_API_KEY is not set.", f"Make a key ({KEYS_PAGE}) and set it.")
    try:
        me = person_fields(client.current_user_get())
    except KustomerAuthError as exc:
        return line(
            Status.REFUSED,
            f"Kustomer refused the key: {exc}.",
            "Check KUSTOMER_API_KEY, and that KUSTOMER_API_BASE_URL is the key's region "
            "(https://api.kustomerapp.com US, https://api.prod2.kustomerapp.com EU); replace an expired key.",
        )
    except KustomerError as exc:
        fix = "Check KUSTOMER_API_BASE_URL and the network, then run the checks again."
        return line(Status.FAILED, f"No usable answer from {client.base_url}: {exc}.", fix)
    kind = f"a {me['user_type']} user" if me["user_type"] else "a user"
    who = me["display_name"] or me["name"] or me["email"] or "(no name)"
    return line(Status.OK, f"{who}, {kind} (id {me['kustomer_id']}).")


def _probe_ids() -> dict[str, str]:
    """A real conversation and customer to read when the mirror has one: a 200 proves the most."""
    newest = Conversation.objects.filter(customer__isnull=False).select_related("customer").order_by("-pk")
    conversation = newest.first()
    if conversation is None:
        return {"conversation": MADE_UP_ID, "customer": MADE_UP_ID}
    return {"conversation": conversation.kustomer_id, "customer": conversation.customer.kustomer_id}


def _role_check(client: KustomerClient, role: Role, ids: dict[str, str]) -> Check:
    method, _, target = role.probe.format(**ids).partition(" ")
    path, _, query = target.partition("?")
    params = dict(pair.split("=") for pair in query.split("&")) if query else None
    body = None
    if method == "POST":  # search: a read, but its criteria go in the body
        since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"and": [{"conversation_updated_at": {"gte": since}}], "queryContext": "conversation"}
    status = 200
    try:
        client.request(method, path, params=params, json=body)
    except KustomerError as exc:
        status = exc.status or 0
        if status not in (401, 403) and not role_held(status):
            fix = "Kustomer did not answer as expected: run the checks again."
            return Check("Roles", role.area, Status.FAILED, f"{method} {path}: {exc}.", fix)
    if not role_held(status):
        detail = f"Kustomer refused {method} {path} ({status}). BearScope needs it to {role.needed_for}."
        fix = f"Give the API key the roles {', '.join(role.roles)} ({KEYS_PAGE})."
        return Check("Roles", role.area, Status.REFUSED, detail, fix)
    made_up = " with a made-up id (404)" if status == 404 else ""
    detail = f"{ROLE_PREFIX}{role.read}: reading works ({role.probe.partition('?')[0]}{made_up})."
    if role.writes:
        detail += f" Not checked, as it takes a write: {', '.join(ROLE_PREFIX + w for w in role.writes)}."
    return Check("Roles", role.area, Status.OK, detail)


def _attribute_checks(client: KustomerClient, *, fix: bool) -> list[Check]:
    section = "Custom attributes (Conversation Klass)"
    # Not load(): a check writes nothing, here either.
    row = CustomAttributeNames.objects.filter(pk=1).first() or CustomAttributeNames()
    labels = {getattr(row, a.field): a.display_name for a in OWN_ATTRIBUTES}
    role_fix = f"Give the API key the role {ROLE_PREFIX}metadata.%s ({KEYS_PAGE})."
    try:
        defined = klass_properties(client.metadata_get("conversation"))
    except KustomerError as exc:
        status = Status.REFUSED if isinstance(exc, KustomerAuthError) else Status.FAILED
        return [Check(section, "Definitions", status, f"Cannot read them: {exc}.", role_fix % "read")]
    missing = attributes_to_define(labels, defined)
    created, error = set(), None
    if fix and missing:
        try:
            defined = klass_properties(client.metadata_add("conversation", missing))
            created = set(missing) & set(defined)
        except KustomerError as exc:
            error = exc
    fixes = {
        Status.MISSING: f"{CONNECT} to create the missing ones (needs {ROLE_PREFIX}metadata.update), or add "
        "them in Kustomer: Settings > Platform > Klasses > Conversation.",
        Status.REFUSED: role_fix % "update",
        Status.FAILED: "If Kustomer calls a name wrong, fix it in Admin > Kustomer > Custom attribute names.",
    }
    checks = []
    for name, label in labels.items():
        if name in created:
            status, detail = Status.OK, "Created just now."
        elif name in defined:
            shown = defined[name].get("displayName") or name
            status, detail = Status.OK, f"Defined (Kustomer shows it as {shown!r})."
        elif isinstance(error, KustomerAuthError):
            status, detail = Status.REFUSED, f"Missing; creating it was refused: {error}."
        elif error is not None:
            status, detail = Status.FAILED, f"Missing; creating it failed: {error}."
        else:
            status, detail = Status.MISSING, "Not defined on the conversation Klass."
        # What to do is said once, on the first such line: one step deals with them all.
        checks.append(Check(section, f"{name} ({label})", status, detail, fixes.pop(status, "")))
    return checks


def _webhook_checks(client: KustomerClient, report: ConnectionReport) -> list[Check]:
    section, url, events = "Webhook", report.webhook_url, sorted(HANDLED_EVENTS)
    role_fix = f"Give the API key the role {ROLE_PREFIX}outbound_webhook.%s ({KEYS_PAGE})."
    try:
        hooks = [subscription_fields(h) for h in client.outbound_webhooks_list()]
    except KustomerError as exc:
        status = Status.REFUSED if isinstance(exc, KustomerAuthError) else Status.FAILED
        return [Check(section, "Subscription", status, f"Cannot list them: {exc}.", role_fix % "read")]
    same = [h for h in hooks if same_url(h["url"], url)]
    if same:
        report.subscription_id, report.token = same[0]["id"], same[0]["token"]
        checks = [_subscription_found(section, same[0], len(same)), _events_check(section, same[0], events)]
    elif not report.fix:
        fix = f"{CONNECT.replace('URL', url)} to register it for {', '.join(events)}."
        checks = [Check(section, "Subscription", Status.MISSING, f"No subscription sends to {url}.", fix)]
    else:
        try:
            created = client.outbound_webhook_create(name=WEBHOOK_NAME, url=url, events=events)
        except KustomerError as exc:
            if isinstance(exc, KustomerAuthError):
                status, fix = Status.REFUSED, role_fix % "create"
            else:  # also when the answer was lost: a second run finds what was made and reuses it
                status, fix = Status.FAILED, "Run the command again: it reuses a subscription that was made."
            return [Check(section, "Subscription", status, f"Registering it failed: {exc}.", fix)]
        hook = subscription_fields(created)
        report.subscription_id, report.token, report.token_is_new = hook["id"], hook["token"], True
        detail = f"Registered just now as {hook['name']!r} (id {hook['id']}) for {', '.join(hook['events'])}."
        checks = [Check(section, "Subscription", Status.OK, detail)]
    return [*checks, _secret_check(section, report)]


def _subscription_found(section: str, hook: dict, count: int) -> Check:
    found = f"Registered as {hook['name']!r} (id {hook['id']}); reused, not changed."
    if not hook["enabled"]:
        fix = f"Switch it on in {WEBHOOKS_PAGE}."
        return Check(section, "Subscription", Status.MISSING, f"{found} It is switched off.", fix)
    if count > 1:
        detail = f"{found} {count} subscriptions send to this URL: each event arrives {count} times."
        fix = (
            f"Delete all but {hook['id']} in {WEBHOOKS_PAGE}: BearScope drops repeats, but each is a request."
        )
        return Check(section, "Subscription", Status.TODO, detail, fix)
    return Check(section, "Subscription", Status.OK, found)


def _events_check(section: str, hook: dict, events: list[str]) -> Check:
    lacking = sorted(set(events) - set(hook["events"]))
    extra = sorted(set(hook["events"]) - set(events))
    if lacking:
        fix = (
            f"In {WEBHOOKS_PAGE}, add them to {hook['name']!r}; or delete it and run this command again, "
            "which registers a new one (with a new token for KUSTOMER_WEBHOOK_SECRET). This command never "
            "changes an existing subscription."
        )
        detail = f"Its events differ: it lacks {', '.join(lacking)}."
        return Check(section, "Events", Status.MISSING, detail, fix)
    if extra:
        detail = f"Every event BearScope handles, and also {', '.join(extra)} (stored, then ignored)."
        fix = f"Remove those in {WEBHOOKS_PAGE} to spare requests."
        return Check(section, "Events", Status.OK, detail, fix)
    return Check(section, "Events", Status.OK, f"Exactly the {len(events)} events BearScope handles.")


def _secret_check(section: str, report: ConnectionReport) -> Check:
    secret, token, item = settings.KUSTOMER_WEBHOOK_SECRET, report.token, "KUSTOMER_WEBHOOK_SECRET"
    if report.token_is_new:
        fix = f"Put the token printed below in KUSTOMER_WEBHOOK_SECRET {RESTART}"
        return Check(section, item, Status.TODO, "The new subscription has a new token.", fix)
    if not secret:
        if not report.subscription_id:
            fix = "Register the webhook (above) and put the token it prints in it"
        else:
            where = "printed below" if token else "Kustomer answered when the subscription was made"
            fix = f"Put the subscription's token (the one {where}) in it"
        fix = f"{fix} {RESTART}"
        return Check(section, item, Status.MISSING, "Not set: every delivery is refused (401).", fix)
    if token and token != secret:
        fix = f"Put the token printed by manage.py kustomer_connect --check in it {RESTART}"
        return Check(section, item, Status.MISSING, "Set, but not to this subscription's token.", fix)
    if token:
        return Check(section, item, Status.OK, "Set to this subscription's token.")
    if not report.subscription_id:
        return Check(section, item, Status.OK, "Set; no subscription to compare it with yet.")
    detail = (
        "Set. Kustomer's list does not show tokens, so it cannot be compared: it must be the token "
        "Kustomer answered when the subscription was made."
    )
    return Check(section, item, Status.OK, detail)
