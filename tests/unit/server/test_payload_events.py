"""CloudEvent headers and bodies of logged requests and responses, as upstream's logger sends
them; the records a mode asks for."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest

from kserve_server.payload import events
from kserve_server.payload.logger import PayloadLogger
from kserve_server.payload.sink import QueueSink
from kserve_server.payload_settings import LoggerSettings, LogMode

AT = datetime.datetime(2026, 12, 7, 14, 30, 1, 250000, tzinfo=datetime.UTC)
ORIGIN = events.Origin(
    source="sklearn-iris-predictor-abc",
    inference_service="sklearn-iris",
    namespace="default",
    component="predictor",
    endpoint="default",
)


def _record(kind: str, body: bytes, content_type: str = "application/json") -> events.LogRecord:
    return events.LogRecord(
        id="req-1", type=kind, body=body, content_type=content_type, time=AT, metadata={}
    )


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (events.REQUEST_TYPE, b'{"instances": [[6.8, 2.8, 4.8, 1.4]]}'),
        (events.RESPONSE_TYPE, b'{"predictions": [1]}'),
        (events.REQUEST_TYPE, b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32"}]}'),
        (events.RESPONSE_TYPE, b'{"model_name": "m", "outputs": []}'),
    ],
    ids=["v1-request", "v1-response", "v2-request", "v2-response"],
)
def test_binary_mode_headers_carry_upstreams_attributes(kind: str, body: bytes) -> None:
    record = _record(kind, body)
    headers = events.headers(record, origin=ORIGIN, recorded=AT + datetime.timedelta(seconds=1))
    assert headers == {
        "Ce-Specversion": "1.0",
        "Ce-Id": "req-1",
        "Ce-Source": "sklearn-iris-predictor-abc",
        "Ce-Type": kind,
        "Ce-Time": "2026-12-07T14:30:01.25Z",
        "Ce-Recordedtime": "2026-12-07T14:30:02.25Z",
        "Ce-Inferenceservicename": "sklearn-iris",
        "Ce-Namespace": "default",
        "Ce-Component": "predictor",
        "Ce-Endpoint": "default",
        "Ce-Metadata": "{}",
        "Content-Type": "application/json",
    }
    assert record.body == body  # the event's data is the body as it went over the wire


def test_annotations_and_metadata_are_json() -> None:
    origin = events.Origin(source="s", annotations={"team": "ml"})
    record = events.LogRecord(
        id="1",
        type=events.REQUEST_TYPE,
        body=b"{}",
        content_type="application/json",
        time=AT,
        metadata={"X-Request-Id": ["a", "b"]},
    )
    headers = events.headers(record, origin=origin, recorded=AT)
    assert json.loads(headers["Ce-Annotations"]) == {"team": "ml"}
    assert json.loads(headers["Ce-Metadata"]) == {"X-Request-Id": ["a", "b"]}


def test_values_a_header_cannot_carry_are_percent_encoded() -> None:
    origin = events.Origin(source="s", annotations={"owner": "Zoë 100%"})
    headers = events.headers(_record(events.REQUEST_TYPE, b"{}"), origin=origin, recorded=AT)
    assert headers["Ce-Annotations"] == '{"owner":"Zo%C3%AB 100%25"}'


def test_the_exchange_id_is_the_incoming_ce_id_or_new() -> None:
    assert events.exchange_id({"Ce-Id": "from-client"}) == "from-client"
    assert uuid.UUID(events.exchange_id({})).version == 4


def test_metadata_keeps_allow_listed_headers_in_gos_spelling() -> None:
    headers = [("x-request-id", "1"), ("X-REQUEST-ID", "2"), ("Authorization", "secret")]
    assert events.metadata(headers, ["X-Request-Id"]) == {"X-Request-Id": ["1", "2"]}
    assert events.metadata(headers, []) == {}


class Recorded(QueueSink):
    """A real queue whose destination is a list."""

    def __init__(self, settings: LoggerSettings) -> None:
        super().__init__(settings, name="test", workers=1)
        self.records: list[events.LogRecord] = []

    def submit(self, record: events.LogRecord) -> None:
        self.records.append(record)


def _exchange(mode: LogMode, *, status: int = 200) -> list[events.LogRecord]:
    settings = LoggerSettings(url="http://sink", mode=mode, metadata_headers=("Foo",))
    sink = Recorded(settings)
    logger = PayloadLogger(settings, sink)
    exchange = logger.request(
        headers={"Ce-Id": "abc"},
        header_items=[("Ce-Id", "abc"), ("foo", "bar")],
        body=b"in",
        content_type="application/json",
        at=AT,
    )
    logger.response(exchange, status=status, body=b"out", content_type="application/json", at=AT)
    return sink.records


@pytest.mark.parametrize(
    ("mode", "types"),
    [
        (LogMode.ALL, [events.REQUEST_TYPE, events.RESPONSE_TYPE]),
        (LogMode.REQUEST, [events.REQUEST_TYPE]),
        (LogMode.RESPONSE, [events.RESPONSE_TYPE]),
    ],
)
def test_the_mode_picks_the_records(mode: LogMode, types: list[str]) -> None:
    records = _exchange(mode)
    assert [r.type for r in records] == types
    assert {r.id for r in records} == {"abc"}
    assert all(r.metadata == {"Foo": ["bar"]} for r in records)


def test_a_failed_response_is_not_logged_its_request_is() -> None:
    assert [r.type for r in _exchange(LogMode.ALL, status=500)] == [events.REQUEST_TYPE]
