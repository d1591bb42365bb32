"""The sandbox's seeded history (SandboxConfig.history), its labels and the sample labels, over real HTTP."""

import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from kustomer.sandbox import SandboxServer
from kustomer.tests.test_sandbox import api

HISTORY = 1200
TAXONOMY = Path(__file__).resolve().parents[2] / "classification" / "data" / "ecommerce_taxonomy.json"
TEMPLATES = Path(__file__).resolve().parents[1] / "sandbox" / "history_templates.json"
SEED = TEMPLATES.with_name("seed.json")
ORDER_NUMBER = re.compile(r"\bbs-?(\d{6})\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def past():
    """One sandbox with a history for the module; the tests only read from it."""
    with SandboxServer(history=HISTORY, rate_limit=100_000) as server:
        yield server


def control_get(sandbox, path: str) -> requests.Response:
    response = requests.get(sandbox.url(f"/_sandbox/{path}"), timeout=30)
    assert response.status_code == 200, response.text
    return response


def labels_of(sandbox) -> dict[str, tuple[str, str]]:
    rows = list(csv.DictReader(io.StringIO(control_get(sandbox, "history/labels.csv").text)))
    return {row["conversation"]: (row["intent"], row["sub_intent"]) for row in rows}


def all_conversations(sandbox) -> list[dict]:
    now = datetime.now(UTC)
    body = {
        "and": [
            {"conversation_updated_at": {"gte": (now - timedelta(days=91)).isoformat()}},
            {"conversation_updated_at": {"lte": now.isoformat()}},
        ],
        "sort": [{"conversation_updated_at": "asc"}],
        "queryContext": "conversation",
    }
    found, path = [], "/v1/customers/search?pageSize=500"
    while path:
        page = api(sandbox, "POST", path, json=body).json()
        found += page["data"]
        path = page["links"]["next"]
    return found


def taxonomy() -> dict[str, set[str]]:
    data = json.loads(TAXONOMY.read_text())
    return {intent["key"]: {sub["key"] for sub in intent["sub_intents"]} for intent in data["intents"]}


class TestHistory:
    def test_the_summary_counts_a_realistic_spread(self, past):
        summary = control_get(past, "history").json()
        assert summary["conversations"] == HISTORY
        assert summary["customers"] < HISTORY and summary["orders"] > HISTORY / 3
        assert 0.9 * HISTORY < summary["labelled"] < HISTORY
        assert 0.6 * HISTORY < summary["with_contact_reason"] < 0.8 * HISTORY
        assert set(summary["by_intent"]) == {*taxonomy(), "none"}
        assert max(summary["by_intent"], key=summary["by_intent"].get) == "shipping_issue"
        assert set(summary["by_channel"]) == {"email", "chat", "sms"}
        assert all(count > HISTORY / 10 for count in summary["by_channel"].values())
        assert summary["by_status"]["done"] > 0.75 * HISTORY and summary["by_status"]["open"] > 0
        assert {"en", "es", "fr"} == set(summary["by_language"])

    def test_templates_cover_every_sub_intent_of_the_default_taxonomy(self):
        templates = json.loads(TEMPLATES.read_text())
        expected = {f"{intent}/{sub}" for intent, subs in taxonomy().items() for sub in subs}
        assert set(templates["intents"]) == expected

    def test_conversations_page_through_search_and_read_like_any_other(self, past):
        conversations = all_conversations(past)
        samples = {c["id"] for c in json.loads(SEED.read_text())["conversations"]}
        history = [c for c in conversations if c["id"] not in samples]
        assert len(conversations) == HISTORY + 17 and len(history) == HISTORY
        users = {u["id"] for u in api(past, "GET", "/v1/users?pageSize=500").json()["data"]}
        teams = {t["id"] for t in api(past, "GET", "/v1/teams").json()["data"]}
        oldest = (datetime.now(UTC) - timedelta(days=90, minutes=1)).isoformat()
        for conversation in history:
            attributes = conversation["attributes"]
            assert 2 <= attributes["messageCount"] <= 8
            assert attributes["inboundMessageCount"] >= 1 and attributes["firstMessageIn"]["id"]
            assert attributes["createdAt"] >= oldest[:19]
            assert attributes["assignedUsers"] and set(attributes["assignedUsers"]) <= users
            assert attributes["assignedTeams"] and set(attributes["assignedTeams"]) <= teams
            assert attributes["rev"] > attributes["messageCount"]
        for conversation in history[::60]:
            messages = api(past, "GET", f"/v1/conversations/{conversation['id']}/messages?pageSize=10").json()
            assert messages["data"][0]["attributes"]["direction"] == "in"
            assert len(messages["data"]) == conversation["attributes"]["messageCount"]
            customer = conversation["relationships"]["customer"]["data"]["id"]
            person = api(past, "GET", f"/v1/customers/{customer}").json()["data"]["attributes"]
            assert person["name"] and "@" in person["emails"][0]["email"]
        languages = Counter(c["attributes"]["defaultLang"] for c in history)
        assert languages["es"] and languages["fr"]

    def test_where_is_my_order_names_the_customers_own_order(self, past):
        labels = labels_of(past)
        wismo = [id_ for id_, label in labels.items() if label == ("shipping_issue", "status")]
        assert len(wismo) > HISTORY / 10
        named = 0
        for conversation_id in wismo[:120]:
            raw = control_get(past, f"state/conversations/{conversation_id}").json()
            first = raw["messages"][0]["attributes"]
            text = first["meta"].get("body") or first["preview"]
            if match := ORDER_NUMBER.search(text):
                named += 1
                order = api(past, "GET", f"/v1/klasses/order/externalId=BS-{match.group(1)}").json()["data"]
                owner = raw["conversation"]["relationships"]["customer"]["data"]["id"]
                assert order["relationships"]["customer"]["data"]["id"] == owner
        assert named > 80

    def test_labels_and_contact_reasons_agree_mostly(self, past):
        labels = labels_of(past)
        subs = taxonomy()
        assert all(sub == "" or sub in subs[intent] for intent, sub in labels.values())
        mapping = control_get(past, "history/contact-reasons").json()
        assert mapping["attribute"] == "contactReasonStr"
        reasons = mapping["reasons"]
        assert reasons["Where is my order"] == {"intent": "shipping_issue", "sub_intent": "status"}
        agree = total = 0
        for conversation in all_conversations(past):
            reason = conversation["attributes"]["custom"].get("contactReasonStr")
            if conversation["id"] in labels and reason:
                assert reason in reasons
                total += 1
                agree += reasons[reason]["intent"] == labels[conversation["id"]][0]
        assert 0.8 < agree / total < 1

    def test_some_first_emails_are_long_and_some_conversations_vague(self, past):
        summary = control_get(past, "history").json()
        assert summary["by_intent"]["none"] > HISTORY / 50
        long_emails = 0
        for conversation in [c for c in all_conversations(past) if c["attributes"]["channels"] == ["email"]][
            :150
        ]:
            first = api(
                past, "GET", f"/v1/messages/{conversation['attributes']['firstMessageIn']['id']}"
            ).json()
            long_emails += "body" in first["data"]["attributes"]["meta"]
        assert long_emails > 3

    def test_the_same_seed_gives_the_same_history(self, past):
        with SandboxServer(history=HISTORY) as again:
            assert labels_of(again) == labels_of(past)
            some = next(iter(labels_of(past)))
            first = control_get(past, f"state/conversations/{some}").json()["messages"]
            second = control_get(again, f"state/conversations/{some}").json()["messages"]
            assert [m["attributes"]["preview"] for m in first] == [m["attributes"]["preview"] for m in second]


class TestWithoutHistory:
    def test_history_is_off_by_default(self, kustomer_sandbox):
        assert control_get(kustomer_sandbox, "history").json()["conversations"] == 0
        assert control_get(kustomer_sandbox, "history/labels.csv").text == "conversation,intent,sub_intent\n"
        assert (
            control_get(kustomer_sandbox, "history/labels.csv").headers["Content-Type"].startswith("text/csv")
        )


class TestSampleLabels:
    def test_each_sample_declares_its_label_and_where_it_should_go(self, kustomer_sandbox):
        samples = control_get(kustomer_sandbox, "state").json()["samples"]
        subs = taxonomy()
        assert len(samples) == 17
        for label in samples.values():
            assert label["expect"] in ("auto", "triage")
            if label["expect"] == "auto":
                assert label["sub_intent"] in subs[label["intent"]]
            elif label["intent"]:
                assert label["sub_intent"] is None or label["sub_intent"] in subs[label["intent"]]
        expects = Counter(label["expect"] for label in samples.values())
        assert expects["auto"] >= 10 and expects["triage"] >= 3
        swallow = samples["6650c2b3c4d5e6f702b3d00c"]
        assert (swallow["intent"], swallow["expect"]) == (None, "triage")
