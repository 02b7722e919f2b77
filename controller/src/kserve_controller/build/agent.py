"""Payload logging and request batching (`logger`, `batcher`) of one component (pure).

Upstream's pod webhook adds an `agent` sidecar, a proxy on 9081 that posts each request and
response to a sink as CloudEvents and batches predictions before it forwards them to the
component's port; the component's Service then targets 9081. Our model server does both in
process from the same flags, so a predictor on a runtime that says so
(`runtimes.AGENT_ANNOTATION`) gets the flags on its own kserve-container: no sidecar, no
extra hop. Custom containers, transformers, explainers and other runtimes get the sidecar.
The flags, the sidecar and the Service port are upstream's; its pod name (`--source-uri`)
comes from the downward API, as the pods do not exist when the Deployment is built.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kserve_controller.build import container, credentials, workload
from kserve_controller.config import ControllerConfig, LoggerConfig
from kserve_controller.runtimes import Runtime
from kserve_controller.spec import Component

Obj = dict[str, Any]

CONTAINER = "agent"
PORT = 9081
PORT_NAME = "agent-port"
DEFAULT_MODE = "all"
# Upstream's logger CA bundle: a ConfigMap (logger.caBundle) mounted where the logger reads it.
CA_BUNDLE_VOLUME = "agent-ca-bundle"
CA_CERT_MOUNT_PATH = "/etc/tls/logger"
POD_NAME_ENV = "POD_NAME"
READINESS_ENV = "SERVING_READINESS_PROBE"
ENDPOINT = "default"  # the `endpoint` extension of a component's events; a canary's: "canary"
# Sinks our model-server images cannot write to: they carry no S3 client (boto3 is in the
# storage initializer's and the agent's image), so logging to s3:// runs in the sidecar.
SIDECAR_SCHEMES = ("s3://",)


def wanted(part: Component) -> bool:
    """Does the component log or batch? `logger: {}` and `batcher: {}` ask for the defaults."""
    return part.spec.logger is not None or part.spec.batcher is not None


def in_process(part: Component, runtime: Runtime | None, *, config: ControllerConfig) -> bool:
    """Does the component's own server log and batch (a model on a runtime that says so, and a
    sink it can write to)?"""
    if part.model is None or runtime is None or not runtime.agent_in_process:
        return False
    return not log_url(part, config=config.logger).startswith(SIDECAR_SCHEMES)


def sidecar(part: Component, runtime: Runtime | None, *, config: ControllerConfig) -> bool:
    """Does the component get the `agent` sidecar, and its Service target the agent's port?"""
    return wanted(part) and not in_process(part, runtime, config=config)


def log_url(part: Component, *, config: LoggerConfig) -> str:
    """Where the component's logger sends (its own URL, else the ConfigMap's); "" without one."""
    logger = part.spec.logger
    if logger is None:
        return ""
    return logger.url or config.default_url


def args(part: Component, *, config: ControllerConfig, endpoint: str = ENDPOINT) -> list[str]:
    """Upstream's agent arguments for the batcher, then the logger (none for what is unset)."""
    out: list[str] = []
    batcher = part.spec.batcher
    if batcher is not None:
        out.append("--enable-batcher")
        size = batcher.max_batch_size
        latency = batcher.max_latency
        for flag, value, default in (
            ("--max-batchsize", size, config.batcher.max_batch_size),
            ("--max-latency", latency, config.batcher.max_latency),
        ):
            if value is not None:
                out += [flag, str(value)]
            elif default not in ("", "0"):
                out += [flag, default]
    if part.spec.logger is not None:
        out += _logger_args(part, config=config.logger, endpoint=endpoint)
    return out


def _logger_args(part: Component, *, config: LoggerConfig, endpoint: str) -> list[str]:
    logger = part.spec.logger
    assert logger is not None
    out = [
        "--log-url",
        log_url(part, config=config),
        "--source-uri",
        f"$({POD_NAME_ENV})",
        "--log-mode",
        logger.mode or DEFAULT_MODE,
        "--inference-service",
        part.name,
        "--namespace",
        part.namespace,
        "--endpoint",
        endpoint,
        "--component",
        part.kind,
    ]
    storage = logger.storage
    if storage is not None and storage.path:
        out += ["--log-store-path", storage.path]
    if storage is not None and (storage.parameters or {}).get("format"):
        out += ["--log-store-format", (storage.parameters or {})["format"]]
    marshaller = logger.marshaller_url or config.marshaller_url
    if marshaller:
        out += ["--log-marshaller-url", marshaller]
    batch_size = logger.batch_size if logger.batch_size is not None else config.batch_size
    if batch_size > 0:
        out += ["--log-batch-size", str(batch_size)]
    interval = logger.batch_interval if logger.batch_interval is not None else config.batch_interval
    if interval:
        out += ["--log-batch-interval", interval]
    if logger.metadata_headers is not None:
        out += ["--metadata-headers", ",".join(logger.metadata_headers)]
    if logger.metadata_annotations is not None:
        # `key=value` of each listed annotation the component has; the others are left out.
        annotations = {**part.annotations, **(part.spec.annotations or {})}
        pairs = [f"{k}={annotations[k]}" for k in logger.metadata_annotations if k in annotations]
        out += ["--metadata-annotations", ",".join(pairs)]
    if config.ca_cert_file:
        out += ["--logger-ca-cert-file", config.ca_cert_file]
    out += ["--logger-tls-skip-verify", "true" if config.tls_skip_verify else "false"]
    return out


