"""modelFormat → framework, chosen as the controller chooses a ClusterServingRuntime.

The runtimes are the ones the `kserve` chart installs, rendered from it by `make generate`
into cluster_runtimes.yaml (hack/codegen/runtimes.py); selection is the controller's own
`runtimes.select`.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from kserve_controller import runtimes, spec
from kserve_controller.errors import InvalidSpec

DATA = "cluster_runtimes.yaml"


def cluster_runtimes() -> list[dict[str, Any]]:
    """The chart's default ClusterServingRuntimes, as `helm install` with defaults creates them."""
    text = resources.files("kserve_local").joinpath(DATA).read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def framework(model: spec.Model) -> str:
    """The model server's `--framework` for `model`; InvalidSpec when no runtime fits."""
    runtime = runtimes.select(model, namespaced=[], cluster=cluster_runtimes())
    for container in runtime.spec.get("containers") or []:
        for arg in container.get("args") or []:
            if str(arg).startswith("--framework="):
                return str(arg).split("=", 1)[1]
    raise InvalidSpec("NoSupportingRuntime", f"runtime {runtime.name} names no --framework")
