"""The Message Batches endpoints: every request answered at create, the batch ended after a delay."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .responses import Response, error_response, now, timestamp
from .steps import error

_BATCH_PATH = re.compile(r"^/v1/messages/batches/(?P<id>[^/]+)(?P<rest>/results|/cancel)?$")


@dataclass
class Batch:
    id: str
    created_at: datetime
    ready_at: float
    results: list[dict[str, Any]]
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None


class Batches:
    """The batches a server holds; `answer(params)` gives one request's result when a batch is created."""

    def __init__(self, answer: Callable[[dict[str, Any]], dict[str, Any]], base_url: str) -> None:
        self.answer = answer
        self.base_url = base_url
        self._lock = threading.Lock()
        self._batches: dict[str, Batch] = {}

    def clear(self) -> None:
        with self._lock:
            self._batches.clear()

    def route(self, method: str, path: str, body: Any, *, delay_seconds: float) -> Response | None:
        """The answer to a batches request, or None when it is not one."""
        if path == "/v1/messages/batches":
            if method == "POST":
                return self._create(body, delay_seconds)
            if method == "GET":
                return self._list()
        match = _BATCH_PATH.match(path)
        if match:
            batch_id, rest = match["id"], match["rest"]
            if rest is None and method == "GET":
                return self._retrieve(batch_id)
            if rest is None and method == "DELETE":
                return self._delete(batch_id)
            if rest == "/results" and method == "GET":
                return self._results(batch_id)
            if rest == "/cancel" and method == "POST":
                return self._cancel(batch_id)
        return None

    def _create(self, body: Any, delay_seconds: float) -> Response:
        requests = body.get("requests") if isinstance(body, Mapping) else None
        if not isinstance(requests, list) or not requests:
            return error_response(error(400, message="requests: at least one request is required"))
        custom_ids = [item.get("custom_id") if isinstance(item, Mapping) else None for item in requests]
        named = all(isinstance(cid, str) and cid for cid in custom_ids)
        if not named or len(set(custom_ids)) != len(custom_ids):
            return error_response(error(400, message="requests: each needs a unique custom_id"))
        if not all(isinstance(item.get("params"), dict) for item in requests):
            return error_response(error(400, message="requests: each needs params"))
        results = [
            {"custom_id": item["custom_id"], "result": self.answer(item["params"])} for item in requests
        ]
        batch = Batch(
            id=f"msgbatch_{uuid.uuid4().hex[:24]}",
            created_at=now(),
            ready_at=time.monotonic() + delay_seconds,
            results=results,
        )
        with self._lock:
            self._batches[batch.id] = batch
        # The API always answers a create with in_progress; a poll shows the end.
        return Response(200, self._json(batch, allow_end=False))

    def _ended(self, batch: Batch) -> bool:
        if batch.ended_at is None and time.monotonic() >= batch.ready_at:
            batch.ended_at = now()
        return batch.ended_at is not None

    def _json(self, batch: Batch, *, allow_end: bool = True) -> dict[str, Any]:
        ended = allow_end and self._ended(batch)
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for item in batch.results:
                counts[item["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.results)
        if ended:
            status = "ended"
        elif batch.cancel_initiated_at:
            status = "canceling"
        else:
            status = "in_progress"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": timestamp(batch.created_at),
            "expires_at": timestamp(batch.created_at + timedelta(hours=24)),
            "ended_at": timestamp(batch.ended_at) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": timestamp(batch.cancel_initiated_at),
            "results_url": f"{self.base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _get(self, batch_id: str) -> Batch | None:
        with self._lock:
            return self._batches.get(batch_id)

    def _not_found(self, batch_id: str) -> Response:
        return error_response(error(404, message=f"No message batch with id {batch_id}."))

    def _retrieve(self, batch_id: str) -> Response:
        batch = self._get(batch_id)
        if batch is None:
            return self._not_found(batch_id)
        return Response(200, self._json(batch))

    def _list(self) -> Response:
        with self._lock:
            batches = sorted(self._batches.values(), key=lambda b: b.created_at, reverse=True)
        data = [self._json(batch) for batch in batches]
        return Response(
            200,
            {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            },
        )

    def _results(self, batch_id: str) -> Response:
        batch = self._get(batch_id)
        if batch is None:
            return self._not_found(batch_id)
        if not self._ended(batch):
            return error_response(error(400, message=f"Message batch {batch_id} is still processing."))
        lines = "".join(json.dumps(item) + "\n" for item in batch.results)
        return Response(200, lines.encode(), content_type="application/binary")

    def _cancel(self, batch_id: str) -> Response:
        batch = self._get(batch_id)
        if batch is None:
            return self._not_found(batch_id)
        if not self._ended(batch):
            batch.cancel_initiated_at = now()
            batch.results = [
                {"custom_id": item["custom_id"], "result": {"type": "canceled"}} for item in batch.results
            ]
            payload = self._json(batch, allow_end=False)
            batch.ready_at = time.monotonic()  # the next poll shows it ended
            return Response(200, payload)
        return Response(200, self._json(batch))

    def _delete(self, batch_id: str) -> Response:
        with self._lock:
            batch = self._batches.pop(batch_id, None)
        if batch is None:
            return self._not_found(batch_id)
        return Response(200, {"id": batch_id, "type": "message_batch_deleted"})
