"""Inference log records and the CloudEvents (binary mode) they are posted as, as upstream's
logger sends them. Pure: no clock, no I/O.

Not to be confused with `protocol/cloudevents.py`, which decodes CloudEvent *requests* sent to a
model. A record here is one side of an exchange (the request a model got, or its answer); the
pair shares one id, taken from the request's `Ce-Id` header or new.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
ID_HEADER = "Ce-Id"
SPEC_VERSION = "1.0"


@dataclass(frozen=True)
class Origin:
    """What every event of this server says about where it comes from."""

    source: str
    inference_service: str = ""
    namespace: str = ""
    component: str = ""
    endpoint: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LogRecord:
    """One logged request or response: the bytes as they went over the wire."""

    id: str
    type: str  # REQUEST_TYPE or RESPONSE_TYPE
    body: bytes
    content_type: str
    time: datetime.datetime  # when the request arrived / the response was ready
    metadata: Mapping[str, list[str]] = field(default_factory=dict)


def exchange_id(headers: Mapping[str, str]) -> str:
    """The request's `Ce-Id`, else a new UUID (upstream's getOrCreateID)."""
    return headers.get(ID_HEADER) or str(uuid.uuid4())


def canonical_header(name: str) -> str:
    """Go's canonical header key (`x-request-id` → `X-Request-Id`), as upstream's metadata keys."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def metadata(headers: Iterable[tuple[str, str]], allowed: Iterable[str]) -> dict[str, list[str]]:
    """The allow-listed headers, all values, keyed as upstream's receivers see them. Names are
    matched case-insensitively (upstream needs the canonical spelling in the allow list)."""
    wanted = {name.lower() for name in allowed}
    found: dict[str, list[str]] = {}
    if not wanted:
        return found
    for name, value in headers:
        if name.lower() in wanted:
            found.setdefault(canonical_header(name), []).append(value)
    return found


def timestamp(moment: datetime.datetime) -> str:
    """RFC 3339 in UTC with a `Z`, fraction trimmed, as Go's RFC3339Nano writes it."""
    utc = moment.astimezone(datetime.UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def _header_value(value: str) -> str:
    """Percent-encode what a header cannot carry (and `%` itself, so decoding receivers read the
    value back); `"` and spaces stay literal, as upstream's Go SDK sends them (JSON metadata)."""
    out = []
    for char in value:
        if char == "%" or not (" " <= char <= "~"):
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)


def headers(record: LogRecord, *, origin: Origin, recorded: datetime.datetime) -> dict[str, str]:
    """HTTP headers of the binary-mode CloudEvent for `record`; the body is `record.body`."""
    attributes = {
        "specversion": SPEC_VERSION,
        "id": record.id,
        "source": origin.source,
        "type": record.type,
        "time": timestamp(record.time),
        "recordedtime": timestamp(recorded),
        "inferenceservicename": origin.inference_service,
        "namespace": origin.namespace,
        "component": origin.component,
        "endpoint": origin.endpoint,
        "metadata": json.dumps(
            dict(record.metadata), separators=(",", ":"), sort_keys=True, ensure_ascii=False
        ),
    }
    if origin.annotations:
        attributes["annotations"] = json.dumps(
            dict(origin.annotations), separators=(",", ":"), sort_keys=True, ensure_ascii=False
        )
    out = {f"Ce-{name.capitalize()}": _header_value(value) for name, value in attributes.items()}
    if record.content_type:
        out["Content-Type"] = record.content_type
    return out
