"""ServingRuntime models read upstream runtime YAML and find their kserve-container."""

import pytest
from pydantic import ValidationError

from kserve_controller.api import servingruntime

RUNTIME = {
    "apiVersion": "serving.kserve.io/v1alpha1",
    "kind": "ClusterServingRuntime",
    "metadata": {"name": "kserve-sklearnserver"},
    "spec": {
        "annotations": {"prometheus.kserve.io/port": "8080"},
        "supportedModelFormats": [
            {"name": "sklearn", "version": "1", "autoSelect": True, "priority": 1}
        ],
        "protocolVersions": ["v1", "v2"],
        "containers": [
            {
                "name": "kserve-container",
                "image": "registry.kserve-py.test/kserve-py/model-server:0.1.0",
                "args": ["--model_name={{.Name}}"],
            }
        ],
    },
}


def test_cluster_runtime_reads_formats_protocols_and_container() -> None:
    runtime = servingruntime.ServingRuntime.model_validate(RUNTIME)
    assert runtime.is_cluster_scoped and runtime.name == "kserve-sklearnserver"
    fmt = (runtime.spec.supported_model_formats or [])[0]
    assert (fmt.name, fmt.version, fmt.auto_select, fmt.priority) == ("sklearn", "1", True, 1)
    assert runtime.spec.protocol_versions == ["v1", "v2"]
    container = runtime.spec.container("kserve-container")
    assert container is not None and container["args"] == ["--model_name={{.Name}}"]
    assert runtime.wire() == RUNTIME


def test_priority_below_one_is_refused() -> None:
    bad = {
        **RUNTIME,
        "spec": {**RUNTIME["spec"], "supportedModelFormats": [{"name": "x", "priority": 0}]},
    }  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match="priority"):
        servingruntime.ServingRuntime.model_validate(bad)
