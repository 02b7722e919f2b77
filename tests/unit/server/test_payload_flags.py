"""Upstream agent's logger and batcher flags, as its injector writes them, parsed by the model
server's command line and by the agent's."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from kserve_server import __main__ as server_main
from kserve_server.agent import __main__ as agent_main
from kserve_server.payload import flags
from kserve_server.payload_settings import LogMode

# agent_injector.go's order and spelling: logger args, then TLS skip verify as two words
INJECTED = [
    "--enable-batcher",
    "--max-batchsize",
    "16",
    "--max-latency",
    "300",
    "--log-url",
    "http://message-dumper.default/",
    "--source-uri",
    "sklearn-iris-predictor-abc",
    "--log-mode",
    "request",
    "--inference-service",
    "sklearn-iris",
    "--namespace",
    "default",
    "--endpoint",
    "default",
    "--component",
    "predictor",
    "--log-store-path",
    "logs",
    "--log-store-format",
    "csv",
    "--log-batch-size",
    "10",
    "--log-batch-interval",
    "1m30s",
    "--metadata-headers",
    "Foo,Bar",
    "--metadata-annotations",
    "team=ml,owner=me",
    "--logger-tls-skip-verify",
    "false",
]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(lambda: server_main.parser().parse_args(INJECTED), id="server"),
        pytest.param(
            lambda: agent_main.parser().parse_args([*INJECTED, "--component-port", "8080"]),
            id="agent",
        ),
    ],
)
def test_the_injectors_arguments_parse_into_settings(
    argv: Callable[[], argparse.Namespace],
) -> None:
    args = argv()
    logger = flags.logger_settings(args, default_port=9081)
    batcher = flags.batcher_settings(args)
    assert logger is not None and batcher is not None
    assert logger.url == "http://message-dumper.default/"
    assert logger.mode is LogMode.REQUEST
    assert logger.source_uri == "sklearn-iris-predictor-abc"
    assert (logger.inference_service, logger.namespace, logger.endpoint, logger.component) == (
        "sklearn-iris",
        "default",
        "default",
        "predictor",
    )
    assert logger.metadata_headers == ("Foo", "Bar")
    assert logger.metadata_annotations == {"team": "ml", "owner": "me"}
    assert (logger.store_path, logger.store_format) == ("logs", "csv")
    assert (logger.batch_size, logger.batch_interval) == (10, 90.0)
    assert logger.tls_skip_verify is False
    assert (batcher.max_batch_size, batcher.max_latency_ms) == (16, 300)


def _parse(*argv: str) -> argparse.Namespace:
    return agent_main.parser().parse_args(list(argv))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((), False),
        (("--logger-tls-skip-verify",), True),
        (("--logger-tls-skip-verify", "true"), True),
        (("--logger-tls-skip-verify=false",), False),
    ],
)
def test_tls_skip_verify_reads_go_boolean_syntax(argv: tuple[str, ...], expected: bool) -> None:
    logger = flags.logger_settings(_parse("--log-url", "https://sink", *argv), default_port=9081)
    assert logger is not None and logger.tls_skip_verify is expected


def test_defaults_are_upstreams() -> None:
    args = _parse("--log-url", "http://sink", "--enable-batcher")
    logger = flags.logger_settings(args, default_port=9081)
    batcher = flags.batcher_settings(args)
    assert logger is not None and batcher is not None
    assert logger.mode is LogMode.ALL
    assert logger.source_uri == "http://localhost:9081/"
    assert logger.store_format == "json"
    assert logger.batch_size == 1 and logger.batch_interval == 0
    assert logger.ca_cert_file == "service-ca.crt"
    assert logger.workers == 5
    assert (batcher.max_batch_size, batcher.max_latency_ms) == (32, 5000)


def test_without_log_url_or_enable_batcher_nothing_runs() -> None:
    args = _parse()
    assert flags.logger_settings(args, default_port=9081) is None
    assert flags.batcher_settings(args) is None


def test_repeated_list_flags_add_up() -> None:
    args = _parse("--log-url", "http://s", "--metadata-headers", "A", "--metadata-headers", "B,C")
    logger = flags.logger_settings(args, default_port=1)
    assert logger is not None and logger.metadata_headers == ("A", "B", "C")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--log-url", "http://s", "--log-mode", "everything"), "mode"),
        (("--log-url", "ftp://s"), "ftp://s"),
        (("--log-url", "s3://b", "--log-store-format", "parquet"), "parquet"),
        (("--log-url", "http://s", "--metadata-annotations", "novalue"), "key=value"),
        (("--enable-batcher", "--max-batchsize", "0"), "max_batch_size"),
        (("--enable-batcher", "--max-latency", "soon"), "--max-latency"),
    ],
)
def test_bad_values_are_refused_naming_the_flag(argv: tuple[str, ...], message: str) -> None:
    args = _parse(*argv)
    with pytest.raises(flags.FlagError, match=message):
        flags.logger_settings(args, default_port=1)
        flags.batcher_settings(args)


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0.0), ("500ms", 0.5), ("10s", 10.0), ("1m30s", 90.0), ("2", 2.0)]
)
def test_go_durations(text: str, seconds: float) -> None:
    assert flags.duration(text) == pytest.approx(seconds)


def test_a_malformed_duration_is_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="10 parsecs"):
        flags.duration("10 parsecs")


def test_the_agent_refuses_the_model_puller(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        agent_main.main(["--enable-puller", "--config-dir", "/mnt/configs"])
    assert "model puller" in str(exited.value.code)


def test_the_agent_refuses_unknown_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        agent_main.parser().parse_args(["--not-a-flag"])
    assert "--not-a-flag" in capsys.readouterr().err
