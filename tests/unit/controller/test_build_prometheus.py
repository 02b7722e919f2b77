"""serving.kserve.io/enable-prometheus-scraping → prometheus.io/* on the pods (build/prometheus)."""

from __future__ import annotations

from kserve_controller import config
from kserve_controller.build import prometheus

OFF = config.parse(None)
ON = config.parse({"metricsAggregator": '{"enablePrometheusScraping": "true"}'})
RUNTIME = {"prometheus.kserve.io/port": "8080", "prometheus.kserve.io/path": "/metrics"}
MAIN = {"name": "kserve-container", "ports": [{"containerPort": 9000}]}


def test_off_by_default_as_upstream() -> None:
    assert prometheus.scrape_annotations(RUNTIME, main=MAIN, config=OFF) == {}


def test_the_annotation_turns_it_on_and_points_at_the_runtimes_metrics() -> None:
    given = {**RUNTIME, prometheus.ENABLE: "true"}
    assert prometheus.scrape_annotations(given, main=MAIN, config=OFF) == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
        "prometheus.io/path": "/metrics",
    }


def test_the_configmap_turns_it_on_and_the_annotation_off_again() -> None:
    assert prometheus.scrape_annotations(RUNTIME, main=MAIN, config=ON)["prometheus.io/scrape"]
    off = {**RUNTIME, prometheus.ENABLE: "false"}
    assert prometheus.scrape_annotations(off, main=MAIN, config=ON) == {}


def test_a_custom_container_is_scraped_on_its_first_port_else_8080() -> None:
    assert prometheus.scrape_annotations({}, main=MAIN, config=ON)["prometheus.io/port"] == "9000"
    bare = {"name": "kserve-container"}
    assert prometheus.scrape_annotations({}, main=bare, config=ON)["prometheus.io/port"] == "8080"
