"""The local Messages API stand-in, exercised through the real anthropic SDK over HTTP."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import anthropic
import pydantic
import pytest
from pydantic import BaseModel, Field

from bearscope.testing.messages_server import (
    MessagesServer,
    default_reply,
    error,
    example_for_schema,
    hang,
    refusal,
    repeat,
    reply_json,
)

MODEL = "claude-haiku-4-5"
LONG_RULES = "Classify the customer's message into exactly one intent. " * 80  # ~1,150 tokens


class Classification(BaseModel):
    intent: Literal["order_status", "refund", "other"]
    confidence: float = Field(ge=0, le=1)


def _system(text: str = "You classify customer messages.", *, cached: bool = False) -> list[dict]:
    block: dict = {"type": "text", "text": text}
    if cached:
        block["cache_control"] = {"type": "ephemeral"}
    return [block]


def _user(text: str = "Where is my order BS-100234?") -> list[dict]:
    return [{"role": "user", "content": text}]


def _parse(client: anthropic.Anthropic, **overrides):
    kwargs = {
        "model": MODEL,
        "max_tokens": 200,
        "system": _system(),
        "messages": _user(),
        "output_format": Classification,
    }
    return client.messages.parse(**{**kwargs, **overrides})


def _client(server: MessagesServer, **options) -> anthropic.Anthropic:
    options = {"api_key": "test", "max_retries": 0, "timeout": 5, **options}
    return anthropic.Anthropic(base_url=server.base_url, **options)


def test_create_round_trip_records_the_request(messages_server, anthropic_client):
    message = anthropic_client.messages.create(
        model=MODEL, max_tokens=100, system=_system(), messages=_user("hello")
    )

    assert message.role == "assistant"
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text"
    assert message.content[0].text
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.cache_read_input_tokens == 0
    assert message._request_id.startswith("req_")

    [request] = messages_server.message_requests
    assert request["body"]["system"] == _system()
    assert request["body"]["messages"] == _user("hello")
    # SDK 2.x sends the api_key as a bearer token, not x-api-key.
    assert request["headers"]["authorization"] == "Bearer test"
    assert request["headers"]["anthropic-version"]
    assert request["status"] == 200


def test_fixture_points_django_settings_at_the_server(messages_server, settings):
    assert messages_server.base_url == settings.ANTHROPIC_BASE_URL
    assert settings.ANTHROPIC_API_KEY == "test"


def test_parse_sends_output_config_and_gets_a_valid_instance(messages_server, anthropic_client):
    message = _parse(anthropic_client)

    assert message.parsed_output == Classification(intent="order_status", confidence=0.95)
    output_config = messages_server.message_requests[0]["body"]["output_config"]
    assert output_config["format"]["type"] == "json_schema"
    schema = output_config["format"]["schema"]
    assert schema["properties"]["intent"]["enum"] == ["order_status", "refund", "other"]
    # The SDK strips minimum/maximum from the schema and writes them into the description.
    assert schema["properties"]["confidence"] == {
        "type": "number",
        "title": "Confidence",
        "description": "{maximum: 1, minimum: 0}",
    }


def test_keyword_intents_steer_the_schema_responder(make_messages_server):
    server = make_messages_server(keyword_intents={"refund": "refund", "cancel": "not_in_enum"})
    client = _client(server)

    assert _parse(client, messages=_user("I want a REFUND please")).parsed_output.intent == "refund"
    assert _parse(client, messages=_user("Cancel it")).parsed_output.intent == "order_status"


def test_out_of_range_value_makes_parse_raise_validation_error(messages_server, anthropic_client):
    messages_server.script(reply_json({"intent": "refund", "confidence": 1.7}))

    with pytest.raises(pydantic.ValidationError) as excinfo:
        _parse(anthropic_client)

    assert excinfo.value.errors()[0]["type"] == "less_than_equal"


def test_truncated_json_makes_parse_raise_and_create_shows_max_tokens(messages_server, anthropic_client):
    truncated = reply_json('{"intent": "ord', stop_reason="max_tokens")
    messages_server.script(truncated, truncated)

    # parse() validates every text block, so the stop_reason never reaches the caller.
    with pytest.raises(pydantic.ValidationError) as excinfo:
        _parse(anthropic_client)
    assert excinfo.value.errors()[0]["type"] == "json_invalid"

    message = anthropic_client.messages.create(model=MODEL, max_tokens=200, messages=_user())
    assert message.stop_reason == "max_tokens"
    assert message.content[0].text == '{"intent": "ord'


def test_reply_longer_than_max_tokens_is_cut(anthropic_client):
    message = anthropic_client.messages.create(
        model=MODEL,
        max_tokens=3,
        messages=_user(),
        output_config={
            "format": {"type": "json_schema", "schema": anthropic.transform_schema(Classification)}
        },
    )

    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 3
    assert len(message.content[0].text) == 12


def test_refusal(messages_server, anthropic_client):
    messages_server.script(refusal(), refusal())

    message = anthropic_client.messages.create(model=MODEL, max_tokens=100, messages=_user())
    assert message.stop_reason == "refusal"
    assert message.stop_details.type == "refusal"

    # The refusal text is not JSON: parse() raises instead of returning parsed_output=None.
    with pytest.raises(pydantic.ValidationError):
        _parse(anthropic_client)


def test_429_with_retry_after_is_retried_once(messages_server):
    messages_server.script(error(429, retry_after=1, retry_after_ms=50))
    client = _client(messages_server, max_retries=1)

    started = time.monotonic()
    message = _parse(client)

    assert message.parsed_output is not None
    assert time.monotonic() - started < 1  # retry-after-ms wins over retry-after
    requests = messages_server.message_requests
    assert len(requests) == 2
    assert [r["status"] for r in requests] == [429, 200]
    assert [r["headers"]["x-stainless-retry-count"] for r in requests] == ["0", "1"]


def test_529_without_retries_raises_overloaded_error(messages_server, anthropic_client):
    messages_server.script(repeat(error(529), 3))

    with pytest.raises(anthropic.OverloadedError) as excinfo:
        _parse(anthropic_client)

    exc = excinfo.value
    assert isinstance(exc, anthropic.InternalServerError)
    assert exc.status_code == 529
    assert exc.type == "overloaded_error"
    assert exc.request_id.startswith("req_")
    assert len(messages_server.message_requests) == 1
    assert messages_server.scripted_remaining == 2


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (429, anthropic.RateLimitError),
        (500, anthropic.InternalServerError),
    ],
)
def test_error_statuses_map_to_sdk_exceptions(messages_server, anthropic_client, status, exception):
    messages_server.script(error(status))

    with pytest.raises(exception) as excinfo:
        _parse(anthropic_client)

    assert excinfo.value.status_code == status


def test_hang_longer_than_the_timeout_raises_api_timeout_error(messages_server):
    messages_server.script(hang(3), default_reply())
    client = _client(messages_server, timeout=0.3)

    with pytest.raises(anthropic.APITimeoutError):
        _parse(client)

    # The server keeps answering the next call while the hung one is still asleep.
    assert _parse(client).parsed_output is not None


def test_prompt_caching_writes_then_reads_the_marked_prefix(anthropic_client):
    def call(conversation: str) -> anthropic.types.Usage:
        return anthropic_client.messages.create(
            model=MODEL, max_tokens=100, system=_system(LONG_RULES, cached=True), messages=_user(conversation)
        ).usage

    first = call("Where is my order?")
    second = call("I want a refund for my last order, please.")

    assert first.cache_creation_input_tokens > 1024
    assert first.cache_read_input_tokens == 0
    assert second.cache_creation_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.input_tokens < first.cache_creation_input_tokens


def test_prefix_below_the_minimum_is_not_cached(anthropic_client):
    for _ in range(2):
        usage = anthropic_client.messages.create(
            model=MODEL, max_tokens=100, system=_system("short", cached=True), messages=_user()
        ).usage
        assert usage.cache_creation_input_tokens == 0
        assert usage.cache_read_input_tokens == 0


def test_latency_is_not_serialised(make_messages_server):
    server = make_messages_server(latency_ms=300)
    client = _client(server)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: _parse(client), range(6)))

    assert all(result.parsed_output is not None for result in results)
    assert time.monotonic() - started < 1.2


def test_batch_create_retrieve_and_results(messages_server, anthropic_client):
    messages_server.batch_delay_seconds = 0.2
    messages_server.script(default_reply(), error(500))
    params = {
        "model": MODEL,
        "max_tokens": 100,
        "messages": _user(),
        "output_config": {
            "format": {"type": "json_schema", "schema": anthropic.transform_schema(Classification)}
        },
    }
    requests = [{"custom_id": f"conv-{index}", "params": params} for index in range(3)]

    batch = anthropic_client.messages.batches.create(requests=requests)
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 3

    deadline = time.monotonic() + 5
    while batch.processing_status != "ended" and time.monotonic() < deadline:
        time.sleep(0.05)
        batch = anthropic_client.messages.batches.retrieve(batch.id)
    assert batch.processing_status == "ended"
    assert batch.request_counts.succeeded == 2
    assert batch.request_counts.errored == 1

    results = {item.custom_id: item.result for item in anthropic_client.messages.batches.results(batch.id)}
    assert set(results) == {"conv-0", "conv-1", "conv-2"}
    assert results["conv-1"].type == "errored"
    assert results["conv-1"].error.error.type == "api_error"
    for custom_id in ("conv-0", "conv-2"):
        assert results[custom_id].type == "succeeded"
        assert Classification.model_validate_json(results[custom_id].message.content[0].text)
        assert results[custom_id].message.usage.service_tier == "batch"


def test_batch_with_three_succeeded_results(anthropic_client):
    requests = [
        {"custom_id": f"c{index}", "params": {"model": MODEL, "max_tokens": 50, "messages": _user()}}
        for index in range(3)
    ]
    batch = anthropic_client.messages.batches.create(requests=requests)
    batch = anthropic_client.messages.batches.retrieve(batch.id)  # no delay: ended at the first poll

    assert batch.processing_status == "ended"
    results = list(anthropic_client.messages.batches.results(batch.id))
    assert sorted(item.custom_id for item in results) == ["c0", "c1", "c2"]
    assert all(item.result.type == "succeeded" for item in results)


def test_invalid_request_is_rejected_without_consuming_the_script(messages_server, anthropic_client):
    messages_server.script(reply_json({"intent": "refund", "confidence": 0.5}))

    with pytest.raises(anthropic.BadRequestError):
        anthropic_client.messages.create(model=MODEL, max_tokens=100, messages=[])

    assert messages_server.scripted_remaining == 1


def test_api_key_is_checked_when_configured(make_messages_server):
    server = make_messages_server(api_key="right")

    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(api_key="wrong", base_url=server.base_url, max_retries=0).messages.create(
            model=MODEL, max_tokens=10, messages=_user()
        )
    assert _client(server, api_key="right").messages.create(model=MODEL, max_tokens=10, messages=_user())


def test_example_for_schema_handles_nested_optional_and_described_limits():
    class Item(BaseModel):
        sku: str = Field(min_length=3, max_length=5)

    class Result(BaseModel):
        intent: Literal["a", "b"]
        count: int = Field(gt=3, lt=10)
        score: float = Field(ge=0, le=0.5)
        item: Item
        maybe: Item | None = None
        items: list[Item] = Field(min_length=1)
        flag: bool

    schema = anthropic.transform_schema(Result)
    instance = example_for_schema(schema, prefer={"intent": ["missing", "b"]})

    parsed = Result.model_validate(instance)
    assert parsed.intent == "b"
    assert 3 < parsed.count < 10
    assert parsed.maybe is None
    assert len(parsed.items) == 1
