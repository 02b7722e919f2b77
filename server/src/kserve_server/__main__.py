"""`kserve-model-server`: upstream KServe's runtime flags → ServerSettings + one ModelSpec.

Unknown flags are logged and ignored, as upstream's parse_known_args does: ServingRuntimes pass
flags for other servers and must not crash this one.
"""

from __future__ import annotations

import argparse
import json
import logging
import logging.config
import os
import sys
from pathlib import Path
from typing import Any

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(process)s %(name)s %(levelname)s %(message)s"
TRUE = {"y", "yes", "t", "true", "on", "1"}
FALSE = {"n", "no", "f", "false", "off", "0"}
log = logging.getLogger("kserve_server")


def strtobool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (true/false), got {value!r}")


def parser() -> argparse.ArgumentParser:
    from kserve_server.settings import FRAMEWORKS

    p = argparse.ArgumentParser(
        prog="kserve-model-server",
        description="Serve a scikit-learn, XGBoost, LightGBM, ONNX or TensorFlow model (or a "
        "Triton model repository) over KServe V1 and V2 (REST and gRPC).",
    )
    add = p.add_argument
    add("--model_name", default="model", help="name in URLs (default: model)")
    add("--model_dir", default="/mnt/models", type=Path, help="directory with the model file")
    add("--framework", default="sklearn", choices=list(FRAMEWORKS))
    add("--http_port", default=8080, type=int)
    add("--grpc_port", default=8081, type=int, help="Open Inference Protocol over gRPC (0: any)")
    add("--enable_grpc", default=True, type=strtobool, help="serve gRPC (default true)")
    add("--grpc_max_send_message_length", default=8 * 1024 * 1024, type=int)
    add("--grpc_max_receive_message_length", default=8 * 1024 * 1024, type=int)
    add("--host", default="0.0.0.0", help="bind address (ours; upstream binds 0.0.0.0)")
    add(
        "--nthread",
        default=int(os.environ.get("NTHREAD") or 1),
        type=int,
        help="XGBoost/LightGBM/onnxruntime threads per model (env NTHREAD; default 1)",
    )
    add("--workers", default=1, type=int, help="processes sharing the port (SO_REUSEPORT)")
    add("--max_asyncio_workers", default=None, type=int, help="threads for loads and big requests")
    add("--enable_docs_url", default=False, type=strtobool, help="serve /docs")
    add("--enable_latency_logging", default=False, type=strtobool)
    add("--configure_logging", default=True, type=strtobool)
    add("--log_config_file", default=None, help="JSON or YAML logging dictConfig")
    add("--log_level", default=None, help="DEBUG, INFO, WARNING (env KSERVE_LOGLEVEL)")
    add("--log_format", default="text", choices=["text", "json"], help="json: one object a line")
    add("--access_log", default=False, type=strtobool, help="log one line per request")
    add("--access_log_format", default=None, help="aiohttp access log format; enables the log")
    add("--timeout-keep-alive", "--timeout_keep_alive", dest="keepalive", default=65.0, type=float)
    add("--grace_period", default=30.0, type=float, help="SIGTERM drain time in seconds")
    add(
        "--event-loop",
        "--event_loop",
        dest="event_loop",
        default="auto",
        choices=["auto", "asyncio", "uvloop"],
        help="auto (default): uvloop when installed, else asyncio's loop",
    )
    # Limits (server/README.md "Limits"); unset, they come from KSERVE_SERVER_<NAME> or default.
    for flag, kind, help_text in LIMITS:
        add(flag, default=None, type=kind, help=help_text)
    add("--exit_on_load_failure", default=True, type=strtobool)
    # accepted for compatibility with upstream's flags; no effect here (warned when set)
    for flag, kind in UNSUPPORTED.items():
        add(flag, default=None, type=kind, help=argparse.SUPPRESS)
    add("--enable_predictor_health_check", action="store_true", help=argparse.SUPPRESS)
    from kserve_server import hf_flags
    from kserve_server.payload import flags

    flags.add_arguments(p)  # upstream agent's --log-* and batcher flags (server/README.md)
    hf_flags.add_arguments(p)  # upstream huggingfaceserver's flags (--framework huggingface)
    return p


LIMITS: list[tuple[str, Any, str]] = [
    ("--max_body_bytes", int, "413 above this many body bytes, decompressed (64 MiB)"),
    ("--body_first_byte_timeout", float, "408 when the body's first byte takes longer (30 s)"),
    ("--body_read_timeout", float, "408 when the whole body takes longer (300 s)"),
    ("--max_inline_decode_bytes", int, "decode larger bodies in a worker thread (1 MiB)"),
    ("--max_decoding_bytes", int, "large bodies decoded at once, in body bytes (64 MiB)"),
    ("--max_decoding_waiters", int, "large requests queued for decoding before 503 (32)"),
    ("--decoding_wait_timeout", float, "seconds queued for decoding before 503 (10)"),
]


def limits(args: argparse.Namespace) -> dict[str, Any]:
    """The limit flags given on the command line, as ServerSettings fields."""
    names = (flag.removeprefix("--") for flag, _, _ in LIMITS)
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