def apply(
    part: Component,
    pod: Obj,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    storage_credentials: credentials.Injection | None = None,
    endpoint: str = ENDPOINT,
) -> Obj:
    """`pod` (a PodSpec, not changed) with the logger and batcher: flags on the main
    container, or the `agent` sidecar after the others. `storage_credentials`: for the logger's
    storage, given to whichever container logs."""
    if not wanted(part):
        return pod
    out = copy.deepcopy(pod)
    containers: list[Obj] = out["containers"]
    main = containers[0]
    flags = args(part, config=config, endpoint=endpoint)
    if in_process(part, runtime, config=config):
        target = main
        target["args"] = [*(target.get("args") or []), *flags]
    elif any(c.get("name") == CONTAINER for c in containers):
        return out  # the user runs their own agent (upstream injects none then)
    else:
        target = _sidecar(main, flags=flags, config=config)
        containers.append(target)
    if part.spec.logger is not None:
        env = [{"name": POD_NAME_ENV, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
        target["env"] = container.merge_list(target.get("env") or [], env, "name")
        _mount_ca_bundle(out, target, config=config.logger)
    if storage_credentials is not None:
        _give_credentials(out, target, storage_credentials)
    return out


def _sidecar(main: Obj, *, flags: list[str], config: ControllerConfig) -> Obj:
    port = container.main_port(main)
    env: list[Obj] = []
    probe_path = "/"
    probe = main.get("readinessProbe") or {}
    if probe.get("httpGet") or probe.get("tcpSocket"):
        # The agent answers its own probe by running the component's (upstream's contract).
        env.append({"name": READINESS_ENV, "value": json.dumps(probe, separators=(",", ":"))})
        probe_path = (probe.get("httpGet") or {}).get("path") or "/"
    sidecar: Obj = {
        "name": CONTAINER,
        "image": config.agent.image,
        "args": [*flags, "--component-port", str(port)],
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "resources": config.agent.requirements(),
        "readinessProbe": {
            "httpGet": {
                "path": probe_path,
                "port": PORT,
                "scheme": "HTTP",
                "httpHeaders": [{"name": "K-Network-Probe", "value": "queue"}],
            }
        },
        # upstream's: the component's own securityContext; ours writes nothing but /tmp (given
        # by workload.restricted), so its root filesystem is read-only whatever the component's
        "securityContext": {
            **copy.deepcopy(main.get("securityContext") or workload.NON_ROOT),
            "readOnlyRootFilesystem": True,
        },
    }
    if env:
        sidecar["env"] = env
    return sidecar


def _mount_ca_bundle(pod: Obj, target: Obj, *, config: LoggerConfig) -> None:
    if not config.ca_bundle:
        return
    volume = {
        "name": CA_BUNDLE_VOLUME,
        "configMap": {"name": config.ca_bundle, "optional": True},
    }
    pod["volumes"] = container.merge_list(pod.get("volumes") or [], [volume], "name")
    mount = {"name": CA_BUNDLE_VOLUME, "mountPath": CA_CERT_MOUNT_PATH, "readOnly": True}
    target["volumeMounts"] = container.merge_list(
        target.get("volumeMounts") or [], [mount], "mountPath"
    )


def _give_credentials(pod: Obj, target: Obj, found: credentials.Injection) -> None:
    target["env"] = credentials.merge_env(target.get("env") or [], found.env)
    if found.volumes:
        pod["volumes"] = container.merge_list(pod.get("volumes") or [], found.volumes, "name")
    if found.mounts:
        target["volumeMounts"] = container.merge_list(
            target.get("volumeMounts") or [], found.mounts, "mountPath"
        )


def service_ports(ports: list[Obj]) -> list[Obj]:
    """The component's Service ports with the first one sent to the agent (upstream's)."""
    out = copy.deepcopy(ports)
    out[0]["targetPort"] = PORT
    return out
