"""kustomer_connect and the Connection page against the sandbox: key, roles, attributes, webhook, probes."""

import ast
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from bearscope.testing.factories import PASSWORD, UserFactory
from kustomer.assumptions import ASSUMPTIONS, Verdict, assumptions_probe, assumptions_table
from kustomer.attributes import OWN_ATTRIBUTES
from kustomer.client import client_checking
from kustomer.models import CustomAttributeNames
from kustomer.payloads import HANDLED_EVENTS
from kustomer.roles import ROLES
from kustomer.tests.factories import MessageFactory, WebhookEventFactory
from kustomer.tests.sandbox_fixtures import CUSTOMER_ID
from kustomer.tests.test_sandbox import api, control

pytestmark = pytest.mark.django_db

URL = "https://bearscope.example.com/webhooks/kustomer/"
KUSTOMER_DIR = Path(__file__).resolve().parents[1]
DOCS = KUSTOMER_DIR.parent / "docs" / "connecting-kustomer.md"


def connect(*args: str, url: str = URL) -> tuple[str, str]:
    """The command's output with its line wrapping undone, and its error ("" when it exits 0)."""
    out, error = StringIO(), ""
    try:
        call_command("kustomer_connect", "--webhook-url", url, *args, stdout=out, no_color=True)
    except CommandError as exc:
        error = str(exc)
    return " ".join(out.getvalue().split()), error


def properties(sandbox) -> dict:
    return sandbox.state.metadata_get("conversation")["attributes"]["properties"]


def hooks(sandbox) -> list[dict]:
    return [hook["attributes"] for hook in sandbox.state.outbound_webhooks_list()]


