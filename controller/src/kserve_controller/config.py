"""The inferenceservice-config ConfigMap, parsed into a typed ControllerConfig.

Every value of the ConfigMap is a JSON string (upstream's format). Keys this controller does
not use are ignored; a key it uses that fails to parse is a ConfigError naming the key, so
the controller keeps its previous config instead of serving half of a broken one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from kserve_controller.errors import ConfigError

CONFIGMAP_NAME = "inferenceservice-config"

# Deployment modes: upstream's canonical names and their legacy aliases.
MODE_ALIASES = {
    "Standard": "Standard",
    "RawDeployment": "Standard",
    "Knative": "Knative",
    "Serverless": "Knative",
    "ModelMesh": "ModelMesh",
}


def normalize_mode(value: str) -> str | None:
    """Standard/Knative/ModelMesh for any accepted spelling, None for anything else."""
    return MODE_ALIASES.get(value.strip())


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Rollout(_Section):
    max_surge: str = Field("25%", alias="maxSurge")
    max_unavailable: str = Field("25%", alias="maxUnavailable")


class DeployConfig(_Section):
    default_deployment_mode: str = Field("Standard", alias="defaultDeploymentMode")
    default_rollout: Rollout | None = None

    @field_validator("default_deployment_mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        mode = normalize_mode(value)
        if mode is None:
            raise ValueError(
                f"unknown deployment mode {value!r}; use one of {', '.join(MODE_ALIASES)}"
            )
        return mode


class IngressConfig(_Section):
    ingress_domain: str = Field("example.com", alias="ingressDomain")
    domain_template: str = Field(
        "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}", alias="domainTemplate"
    )
    ingress_class_name: str | None = Field("istio", alias="ingressClassName")
    url_scheme: str = Field("http", alias="urlScheme")
    disable_ingress_creation: bool = Field(False, alias="disableIngressCreation")
    enable_gateway_api: bool = Field(False, alias="enableGatewayApi")
    # The Gateway every HTTPRoute attaches to, "<namespace>/<name>" (Gateway API mode).
    kserve_ingress_gateway: str = Field(
        "kserve/kserve-ingress-gateway", alias="kserveIngressGateway"
    )
    # Path-based routing beside the hosts: "/serving/{{ .Namespace }}/{{ .Name }}"; "" = none.
    path_template: str = Field("", alias="pathTemplate")
    # Leave out an HTTPRoute rule's request timeout, for gateways that refuse the field.
    disable_http_route_timeout: bool = Field(False, alias="disableHTTPRouteTimeout")

    @field_validator("kserve_ingress_gateway")
    @classmethod
    def _namespace_and_name(cls, value: str) -> str:
        namespace, _, name = value.partition("/")
        if not namespace or not name or "/" in name:
            raise ValueError(f"{value!r} is not <namespace>/<name> of a Gateway")
        return value

    @property
    def gateway(self) -> tuple[str, str]:
        """(namespace, name) of the Gateway the HTTPRoutes attach to."""
        namespace, _, name = self.kserve_ingress_gateway.partition("/")
        return namespace, name


class EnvVar(_Section):
    name: str
    value: str = ""


class ContainerResources(_Section):
    """The requests and limits of a container we add (the initializer, the router)."""

    cpu_request: str = Field("100m", alias="cpuRequest")
    cpu_limit: str = Field("1", alias="cpuLimit")
    memory_request: str = Field("100Mi", alias="memoryRequest")
    memory_limit: str = Field("1Gi", alias="memoryLimit")

    def requirements(self) -> dict[str, dict[str, str]]:
        """A container's `resources`."""
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


class StorageInitializerConfig(ContainerResources):
    image: str = "registry.kserve-py.test/kserve-py/storage-initializer:0.1.0"
    ca_bundle_config_map_name: str = Field("", alias="caBundleConfigMapName")
    ca_bundle_volume_mount_path: str = Field(
        "/etc/ssl/custom-certs", alias="caBundleVolumeMountPath"
    )
    env: tuple[EnvVar, ...] = ()


class ResourceDefaults(_Section):
    """Requests and limits for custom containers that set none ("" leaves one unset)."""

    cpu_request: str = Field("1", alias="cpuRequest")
    cpu_limit: str = Field("1", alias="cpuLimit")
    memory_request: str = Field("2Gi", alias="memoryRequest")
    memory_limit: str = Field("2Gi", alias="memoryLimit")


class InferenceServiceConfig(_Section):
    resource: ResourceDefaults = ResourceDefaults()
    service_annotation_disallowed_list: tuple[str, ...] = Field(
        (), alias="serviceAnnotationDisallowedList"
    )
    service_label_disallowed_list: tuple[str, ...] = Field((), alias="serviceLabelDisallowedList")


class ServiceConfig(_Section):
    service_cluster_ip_none: bool = Field(False, alias="serviceClusterIPNone")


class SecurityConfig(_Section):
    auto_mount_service_account_token: bool = Field(True, alias="autoMountServiceAccountToken")