UNSUPPORTED: dict[str, Any] = {
    "--max_threads": int,  # upstream's gRPC thread pool; our gRPC handlers run on the event loop
    "--predictor_host": str,
    "--protocol": str,
    "--predictor_protocol": str,
    "--predictor_use_ssl": strtobool,
    "--predictor_request_timeout_seconds": float,
    "--predictor_request_retries": int,
}


def configure_logging(args: argparse.Namespace) -> None:
    if args.log_config_file:
        text = Path(args.log_config_file).read_text()
        if args.log_config_file.endswith((".yaml", ".yml")):
            import yaml

            config = yaml.safe_load(text)
        else:
            config = json.loads(text)
        logging.config.dictConfig(config)
        return
    if not args.configure_logging:
        return
    level = (args.log_level or os.environ.get("KSERVE_LOGLEVEL") or "INFO").upper()
    logging.basicConfig(level=level, format=LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    if args.log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors: time, level, logger, process, message."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def grpc_installed() -> bool:
    """Whether the `grpc` extra is installed (every framework extra brings it)."""
    return installed("grpc")


def installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # sys.modules[module] is None: imports of it are blocked
        return False


def huggingface_options(args: argparse.Namespace, unknown: list[str]) -> Any:
    """`--framework huggingface`: upstream huggingfaceserver's flags, checked; a `--model_id`
    fetched from the Hub first (into $HF_HOME/kserve-py), as upstream loads it before serving."""
    from kserve_server import hf_flags

    try:
        hf_flags.refuse_unknown(unknown)
        options = hf_flags.options(args)
        if args.model_id:
            home = os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface"
            args.model_dir, tokenizer_dir = hf_flags.fetch_model_id(
                args, cache=Path(home) / "kserve-py"
            )
            options = options.model_copy(update={"tokenizer_dir": tokenizer_dir})
        elif args.model_revision or args.tokenizer_revision:
            log.warning("--model_revision/--tokenizer_revision apply to --model_id only")
    except hf_flags.FlagError as exc:
        sys.exit(f"kserve-model-server: invalid arguments: {exc}")
    return options


def main(argv: list[str] | None = None) -> None:
    args, unknown = parser().parse_known_args(argv)
    configure_logging(args)
    if args.framework == "huggingface":
        huggingface = huggingface_options(args, unknown)
    elif unknown:
        log.warning("ignoring unknown arguments: %s", " ".join(unknown))
    for flag in UNSUPPORTED:
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None and flag != "--max_threads":
            log.warning("%s=%s is accepted for compatibility and has no effect", flag, value)
    if args.enable_grpc and not grpc_installed():
        log.warning(
            "gRPC not served: grpcio is not installed (pip install 'kserve-py-server[grpc]'); "
            "REST only"
        )
        args.enable_grpc = False
    if args.event_loop == "uvloop" and not installed("uvloop"):
        sys.exit(
            "kserve-model-server: --event-loop=uvloop: uvloop is not installed "
            "(pip install 'kserve-py-server[uvloop]')"
        )
    if args.workers > 1 and args.framework == "lightgbm":
        log.warning("--workers=%d: LightGBM runs with one worker (OpenMP)", args.workers)
        args.workers = 1

    from pydantic import ValidationError

    from kserve_server import server
    from kserve_server.payload import flags
    from kserve_server.settings import ModelSpec, ServerSettings

    try:
        logger = flags.logger_settings(args, default_port=args.http_port)
        batcher = flags.batcher_settings(args)
    except flags.FlagError as exc:
        sys.exit(f"kserve-model-server: invalid arguments: {exc}")
    if logger is not None:
        from kserve_server.payload import logger as payload_logger

        reason = payload_logger.unavailable(logger)
        if reason is not None:
            sys.exit(f"kserve-model-server: {reason}")
    try:
        settings = ServerSettings(
            host=args.host,
            http_port=args.http_port,
            grpc_port=args.grpc_port if args.enable_grpc else None,
            grpc_max_send_message_length=args.grpc_max_send_message_length,
            grpc_max_receive_message_length=args.grpc_max_receive_message_length,
            grace_period=args.grace_period,
            keepalive_timeout=args.keepalive,
            access_log=args.access_log or bool(args.access_log_format),
            access_log_format=args.access_log_format,
            enable_latency_logging=args.enable_latency_logging,
            enable_docs_url=args.enable_docs_url,
            exit_on_load_failure=args.exit_on_load_failure,
            max_asyncio_workers=args.max_asyncio_workers,
            workers=max(args.workers, 1),
            event_loop=args.event_loop,
            **limits(args),
            logger=logger,
            batcher=batcher,
        )
        spec = ModelSpec(
            name=args.model_name,
            model_dir=args.model_dir,
            framework=args.framework,
            predict_proba=os.environ.get("PREDICT_PROBA", "").lower() == "true",
            nthread=args.nthread,
            **({"huggingface": huggingface} if args.framework == "huggingface" else {}),
        )
    except ValidationError as exc:
        sys.exit(f"kserve-model-server: invalid arguments: {exc}")
    from kserve_server import repository

    models = repository.discover(spec)
    sys.exit(server.run(settings, models=models, models_root=args.model_dir))


if __name__ == "__main__":
    main()