class TestCommand:
    def test_check_writes_nothing_says_what_is_missing_and_fails(self, kustomer_sandbox):
        kustomer_sandbox.state.request_log_reset()
        out, error = connect("--check")
        log = kustomer_sandbox.state.request_log()
        assert log["writes"] == 0 and log["total"] >= len(ROLES) + 3
        # Every attribute and the subscription.
        assert error.startswith(f"Not connected yet: {len(OWN_ATTRIBUTES) + 1} missing")
        assert "MISSING aiLanguageStr (AI customer language): Not defined" in out
        assert "MISSING aiSentimentStr (AI customer sentiment): Not defined" in out
        assert out.count(" OK ") == 2 + len(ROLES)  # the key, one read per family, the secret (set in tests)
        assert "MISSING aiIntentStr (AI intent): Not defined on the conversation Klass. -> Run" in out
        assert f"MISSING Subscription: No subscription sends to {URL}" in out
        assert hooks(kustomer_sandbox) == [] and "aiIntentStr" not in properties(kustomer_sandbox)

    def test_connect_creates_and_registers_then_check_passes_and_a_rerun_reuses(
        self, kustomer_sandbox, settings
    ):
        out, error = connect()
        assert error == "" and out.endswith("Connected; 1 thing(s) to do, above.")
        [hook] = hooks(kustomer_sandbox)
        assert (hook["url"], sorted(hook["events"])) == (URL, sorted(HANDLED_EVENTS))
        assert f"Put this token in KUSTOMER_WEBHOOK_SECRET: {hook['token']} " in out
        defined = properties(kustomer_sandbox)
        assert {a.default: a.display_name for a in OWN_ATTRIBUTES}.items() <= {
            name: d["displayName"] for name, d in defined.items()
        }.items()
        assert "contactReasonStr" in defined  # the team's own attributes stay

        settings.KUSTOMER_WEBHOOK_SECRET = hook["token"]
        kustomer_sandbox.state.request_log_reset()
        out, error = connect("--check")
        assert error == "" and "Everything BearScope needs is in place." in out
        assert "OK KUSTOMER_WEBHOOK_SECRET: Set to this subscription's token." in out
        out, error = connect()
        assert error == "" and "reused, not changed" in out and len(hooks(kustomer_sandbox)) == 1
        assert kustomer_sandbox.state.request_log()["writes"] == 0  # nothing left to create

    def test_the_names_an_admin_set_are_the_ones_created(self, kustomer_sandbox):
        CustomAttributeNames.objects.update_or_create(pk=1, defaults={"intent": "botIntentStr"})
        connect()
        defined = properties(kustomer_sandbox)
        assert defined["botIntentStr"]["displayName"] == "AI intent" and "aiIntentStr" not in defined

    def test_refused_roles_are_named_with_what_bearscope_needs_them_for(self, kustomer_sandbox):
        control(
            kustomer_sandbox, "POST", "config", {"refused": ["metadata.update", "outbound_webhook", "search"]}
        )
        out, error = connect()
        assert "refused" in error
        assert "OK Attribute definitions: org.permission.metadata.read: reading works" in out
        assert "REFUSED Outbound webhooks: Kustomer refused GET /v1/outbound-webhooks (403)" in out
        assert "org.permission.outbound_webhook.read, org.permission.outbound_webhook.create" in out
        assert "REFUSED Search" in out and "import the team's history" in out
        assert out.count("REFUSED ai") == len(OWN_ATTRIBUTES)
        assert out.count("Give the API key the role org.permission.metadata.update") == 1  # said once
        assert "aiIntentStr" not in properties(kustomer_sandbox) and hooks(kustomer_sandbox) == []

    def test_a_subscription_with_other_events_is_reported_never_changed(self, kustomer_sandbox):
        events = ["kustomer.conversation.create", "kustomer.team.update"]
        body = {"name": "Ops", "url": URL, "events": events}
        assert api(kustomer_sandbox, "POST", "/v1/outbound-webhooks", json=body).status_code == 201
        out, error = connect()
        assert "missing" in error
        assert "MISSING Events: Its events differ: it lacks kustomer.conversation.update," in out
        assert "never changes an existing subscription" in out
        [hook] = hooks(kustomer_sandbox)
        assert hook["events"] == events

    def test_a_wrong_key_stops_at_the_first_line(self, kustomer_sandbox, settings):
        settings.KUSTOMER_API_KEY = "not-the-key"
        kustomer_sandbox.state.request_log_reset()
        out, error = connect("--check")
        assert "REFUSED Who the key is: Kustomer refused the key" in out and "Roles" not in out
        assert kustomer_sandbox.state.request_log()["total"] == 1 and "1 refused" in error

    def test_no_key_no_call(self, settings):
        settings.KUSTOMER_API_KEY = ""
        out, error = connect("--check")
        assert "MISSING Who the key is: KUSTOMER_API_KEY is not set." in out and error

    @pytest.mark.parametrize(
        ("url", "says"),
        [
            ("http://bearscope.example.com/webhooks/kustomer/", "https://"),
            ("https://h.example/", "/webhooks/"),
        ],
    )
    def test_a_wrong_url_is_refused_before_any_call(self, url, says):
        out, error = connect(url=url)
        assert says in error and out == ""

    def test_a_secret_that_is_not_the_token_and_the_last_webhook_are_shown(self, kustomer_sandbox, settings):
        connect()
        settings.KUSTOMER_WEBHOOK_SECRET = "an-old-secret"
        WebhookEventFactory(name="kustomer.message.create")
        out, _ = connect("--check")
        assert "MISSING KUSTOMER_WEBHOOK_SECRET: Set, but not to this subscription's token." in out
        assert "Last webhook received: kustomer.message.create at " in out


