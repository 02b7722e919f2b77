"""PayloadLogger: turns one HTTP exchange into the records the mode asks for, and hands them to
the sink. Used by the model server's middleware and by the agent proxy alike.

As upstream: the request is recorded whatever the outcome, the response only when its status
is 200; both records share the exchange id and the allow-listed headers.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kserve_server.payload import events, sink
from kserve_server.payload_settings import LoggerSettings


@dataclass(frozen=True)
class Exchange:
    """What the request side leaves for the response side."""

    id: str
    metadata: Mapping[str, list[str]]


class PayloadLogger:
    def __init__(self, settings: LoggerSettings, destination: sink.QueueSink) -> None:
        self.settings = settings
        self.sink = destination

    def request(
        self,
        *,
        headers: Mapping[str, str],
        header_items: Iterable[tuple[str, str]],
        body: bytes,
        content_type: str,
        at: datetime.datetime,
    ) -> Exchange:
        exchange = Exchange(
            id=events.exchange_id(headers),
            metadata=events.metadata(header_items, self.settings.metadata_headers),
        )
        if self.settings.logs_request():
            self.sink.submit(
                events.LogRecord(
                    id=exchange.id,
                    type=events.REQUEST_TYPE,
                    body=body,
                    content_type=content_type,
                    time=at,
                    metadata=exchange.metadata,
                )
            )
        return exchange

    def response(
        self,
        exchange: Exchange,
        *,
        status: int,
        body: bytes,
        content_type: str,
        at: datetime.datetime,
    ) -> None:
        if status != 200 or not self.settings.logs_response():
            return
        self.sink.submit(
            events.LogRecord(
                id=exchange.id,
                type=events.RESPONSE_TYPE,
                body=body,
                content_type=content_type,
                time=at,
                metadata=exchange.metadata,
            )
        )

    async def start(self) -> None:
        await self.sink.start()

    async def close(self) -> None:
        await self.sink.close()


def origin(settings: LoggerSettings) -> events.Origin:
    return events.Origin(
        source=settings.source_uri,
        inference_service=settings.inference_service,
        namespace=settings.namespace,
        component=settings.component,
        endpoint=settings.endpoint,
        annotations=dict(settings.metadata_annotations),
    )


def unavailable(settings: LoggerSettings) -> str | None:
    """Why this image cannot log where `settings` says, or None (checked at start)."""
    import importlib.util

    if settings.url.lower().startswith("s3://") and importlib.util.find_spec("boto3") is None:
        return (
            f"--log-url {settings.url}: logging to S3 needs boto3 (kserve-py-server[storage]), "
            "which this image does not have; the agent image has it"
        )
    return None


def create(settings: LoggerSettings) -> PayloadLogger:
    """The logger for `settings.url`: a CloudEvents sink, or a bucket (s3://, gs://)."""
    if settings.to_storage:
        from kserve_server.payload import store  # boto3 only when an s3:// store is used

        return PayloadLogger(settings, store.StoreSink(settings))
    return PayloadLogger(settings, sink.CloudEventSink(settings, origin=origin(settings)))