class S3Config(_Section):
    """Upstream's `credentials.s3`: Secret data key names and defaults for the S3 env."""

    access_key_id_name: str = Field("AWS_ACCESS_KEY_ID", alias="s3AccessKeyIDName")
    secret_access_key_name: str = Field("AWS_SECRET_ACCESS_KEY", alias="s3SecretAccessKeyName")
    endpoint: str = Field("", alias="s3Endpoint")
    use_https: str = Field("", alias="s3UseHttps")
    region: str = Field("", alias="s3Region")
    verify_ssl: str = Field("", alias="s3VerifySSL")
    use_virtual_bucket: str = Field("", alias="s3UseVirtualBucket")
    use_accelerate: str = Field("", alias="s3UseAccelerate")
    use_anonymous_credential: str = Field("", alias="s3UseAnonymousCredential")
    ca_bundle_config_map: str = Field("", alias="s3CABundleConfigMap")
    ca_bundle: str = Field("", alias="s3CABundle")

    @field_validator("access_key_id_name", "secret_access_key_name")
    @classmethod
    def _default_when_empty(cls, value: str, info: ValidationInfo) -> str:
        # Upstream falls back to its default key names when these are "".
        default = cls.model_fields[str(info.field_name)].default
        return value or str(default)


class GCSConfig(_Section):
    credential_file_name: str = Field(
        "gcloud-application-credentials.json", alias="gcsCredentialFileName"
    )

    @field_validator("credential_file_name")
    @classmethod
    def _default_when_empty(cls, value: str) -> str:
        return value or "gcloud-application-credentials.json"


class CredentialsConfig(_Section):
    s3: S3Config = S3Config()
    gcs: GCSConfig = GCSConfig()
    storage_spec_secret_name: str = Field("storage-config", alias="storageSpecSecretName")
    # The InferenceService annotation naming the one Secret to use ("" turns it off).
    storage_secret_name_annotation: str = Field(
        "serving.kserve.io/storageSecretName", alias="storageSecretNameAnnotation"
    )


class RouterConfig(ContainerResources):
    """Upstream's `router` key: the InferenceGraph router's image, resources and headers."""

    image: str = "registry.kserve-py.test/kserve-py/router:0.1.0"
    image_pull_policy: str = Field("IfNotPresent", alias="imagePullPolicy")
    image_pull_secrets: tuple[str, ...] = Field((), alias="imagePullSecrets")
    # {"propagate": [header name patterns]} → the router's PROPAGATE_HEADERS
    headers: dict[str, tuple[str, ...]] = Field(default_factory=dict)


AGENT_IMAGE = "registry.kserve-py.test/kserve-py/agent:0.1.0"


class AgentConfig(ContainerResources):
    """Upstream's `agent` key: the image and resources of the `agent` sidecar (logger and
    batcher for containers that do not log and batch in process)."""

    image: str = AGENT_IMAGE


class LoggerConfig(ContainerResources):
    """Upstream's `logger` key. Its image and resources are upstream's leftovers (the agent's
    come from `agent`); the rest are the logger's defaults."""

    image: str = AGENT_IMAGE
    default_url: str = Field("http://default-broker", alias="defaultUrl")
    ca_bundle: str = Field("", alias="caBundle")  # a ConfigMap in the InferenceService's namespace
    ca_cert_file: str = Field("", alias="caCertFile")
    tls_skip_verify: bool = Field(False, alias="tlsSkipVerify")
    marshaller_url: str = Field("", alias="marshallerUrl")
    batch_size: int = Field(0, alias="batchSize")
    batch_interval: str = Field("", alias="batchInterval")


