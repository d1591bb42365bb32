"""The sandbox's custom attribute definitions (GET/PUT /v1/metadata/conversation), over real HTTP."""

import requests

from kustomer.sandbox import SandboxServer
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID
from kustomer.tests.test_sandbox import AUTH, api, control

PATH = "/v1/metadata/conversation"


class TestDefinitions:
    def test_the_teams_own_attributes_are_defined_at_the_start(self, kustomer_sandbox):
        klass = api(kustomer_sandbox, "GET", PATH).json()["data"]
        assert (klass["type"], klass["id"], klass["attributes"]["name"]) == (
            "klass",
            "conversation",
            "conversation",
        )
        assert klass["attributes"]["properties"]["contactReasonStr"] == {
            "displayName": "Contact reason",
            "type": "string",
        }
        assert "aiIntentStr" not in klass["attributes"]["properties"]
        assert api(kustomer_sandbox, "GET", "/v1/metadata/customer").json()["data"]["attributes"] == {
            "name": "customer",
            "properties": {},
            "updatedAt": klass["attributes"]["updatedAt"],
        }
        assert api(kustomer_sandbox, "GET", "/v1/metadata/spaceship").status_code == 404

    def test_put_adds_definitions_typed_by_their_suffix(self, kustomer_sandbox):
        answer = api(
            kustomer_sandbox,
            "PUT",
            PATH,
            json={
                "properties": {
                    "aiIntentStr": {"displayName": "AI intent"},
                    "aiConfidenceNum": {},
                    "aiReviewedBool": {"displayName": "AI reviewed"},
                    "aiClassifiedAt": {"type": "date"},
                    "aiReviewerId": {"displayName": "Reviewer", "target": "user"},
                }
            },
        )
        assert answer.status_code == 200
        properties = api(kustomer_sandbox, "GET", PATH).json()["data"]["attributes"]["properties"]
        assert properties == answer.json()["data"]["attributes"]["properties"]
        assert {name: p["type"] for name, p in properties.items()} == {
            "contactReasonStr": "string",
            "orderNumberStr": "string",
            "aiIntentStr": "string",
            "aiConfidenceNum": "number",
            "aiReviewedBool": "boolean",
            "aiClassifiedAt": "date",
            "aiReviewerId": "id",
        }
        assert properties["aiConfidenceNum"]["displayName"] == "Ai Confidence"
        assert properties["aiReviewerId"]["target"] == "user"
        renamed = api(
            kustomer_sandbox, "PUT", PATH, json={"properties": {"aiIntentStr": {"displayName": "Intent"}}}
        )
        assert renamed.json()["data"]["attributes"]["properties"]["aiIntentStr"]["displayName"] == "Intent"
        assert len(renamed.json()["data"]["attributes"]["properties"]) == 7

    def test_bad_definitions_are_400_and_change_nothing(self, kustomer_sandbox):
        before = api(kustomer_sandbox, "GET", PATH).json()["data"]["attributes"]["properties"]
        for properties, pointer in (
            ({"aiIntent": {}}, "/properties/aiIntent"),
            ({"aiIntentStr": {"type": "number"}}, "/properties/aiIntentStr/type"),
            ({"aiReviewerId": {"displayName": "Reviewer"}}, "/properties/aiReviewerId/target"),
            ({"aiReviewerId": {"target": "spaceship"}}, "/properties/aiReviewerId/target"),
            ({"okStr": {}, "aiIntentStr": "AI intent"}, "/properties/aiIntentStr"),
        ):
            answer = api(kustomer_sandbox, "PUT", PATH, json={"properties": properties})
            assert answer.status_code == 400, properties
            assert answer.json()["errors"][0]["source"]["pointer"] == pointer
        assert api(kustomer_sandbox, "PUT", PATH, json={"properties": {}}).status_code == 400
        assert api(kustomer_sandbox, "PUT", PATH, json=["aiIntentStr"]).status_code == 400
        assert api(kustomer_sandbox, "GET", PATH).json()["data"]["attributes"]["properties"] == before


class TestUndefinedCustomKeys:
    def test_accepted_by_default_refused_when_strict(self, kustomer_sandbox):
        path = f"/v1/conversations/{CONVERSATION_ID}"
        assert api(kustomer_sandbox, "PATCH", path, json={"custom": {"aiIntentStr": "x"}}).status_code == 200
        control(kustomer_sandbox, "POST", "config", {"strict_custom_attributes": True})
        refused = api(kustomer_sandbox, "PATCH", path, json={"custom": {"aiIntentStr": "y"}})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["source"]["pointer"] == "/custom/aiIntentStr"
        defined = api(kustomer_sandbox, "PATCH", path, json={"custom": {"contactReasonStr": "Refund"}})
        assert defined.json()["data"]["attributes"]["custom"] == {
            "aiIntentStr": "x",
            "contactReasonStr": "Refund",
        }
        api(kustomer_sandbox, "PUT", PATH, json={"properties": {"aiIntentStr": {}}})
        assert api(kustomer_sandbox, "PATCH", path, json={"custom": {"aiIntentStr": "y"}}).status_code == 200

    def test_strictness_and_refused_metadata_roles_from_the_config(self):
        config = {"strict_custom_attributes": True, "refused": ["metadata.update"]}
        with SandboxServer(**config) as server:
            patch = requests.patch(
                server.url(f"/v1/conversations/{CONVERSATION_ID}"),
                json={"custom": {"aiIntentStr": "x"}},
                headers=AUTH,
                timeout=5,
            )
            put = requests.put(
                server.url(PATH), json={"properties": {"aiIntentStr": {}}}, headers=AUTH, timeout=5
            )
            get = requests.get(server.url(PATH), headers=AUTH, timeout=5)
        assert (patch.status_code, put.status_code, get.status_code) == (400, 403, 200)
        assert put.json()["errors"][0]["meta"]["roles"] == ["org.permission.metadata.update"]
