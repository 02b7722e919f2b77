"""Upstream agent's logger and batcher flags → LoggerSettings / BatcherSettings.

The controller writes exactly what upstream's agent injector writes (`--log-url URL --log-mode
all ... --logger-tls-skip-verify false`, `--enable-batcher --max-batchsize 32 --max-latency
5000`), for the model server's command line and for the agent's alike, so both parse the flags
here. Go's flag syntax is accepted: `--flag value`, `--flag=value`, a bare boolean `--flag`,
comma-separated or repeated lists, durations such as `500ms` or `1m30s`.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from pydantic import ValidationError

from kserve_server.payload_settings import BatcherSettings, LoggerSettings

TRUE = {"1", "t", "true", "y", "yes", "on"}
FALSE = {"0", "f", "false", "n", "no", "off"}
STORE_FORMATS = ("json", "csv")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


class FlagError(ValueError):
    """A flag's value is malformed or names something not supported here."""


def boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def duration(value: str) -> float:
    """A Go duration (`300ms`, `1m30s`, `0`) in seconds; a bare number counts as seconds."""
    text = value.strip()
    if text in ("0", ""):
        return 0.0
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(f"expected a duration such as 500ms or 10s, got {value!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Upstream agent's logger and batcher flags (names and defaults as cmd/agent/main.go)."""
    group = parser.add_argument_group("payload logging and batching (upstream's agent flags)")
    add = group.add_argument
    add("--log-url", default="", help="CloudEvents sink (http/https) or bucket (s3://, gs://)")
    add("--log-mode", default="all", help="all, request or response")
    add("--source-uri", default="", help="ce-source of the events")
    add("--inference-service", default="", help="ce-inferenceservicename")
    add("--namespace", default="", help="ce-namespace")
    add("--endpoint", default="", help="ce-endpoint (default or canary)")
    add("--component", default="", help="ce-component (predictor, transformer, explainer)")
    add("--metadata-headers", action="append", default=[], help="headers copied to ce-metadata")
    add("--metadata-annotations", action="append", default=[], help="k=v,... for ce-annotations")
    add("--log-store-path", default="", help="object path for bucket logging")
    add("--log-store-format", default="json", help="json or csv")
    add("--log-marshaller-url", default=None, help="external marshaller (default: built in)")
    add("--log-marshaller-port", default=9083, type=int, help="accepted; the built-in one is local")
    add("--log-batch-size", default=1, type=int, help="records per stored object")
    add("--log-batch-interval", default=0.0, type=duration, help="flush a partial batch after")
    add("--logger-ca-cert-file", default="service-ca.crt", help="file in /etc/tls/logger")
    add("--logger-tls-skip-verify", nargs="?", const=True, default=False, type=boolean)
    add("--log-queue-size", default=None, type=int, help="ours: events waiting before drops")
    add("--log-drain-timeout", default=None, type=float, help="ours: SIGTERM flush seconds")
    add("--enable-batcher", nargs="?", const=True, default=False, type=boolean)
    add("--max-batchsize", default="32", help="instances per model call")
    add("--max-latency", default="5000", help="milliseconds the first request waits at most")


def _split(values: list[str]) -> list[str]:
    """pflag's StringSlice: each occurrence is comma-separated, occurrences add up."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def parse_annotations(values: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in _split(values):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FlagError(f"--metadata-annotations: expected key=value, got {item!r}")
        pairs[key] = value
    return pairs


def logger_settings(args: argparse.Namespace, *, default_port: int) -> LoggerSettings | None:
    """None without --log-url (upstream starts no logger then)."""
    if not args.log_url:
        return None
    if args.log_store_format not in STORE_FORMATS:
        raise FlagError(
            f"--log-store-format {args.log_store_format!r}: json and csv are supported here "
            "(parquet is not)"
        )
    fields: dict[str, Any] = {
        "url": args.log_url,
        "mode": args.log_mode,
        "source_uri": args.source_uri or f"http://localhost:{default_port}/",
        "inference_service": args.inference_service,
        "namespace": args.namespace,
        "endpoint": args.endpoint,
        "component": args.component,
        "metadata_headers": tuple(_split(args.metadata_headers)),
        "metadata_annotations": parse_annotations(args.metadata_annotations),
        "store_path": args.log_store_path,
        "store_format": args.log_store_format,
        "batch_size": max(args.log_batch_size, 1),
        "batch_interval": args.log_batch_interval,
        "ca_cert_file": args.logger_ca_cert_file,
        "tls_skip_verify": args.logger_tls_skip_verify,
    }
    if args.log_marshaller_url:
        fields["marshaller_url"] = args.log_marshaller_url
    if args.log_queue_size is not None:
        fields["queue_size"] = args.log_queue_size
    if args.log_drain_timeout is not None:
        fields["drain_timeout"] = args.log_drain_timeout
    workers = getattr(args, "log_workers", None)
    if workers is not None:
        fields["workers"] = workers
    try:
        return LoggerSettings.model_validate(fields)
    except ValidationError as exc:
        raise FlagError(f"logger flags: {_errors(exc)}") from None


def batcher_settings(args: argparse.Namespace) -> BatcherSettings | None:
    """None without --enable-batcher; sizes must be positive integers (upstream exits too)."""
    if not args.enable_batcher:
        return None
    try:
        size = int(args.max_batchsize)
        latency = int(args.max_latency)
    except ValueError:
        raise FlagError(
            f"--max-batchsize {args.max_batchsize!r} / --max-latency {args.max_latency!r}: "
            "expected integers"
        ) from None
    try:
        return BatcherSettings(max_batch_size=size, max_latency_ms=latency)
    except ValidationError as exc:
        raise FlagError(f"batcher flags: {_errors(exc)}") from None


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )
