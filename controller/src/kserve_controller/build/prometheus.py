"""`serving.kserve.io/enable-prometheus-scraping`: the pod annotations a Prometheus with the
usual `kubernetes-pods` job scrapes by (pure).

The setting is the annotation (on the InferenceService, its component or the runtime), else
the ConfigMap's `metricsAggregator.enablePrometheusScraping`, as upstream. When it is "true",
the pods get `prometheus.io/scrape: "true"` and `prometheus.io/port|path` naming the model
server's metrics: the runtime's `prometheus.kserve.io/port|path`, else the main container's
first port and /metrics. (Upstream's pod webhook writes port 9091, Knative's queue-proxy, which
no pod runs in Standard mode, and no `scrape` key.)
"""

from __future__ import annotations

from typing import Any

from kserve_controller.config import ControllerConfig

Obj = dict[str, Any]

ENABLE = "serving.kserve.io/enable-prometheus-scraping"
SCRAPE = "prometheus.io/scrape"
PORT = "prometheus.io/port"
PATH = "prometheus.io/path"
# The runtime's word for where its container serves metrics (upstream's keys).
RUNTIME_PORT = "prometheus.kserve.io/port"
RUNTIME_PATH = "prometheus.kserve.io/path"
DEFAULT_PATH = "/metrics"
DEFAULT_PORT = 8080


def scrape_annotations(
    pod_annotations: dict[str, str], *, main: Obj, config: ControllerConfig
) -> Obj:
    """The annotations to add to a pod whose annotations are `pod_annotations` and whose main
    container is `main`; none unless scraping is enabled."""
    enabled = pod_annotations.get(ENABLE, config.metrics_aggregator.enable_prometheus_scraping)
    if str(enabled).strip().lower() != "true":
        return {}
    ports = main.get("ports") or []
    port = pod_annotations.get(RUNTIME_PORT) or str(
        ports[0]["containerPort"] if ports else DEFAULT_PORT
    )
    return {
        SCRAPE: "true",
        PORT: port,
        PATH: pod_annotations.get(RUNTIME_PATH) or DEFAULT_PATH,
    }
