"""Inference log records and the CloudEvents (binary mode) they are posted as, as upstream's
logger sends them. Pure: no clock, no I/O.

Not to be confused with `protocol/cloudevents.py`, which decodes CloudEvent *requests* sent to a
model. A record here is one side of an exchange (the request a model got, or its answer); the
pair shares one id, taken from the request's `Ce-Id` header or new.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kserve_server import ids

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
    return headers.get(ID_HEADER) or ids.new_id()


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
    text = moment.astimezone(datetime.UTC).isoformat()[:-6]  # less "+00:00"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "Z"


def _header_value(value: str) -> str:
    """Percent-encode what a header cannot carry (and `%` itself, so decoding receivers read the
    value back); `"` and spaces stay literal, as upstream's Go SDK sends them (JSON metadata)."""
    if value.isascii() and value.isprintable() and "%" not in value:
        return value
    out = []
    for char in value:
        if char == "%" or not (" " <= char <= "~"):
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)


def _json(value: Mapping[str, object]) -> str:
    if not value:
        return "{}"
    return json.dumps(dict(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _origin_attributes(origin: Origin) -> dict[str, str]:
    attributes = {
        "specversion": SPEC_VERSION,
        "source": origin.source,
        "inferenceservicename": origin.inference_service,
        "namespace": origin.namespace,
        "component": origin.component,
        "endpoint": origin.endpoint,
    }
    if origin.annotations:
        attributes["annotations"] = _json(origin.annotations)
    return attributes


def _record_attributes(record: LogRecord, recorded: str) -> dict[str, str]:
    return {
        "id": record.id,
        "type": record.type,
        "time": timestamp(record.time),
        "recordedtime": recorded,
        "metadata": _json(record.metadata),
    }


def _name(attribute: str) -> str:
    return f"Ce-{attribute.capitalize()}"


def headers(record: LogRecord, *, origin: Origin, recorded: datetime.datetime) -> dict[str, str]:
    """HTTP headers of the binary-mode CloudEvent for `record`; the body is `record.body`."""
    attributes = {**_origin_attributes(origin), **_record_attributes(record, timestamp(recorded))}
    out = {_name(name): _header_value(value) for name, value in attributes.items()}
    if record.content_type:
        out["Content-Type"] = record.content_type
    return out


class HeaderEncoder:
    """headers() as HTTP/1.1 header lines, with the origin's part encoded once."""

    def __init__(self, origin: Origin) -> None:
        self._fixed = "".join(
            f"{_name(name)}: {_header_value(value)}\r\n"
            for name, value in _origin_attributes(origin).items()
        ).encode("latin-1")

    def encode(self, record: LogRecord, *, recorded: str) -> bytes:
        lines = [
            f"{_name(name)}: {_header_value(value)}\r\n"
            for name, value in _record_attributes(record, recorded).items()
        ]
        if record.content_type:
            lines.append(f"Content-Type: {_header_value(record.content_type)}\r\n")
        return self._fixed + "".join(lines).encode("latin-1")