class TestAssumptions:
    def test_probes_read_the_org_and_say_what_they_found(self, kustomer_sandbox):
        text = "Hello, I ordered a blue kettle three weeks ago. " * 8  # longer than the preview
        made = control(
            kustomer_sandbox,
            "POST",
            "scenarios/new-conversation",
            {"customer_id": CUSTOMER_ID, "text": text, "deliver": False},
        )
        MessageFactory(kustomer_id=made["message_id"], body=text)
        connect()  # a subscription for the token probe
        control(kustomer_sandbox, "POST", "config", {"reset_epoch": True})
        kustomer_sandbox.state.request_log_reset()
        # By name: a refactor moves the message readers from client.py to payloads.py.
        found = {a.function.rpartition(".")[2]: f for a, f in assumptions_probe(client=client_checking())}
        assert kustomer_sandbox.state.request_log()["writes"] == 0
        reset = found["ratelimit_reset_seconds"]
        assert reset.verdict == Verdict.HOLDS and "read as epoch seconds" in reset.detail
        body = found["message_body_text"]
        assert body.verdict == Verdict.HOLDS and f"{len(text)} in meta.body" in body.detail
        assert found["subscription_token"].verdict == Verdict.HOLDS
        unprobed = [a for a in ASSUMPTIONS if a.probe is None]
        assert all(
            found[a.function.rpartition(".")[2]].verdict == Verdict.NOT_PROBED and a.note for a in unprobed
        )

    def test_the_sms_sender_probe_reads_the_newest_mirrored_sms(self, kustomer_sandbox):
        [sms] = [a for a in ASSUMPTIONS if a.function.endswith("sms_sender_phone")]
        assert sms.check(client_checking()).verdict == Verdict.NOT_PROBED  # no SMS mirrored yet
        MessageFactory(channel="sms", direction="in", meta={"from": "+14155550123"})
        assert sms.check(client_checking()).verdict == Verdict.HOLDS
        MessageFactory(channel="sms", direction="in", meta={})
        assert sms.check(client_checking()).verdict == Verdict.FAILS

    def test_a_probe_kustomer_does_not_answer_says_so(self, kustomer_sandbox):
        body = {"status": 503, "count": 2, "path": "^/v1/users/current$"}
        control(kustomer_sandbox, "POST", "faults", body)
        [reset] = [f for a, f in assumptions_probe() if a.function.endswith("ratelimit_reset_seconds")]
        assert reset.verdict == Verdict.UNKNOWN and "Kustomer did not answer the probe" in reset.detail

    def test_the_registry_holds_every_assumption_function_of_the_kustomer_app(self):
        registered = {a.function.rpartition(".")[2] for a in ASSUMPTIONS if a.function}
        declared = set()
        for module in KUSTOMER_DIR.glob("*.py"):
            for node in ast.walk(ast.parse(module.read_text())):
                doc = ast.get_docstring(node) if isinstance(node, ast.FunctionDef) else None
                if doc and doc.startswith("Assumption:"):
                    declared.add(node.name)
        assert declared and declared <= registered
        assert all(a.held_by() is not None for a in ASSUMPTIONS if a.function)

    def test_the_docs_carry_the_registrys_table_and_every_role(self):
        docs = DOCS.read_text()
        assert assumptions_table() in docs
        assert all(role in docs for r in ROLES for role in r.roles)


class TestConnectionPage:
    @pytest.fixture
    def staff_client(self) -> Client:
        user = get_user_model().objects.create_user(
            "lead", "lead@example.com", "pw-tests-only", is_staff=True
        )
        client = Client()
        client.force_login(user)
        return client

    def test_staff_see_the_checks_the_last_webhook_and_the_assumptions(self, staff_client, kustomer_sandbox):
        event = WebhookEventFactory(name="kustomer.conversation.update")
        kustomer_sandbox.state.request_log_reset()
        assert "/admin/kustomer/connection/" in staff_client.get("/admin/").content.decode()
        page = staff_client.get("/admin/kustomer/connection/").content.decode()
        assert kustomer_sandbox.state.request_log()["writes"] == 0
        assert "Run the checks again" in page and "Who the key is" in page
        assert "BearScope, a machine user" in page and "Not defined on the conversation Klass." in page
        assert f"/admin/kustomer/webhookevent/{event.pk}/change/" in page
        assert "kustomer.client.ratelimit_reset_seconds" in page and "not probed" in page
        assert "http://testserver/webhooks/kustomer/" in page

    def test_a_broken_key_is_a_checklist_line_not_an_error_page(
        self, staff_client, kustomer_sandbox, settings
    ):
        settings.KUSTOMER_API_KEY = "not-the-key"
        response = staff_client.get("/admin/kustomer/connection/")
        assert response.status_code == 200
        assert "Kustomer refused the key" in response.content.decode()
        assert "Not probed: the API key must work first" in response.content.decode()

    def test_only_staff(self):
        user = get_user_model().objects.create_user("agent", "a@example.com", "pw-tests-only")
        client = Client()
        client.force_login(user)
        response = client.get("/admin/kustomer/connection/")
        assert response.status_code == 302 and "/admin/login/" in response.url


@pytest.mark.django_db(transaction=True)
def test_the_connection_page_in_a_browser(page, live_server, kustomer_sandbox):
    """Server-rendered and CSP-clean (the page fixture fails on any blocked script or style)."""
    UserFactory(username="lead", is_staff=True)
    page.goto(f"{live_server.url}/admin/kustomer/connection/")
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Connection to Kustomer").is_visible()
    assert page.get_by_role("heading", name="Assumptions about Kustomer's API").is_visible()
    kustomer_sandbox.state.request_log_reset()
    page.get_by_role("button", name="Run the checks again").click()
    page.wait_for_load_state()
    assert page.locator(".connection-table").first.get_by_text("Who the key is").is_visible()
    log = kustomer_sandbox.state.request_log()
    assert log["total"] > 0 and log["writes"] == 0
