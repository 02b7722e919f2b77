"""CloudEvents on the V1 predict path (binary and structured mode), as upstream KServe answers.

Binary mode: the four `ce-specversion`, `ce-source`, `ce-type`, `ce-id` headers, the body is the
event data. Structured mode: `Content-Type: application/cloudevents+json`, a JSON envelope whose
`data` is the request. The answer is an event of the same mode: new id and time, source
`io.kserve.inference.<model>`, type `io.kserve.inference.response`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from kserve_server.errors import InvalidInput

BINARY_HEADERS = ("ce-specversion", "ce-source", "ce-type", "ce-id")
STRUCTURED = "application/cloudevents+json"
RESPONSE_TYPE = "io.kserve.inference.response"


@dataclass(frozen=True)
class Event:
    """How a request came in, so the response goes out the same way."""

    structured: bool


def detect(headers: Mapping[str, str], content_type: str) -> Event | None:
    if all(name in headers for name in BINARY_HEADERS):
        return Event(structured=False)
    if content_type == STRUCTURED:
        return Event(structured=True)
    return None


def request_body(event: Event, body: bytes) -> bytes:
    """The V1 JSON inside the event."""
    if not event.structured:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"Failed to decode or parse binary json cloudevent: {exc}") from None
        return body
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"Unrecognized request format: {exc}") from None
    if not isinstance(envelope, dict) or "data" not in envelope:
        raise InvalidInput('a structured cloudevent needs a "data" attribute')
    data = envelope["data"]
    return data.encode() if isinstance(data, str) else orjson.dumps(data)


def response(event: Event, *, model: str, body: bytes) -> tuple[dict[str, str], bytes]:
    """Headers and body of the answering event."""
    attributes = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"io.kserve.inference.{model}",
        "type": RESPONSE_TYPE,
        "time": datetime.datetime.now(datetime.UTC).isoformat(),
    }
    if event.structured:
        envelope: dict[str, Any] = {**attributes, "data": orjson.loads(body)}
        return {"Content-Type": STRUCTURED}, orjson.dumps(envelope)
    headers = {f"ce-{name}": value for name, value in attributes.items()}
    headers["Content-Type"] = "application/json"
    return headers, body
