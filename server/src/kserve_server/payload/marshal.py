"""Log records as stored objects, in upstream's formats (pure).

JSON: upstream's LogRequest as Go's encoding/json writes it (bytes in base64, the URLs as Go's
url.URL struct, empty fields left out); one record is an object, several an array. CSV: a
header row and one row per record, bytes in base64, maps as JSON strings. The object key is
`<url path>/<namespace>/<isvc>/<component>/<store path>/<id>-<request|response>.<ext>`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import posixpath
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kserve_server.payload import events
from kserve_server.payload_settings import LoggerSettings

CSV_COLUMNS = (
    "url",
    "bytes",
    "contentType",
    "reqType",
    "id",
    "sourceUri",
    "inferenceService",
    "namespace",
    "component",
    "endpoint",
    "metadata",
    "annotations",
    "certName",
    "tlsSkipVerify",
)
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv"}


@dataclass(frozen=True)
class Marshalled:
    data: bytes
    extension: str


def go_url(url: str) -> dict[str, Any]:
    """Go's url.URL struct as encoding/json writes it (what upstream's JSON logs hold)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    user: dict[str, str] | None = None
    if "@" in netloc:
        user_text, netloc = netloc.rsplit("@", 1)
        user = {}  # Go's Userinfo has no exported fields
        del user_text
    return {
        "Scheme": parts.scheme,
        "Opaque": "",
        "User": user,
        "Host": netloc,
        "Path": parts.path,
        "RawPath": "",
        "OmitHost": False,
        "ForceQuery": False,
        "RawQuery": parts.query,
        "Fragment": parts.fragment,
        "RawFragment": "",
    }


def log_request(record: events.LogRecord, settings: LoggerSettings) -> dict[str, Any]:
    """Upstream's LogRequest JSON for one record."""
    fields: dict[str, Any] = {
        "url": go_url(settings.url),
        "bytes": base64.b64encode(record.body).decode("ascii"),
        "contentType": record.content_type,
        "reqType": record.type,
        "id": record.id,
        "sourceUri": go_url(settings.source_uri),
        "inferenceService": settings.inference_service,
        "namespace": settings.namespace,
        "component": settings.component,
        "endpoint": settings.endpoint,
        "metadata": dict(record.metadata),
        "annotations": dict(settings.metadata_annotations),
        "certName": settings.ca_cert_file,
        "tlsSkipVerify": settings.tls_skip_verify,
    }
    out = {key: value for key, value in fields.items() if value not in ("", {}, False)}
    out["occurrenceTime"] = events.timestamp(record.time)
    return out


def to_json(batch: list[events.LogRecord], settings: LoggerSettings) -> Marshalled:
    items = [log_request(record, settings) for record in batch]
    value: Any = items[0] if len(items) == 1 else items
    return Marshalled(json.dumps(value, separators=(",", ":")).encode(), "json")


def to_csv(batch: list[events.LogRecord], settings: LoggerSettings) -> Marshalled:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in batch:
        writer.writerow(
            [
                settings.url,
                base64.b64encode(record.body).decode("ascii"),
                record.content_type,
                record.type,
                record.id,
                settings.source_uri,
                settings.inference_service,
                settings.namespace,
                settings.component,
                settings.endpoint,
                json.dumps(dict(record.metadata), separators=(",", ":"), sort_keys=True),
                json.dumps(dict(settings.metadata_annotations), separators=(",", ":")),
                settings.ca_cert_file,
                "true" if settings.tls_skip_verify else "false",
            ]
        )
    return Marshalled(out.getvalue().encode(), "csv")


def marshal(batch: list[events.LogRecord], settings: LoggerSettings) -> Marshalled:
    return to_csv(batch, settings) if settings.store_format == "csv" else to_json(batch, settings)


def object_key(first: events.LogRecord, settings: LoggerSettings, *, extension: str) -> str:
    """Where a batch is stored, named after its first record (as upstream)."""
    prefix = urlsplit(settings.url).path.lstrip("/")
    parts = [
        part
        for part in (
            prefix,
            settings.namespace,
            settings.inference_service,
            settings.component,
            settings.store_path,
        )
        if part
    ]
    kind = first.type.rsplit(".", 1)[-1]
    name = f"{first.id}-{kind}.{extension}"
    return posixpath.join(posixpath.join(*parts), name) if parts else name