class BatcherConfig(ContainerResources):
    """Upstream's `batcher` key: defaults for a batcher that leaves them out ("" or "0": the
    server's own, 32 and 5000 ms)."""

    image: str = AGENT_IMAGE
    max_batch_size: str = Field("", alias="maxBatchSize")
    max_latency: str = Field("", alias="maxLatency")

    @field_validator("max_batch_size", "max_latency", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        # Upstream's chart writes strings; a number written by hand means the same.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class MetricsAggregatorConfig(_Section):
    """Upstream's `metricsAggregator` key: `enablePrometheusScraping` ("true"/"false") is the
    default of the `serving.kserve.io/enable-prometheus-scraping` annotation."""

    enable_metric_aggregation: str = Field("false", alias="enableMetricAggregation")
    enable_prometheus_scraping: str = Field("false", alias="enablePrometheusScraping")

    @field_validator("enable_metric_aggregation", "enable_prometheus_scraping", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        # Upstream's chart writes strings; a JSON boolean written by hand means the same.
        return str(value).lower() if isinstance(value, bool) else value


class OpenTelemetryCollectorConfig(_Section):
    """Upstream's `opentelemetryCollector` key; the KEDA OTel scaler's address is the one read
    here (PodMetric triggers)."""

    metric_scaler_endpoint: str = Field(
        "keda-otel-scaler.keda.svc:4318", alias="metricScalerEndpoint"
    )


class AutoscalerConfig(_Section):
    """Upstream's `autoscaler` key: stabilization windows (seconds, as strings) a ScaledObject
    gets when the component's autoScaling.behavior does not set them ("" = KEDA's default)."""

    scale_up_stabilization_window_seconds: str = Field(
        "", alias="scaleUpStabilizationWindowSeconds"
    )
    scale_down_stabilization_window_seconds: str = Field(
        "", alias="scaleDownStabilizationWindowSeconds"
    )

    @field_validator(
        "scale_up_stabilization_window_seconds",
        "scale_down_stabilization_window_seconds",
        mode="before",
    )
    @classmethod
    def _seconds(cls, value: object) -> object:
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(text, str) and text.strip() and not text.strip().isdigit():
            raise ValueError(f"{text!r} is not a whole number of seconds")
        return text.strip() if isinstance(text, str) else text


class ActivatorConfig(_Section):
    """Ours (no upstream key): the shared activator that holds requests to a component scaled
    to zero (autoscalerClass keda, minReplicas 0) while it starts. `host` is the activator
    Service's cluster DNS name ("" = no activator: such components are not woken by
    requests); `metricsUrl` where KEDA reads each component's held and in-flight requests;
    `idleSeconds` KEDA's cooldownPeriod (no request for that long → zero pods);
    `pollingIntervalSeconds` how often KEDA asks; `targetConcurrency` requests in flight per
    replica before KEDA adds one."""

    host: str = ""
    metrics_url: str = Field("", alias="metricsUrl")
    idle_seconds: int = Field(300, alias="idleSeconds", ge=0)
    polling_interval_seconds: int = Field(1, alias="pollingIntervalSeconds", ge=1)
    target_concurrency: int = Field(100, alias="targetConcurrency", ge=1)


class ControllerConfig(_Section):
    deploy: DeployConfig = DeployConfig()
    ingress: IngressConfig = IngressConfig()
    storage_initializer: StorageInitializerConfig = Field(
        StorageInitializerConfig(), alias="storageInitializer"
    )
    inference_service: InferenceServiceConfig = Field(
        InferenceServiceConfig(), alias="inferenceService"
    )
    service: ServiceConfig = ServiceConfig()
    security: SecurityConfig = SecurityConfig()
    credentials: CredentialsConfig = CredentialsConfig()
    router: RouterConfig = RouterConfig()
    agent: AgentConfig = AgentConfig()
    logger: LoggerConfig = LoggerConfig()
    batcher: BatcherConfig = BatcherConfig()
    metrics_aggregator: MetricsAggregatorConfig = Field(
        MetricsAggregatorConfig(), alias="metricsAggregator"
    )
    opentelemetry_collector: OpenTelemetryCollectorConfig = Field(
        OpenTelemetryCollectorConfig(), alias="opentelemetryCollector"
    )
    autoscaler: AutoscalerConfig = AutoscalerConfig()
    activator: ActivatorConfig = ActivatorConfig()


# ConfigMap key → field of ControllerConfig; the other upstream keys are not used here.
_KEYS: dict[str, tuple[str, type[_Section]]] = {
    "deploy": ("deploy", DeployConfig),
    "ingress": ("ingress", IngressConfig),
    "storageInitializer": ("storage_initializer", StorageInitializerConfig),
    "inferenceService": ("inference_service", InferenceServiceConfig),
    "service": ("service", ServiceConfig),
    "security": ("security", SecurityConfig),
    "credentials": ("credentials", CredentialsConfig),
    "router": ("router", RouterConfig),
    "agent": ("agent", AgentConfig),
    "logger": ("logger", LoggerConfig),
    "batcher": ("batcher", BatcherConfig),
    "metricsAggregator": ("metrics_aggregator", MetricsAggregatorConfig),
    "opentelemetryCollector": ("opentelemetry_collector", OpenTelemetryCollectorConfig),
    "autoscaler": ("autoscaler", AutoscalerConfig),
    "activator": ("activator", ActivatorConfig),
}


def parse(data: Mapping[str, str] | None) -> ControllerConfig:
    """ConfigMap `data` → ControllerConfig; defaults for every missing key."""
    sections: dict[str, Any] = {}
    for key, (field, model) in _KEYS.items():
        raw = (data or {}).get(key)
        if raw is None or not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{CONFIGMAP_NAME}: key {key!r} is not valid JSON: {err}") from err
        if not isinstance(value, dict):
            raise ConfigError(f"{CONFIGMAP_NAME}: key {key!r} must be a JSON object")
        if key == "deploy":
            value = _deploy_rollout(value)
        try:
            sections[field] = model.model_validate(value)
        except ValidationError as err:
            raise ConfigError(f"{CONFIGMAP_NAME}: key {key!r}: {_first_error(err)}") from err
    return ControllerConfig.model_validate(sections)


def _deploy_rollout(value: dict[str, Any]) -> dict[str, Any]:
    # Upstream nests the rollout as deploymentRolloutStrategy.defaultRollout.
    strategy = value.get("deploymentRolloutStrategy") or {}
    if isinstance(strategy, dict) and isinstance(strategy.get("defaultRollout"), dict):
        return {**value, "default_rollout": strategy["defaultRollout"]}
    return value


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
