"""A custom component's main container: upstream's transformer args, default resources."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_controller import spec
from kserve_controller.build import container
from kserve_controller.config import ResourceDefaults

DEFAULTS = ResourceDefaults()


def transformer(**fields: Any) -> spec.Component:
    raw = {
        "metadata": {"name": "px", "namespace": "ml", "uid": "u"},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b"}},
            "transformer": {"containers": [{"image": "example.test/t:1"}], **fields},
        },
    }
    return spec.components(spec.parse(raw))[1]


def test_transformer_gets_upstreams_args_after_its_own() -> None:
    part = transformer(containerConcurrency=3)
    assert container.transformer_args(part, ["--x"]) == [
        "--model_name", "px", "--predictor_host", "px-predictor.ml",
        "--http_port", "8080", "--workers", "3",
    ]  # fmt: skip


@pytest.mark.parametrize("given", [["--model_name", "m"], ["--model_name=m"]])
def test_a_flag_the_user_set_is_not_added_again(given: list[str]) -> None:
    args = container.transformer_args(transformer(), [*given, "--http_port=9000"])
    assert args == ["--predictor_host", "px-predictor.ml"]


def test_explainer_and_predictor_get_no_transformer_args() -> None:
    part = transformer()
    explainer = spec.components(
        spec.parse(
            {
                "metadata": {"name": "px", "namespace": "ml"},
                "spec": {
                    "predictor": part.isvc.spec.predictor.wire(),
                    "explainer": part.spec.wire(),
                },
            }
        )
    )[1]
    (main,) = container.predictor_containers(explainer, runtime=None)
    assert "args" not in main


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ({}, {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}),
        # A resource with only a limit keeps it alone (the apiserver copies it to the request).
        (
            {"limits": {"cpu": "500m"}},
            {"limits": {"cpu": "500m", "memory": "2Gi"}, "requests": {"memory": "2Gi"}},
        ),
        (
            {"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"nvidia.com/gpu": "1"}},
            {"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"nvidia.com/gpu": "1"}},
        ),
    ],
)
def test_default_resources_never_make_a_request_exceed_its_limit(
    given: dict[str, Any], want: dict[str, Any]
) -> None:
    assert container.default_resources(given, DEFAULTS) == want


def test_an_empty_default_leaves_that_value_unset() -> None:
    defaults = ResourceDefaults(cpuLimit="", memoryLimit="")
    assert container.default_resources({}, defaults) == {"requests": {"cpu": "1", "memory": "2Gi"}}


# Go clients write an unset port as 0; a Deployment refuses 0 and a missing port alike.
ACTIONS: dict[str, Any] = {"httpGet": {"path": "/ready", "port": 0}, "tcpSocket": {}}


@pytest.mark.parametrize("handler", ["httpGet", "tcpSocket"])
def test_a_probe_without_a_port_gets_the_servers_port(handler: str) -> None:
    # The apiserver refuses a Deployment whose probe names no port (422).
    raw = {
        "metadata": {"name": "px", "namespace": "ml", "uid": "u"},
        "spec": {
            "predictor": {
                "containers": [
                    {
                        "image": "example.test/p:1",
                        "ports": [{"containerPort": 9000}],
                        "readinessProbe": {handler: ACTIONS[handler]},
                        "livenessProbe": {handler: {"port": "http"}},
                    }
                ]
            }
        },
    }
    (main,) = container.predictor_containers(spec.predictor(spec.parse(raw)), runtime=None)
    assert main["readinessProbe"][handler]["port"] == 9000
    assert main["livenessProbe"][handler]["port"] == "http"  # a named port stays
