"""modelFormat → framework, chosen as the controller chooses a ClusterServingRuntime.

The three runtimes mirror the ones the `kserve` chart installs (charts/kserve/templates/
clusterservingruntimes.yaml); selection is the controller's own `runtimes.select`.
"""

from __future__ import annotations

from typing import Any

from kserve_controller import runtimes, spec
from kserve_controller.errors import InvalidSpec

# name, model format, format version, the model server's --framework
_DEFAULTS = [
    ("kserve-sklearnserver", "sklearn", "1", "sklearn"),
    ("kserve-xgbserver", "xgboost", "2", "xgboost"),
    ("kserve-lgbserver", "lightgbm", "4", "lightgbm"),
]


def cluster_runtimes() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "ClusterServingRuntime",
            "metadata": {"name": name},
            "spec": {
                "supportedModelFormats": [
                    {"name": fmt, "version": version, "autoSelect": True, "priority": 1}
                ],
                "protocolVersions": ["v1", "v2"],
                "containers": [
                    {
                        "name": "kserve-container",
                        "args": [
                            "--model_name={{.Name}}",
                            "--model_dir=/mnt/models",
                            "--http_port=8080",
                            f"--framework={framework}",
                        ],
                    }
                ],
            },
        }
        for name, fmt, version, framework in _DEFAULTS
    ]


def framework(model: spec.Model) -> str:
    """The model server's `--framework` for `model`; InvalidSpec when no runtime fits."""
    runtime = runtimes.select(model, namespaced=[], cluster=cluster_runtimes())
    for container in runtime.spec.get("containers") or []:
        for arg in container.get("args") or []:
            if str(arg).startswith("--framework="):
                return str(arg).split("=", 1)[1]
    raise InvalidSpec("NoSupportingRuntime", f"runtime {runtime.name} names no --framework")
