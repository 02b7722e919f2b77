"""The inferenceservice-config ConfigMap: upstream's JSON strings, our defaults."""

from __future__ import annotations

import pytest

from kserve_controller import config
from kserve_controller.errors import ConfigError


def test_defaults_without_a_configmap() -> None:
    cfg = config.parse(None)
    assert cfg.deploy.default_deployment_mode == "Standard"
    assert cfg.ingress.ingress_domain == "example.com"
    assert cfg.ingress.domain_template == "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"
    assert cfg.storage_initializer.memory_limit == "1Gi"
    assert cfg.storage_initializer.image.startswith("registry.kserve-py.test/")


@pytest.mark.parametrize(
    ("given", "mode"),
    [("RawDeployment", "Standard"), ("Serverless", "Knative"), ("Standard", "Standard")],
)
def test_deployment_mode_aliases_are_normalized(given: str, mode: str) -> None:
    cfg = config.parse({"deploy": f'{{"defaultDeploymentMode": "{given}"}}'})
    assert cfg.deploy.default_deployment_mode == mode


def test_upstream_keys_we_do_not_use_are_ignored() -> None:
    cfg = config.parse(
        {
            "ingress": '{"ingressGateway": "knative-serving/knative-ingress-gateway", '
            '"ingressDomain": "x.org"}',
            "explainer": '{"art": {"image": "kserve/art-explainer"}}',
            "_example": "not json at all",
        }
    )
    assert cfg.ingress.ingress_domain == "x.org"


def test_initializer_env_and_rollout() -> None:
    cfg = config.parse(
        {
            "storageInitializer": '{"env": [{"name": "S3_ENDPOINT", "value": "minio:9000"}]}',
            "deploy": '{"defaultDeploymentMode": "RawDeployment", "deploymentRolloutStrategy": '
            '{"defaultRollout": {"maxSurge": "1", "maxUnavailable": "0"}}}',
        }
    )
    assert [(e.name, e.value) for e in cfg.storage_initializer.env] == [
        ("S3_ENDPOINT", "minio:9000")
    ]
    assert cfg.deploy.default_rollout is not None
    assert cfg.deploy.default_rollout.max_unavailable == "0"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"ingress": "{not json"}, "'ingress' is not valid JSON"),
        ({"deploy": '"Standard"'}, "'deploy' must be a JSON object"),
        ({"deploy": '{"defaultDeploymentMode": "Fast"}'}, "unknown deployment mode 'Fast'"),
        ({"ingress": '{"disableIngressCreation": "maybe"}'}, "disableIngressCreation"),
    ],
)
def test_a_broken_key_is_named(data: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.parse(data)
    assert words in str(err.value)


def test_autoscaling_keys_keda_reads() -> None:
    cfg = config.parse(
        {
            "autoscaler": '{"scaleUpStabilizationWindowSeconds": "0", '
            '"scaleDownStabilizationWindowSeconds": 300}',
            "opentelemetryCollector": '{"metricScalerEndpoint": "otel.keda.svc:4318"}',
            "metricsAggregator": '{"enablePrometheusScraping": true}',
        }
    )
    assert cfg.autoscaler.scale_up_stabilization_window_seconds == "0"
    assert cfg.autoscaler.scale_down_stabilization_window_seconds == "300"
    assert cfg.opentelemetry_collector.metric_scaler_endpoint == "otel.keda.svc:4318"
    assert cfg.metrics_aggregator.enable_prometheus_scraping == "true"
    defaults = config.parse(None)
    assert defaults.autoscaler.scale_down_stabilization_window_seconds == ""
    assert defaults.metrics_aggregator.enable_prometheus_scraping == "false"
    with pytest.raises(ConfigError, match="autoscaler"):
        config.parse({"autoscaler": '{"scaleUpStabilizationWindowSeconds": "5m"}'})


def test_activator_defaults_to_none_and_reads_the_charts_key() -> None:
    assert config.parse(None).activator.host == ""
    parsed = config.parse(
        {"activator": '{"host": "a.kserve.svc", "metricsUrl": "http://a:9091", "idleSeconds": 30}'}
    ).activator
    assert (parsed.host, parsed.metrics_url, parsed.idle_seconds) == (
        "a.kserve.svc",
        "http://a:9091",
        30,
    )
    assert (parsed.polling_interval_seconds, parsed.target_concurrency) == (1, 100)
    with pytest.raises(ConfigError, match="activator"):
        config.parse({"activator": '{"pollingIntervalSeconds": 0}'})
