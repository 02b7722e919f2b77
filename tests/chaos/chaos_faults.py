"""The fault store on the cluster for scenarios 6 and 7: fault_store.py (beside this file) in the
model-server image, its script and files from ConfigMaps, in the model store's namespace.

    faulty/model.tar.gz   iris in a tar.gz, behind the scripted faults (scenario 6)
    big/model.joblib      a model whose load allocates `BALLAST_MIB` (scenario 7)
"""

from __future__ import annotations

import io
import json
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from chaos_cluster import STORE_NAMESPACE, apply, deployment_and_service, file_server
from e2e_kube import Cli

NAME = "faulty"
PORT = 8000
SCRIPT = Path(__file__).with_name("fault_store.py")
BALLAST_MIB = 1024


class Ballast:
    """Unpickles as `numpy.ones(n)`: the memory is allocated and written at load, as a large
    fitted array would be, while the file stays a few hundred bytes."""

    def __init__(self, mib: int) -> None:
        self.count = mib * (1 << 20) // 8

    def __reduce__(self) -> tuple[Any, ...]:
        return (np.ones, (self.count,))


def oversized_model(iris_joblib: bytes, *, mib: int = BALLAST_MIB) -> bytes:
    """A fitted iris classifier carrying `mib` MiB that its load allocates."""
    import joblib

    model = joblib.load(io.BytesIO(iris_joblib))
    model.ballast_ = Ballast(mib)
    out = io.BytesIO()
    joblib.dump(model, out)
    return out.getvalue()


def tar_gz(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def manifests() -> list[dict[str, Any]]:
    labels = {"app": NAME}
    meta = {"name": NAME, "namespace": STORE_NAMESPACE}
    server = file_server(
        "store",
        command=["python3", "/app/fault_store.py", "--dir=/srv", f"--port={PORT}"],
        port=PORT,
        ready_path="/_faults",
        mounts=[
            {"name": "app", "mountPath": "/app", "readOnly": True},
            {"name": "files", "mountPath": "/srv", "readOnly": True},
        ],
    )
    items = [
        {"key": "model.tar.gz", "path": "faulty/model.tar.gz"},
        {"key": "big.joblib", "path": "big/model.joblib"},
    ]
    pod = {
        "automountServiceAccountToken": False,
        "containers": [server],
        "volumes": [
            {"name": "app", "configMap": {"name": f"{NAME}-app"}},
            {"name": "files", "configMap": {"name": f"{NAME}-files", "items": items}},
        ],
    }
    return deployment_and_service(meta, labels, pod, target_port=PORT)


@dataclass
class FaultStore:
    cli: Cli
    host: str = f"{NAME}.{STORE_NAMESPACE}.svc.cluster.local"

    def uri(self, path: str) -> str:
        return f"http://{self.host}/{path}"

    def _control(self, method: str, body: bytes | None = None) -> dict[str, Any]:
        # From this host (the cluster's node) the Service's ClusterIP is reachable directly.
        svc = self.cli.json("get", "service", NAME, "-n", STORE_NAMESPACE)
        url = f"http://{svc['spec']['clusterIP']}/_faults"
        request = urllib.request.Request(url, data=body, method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            report: dict[str, Any] = json.load(answer)
        return report

    def script(self, faults: list[str]) -> None:
        self._control("PUT", ",".join(faults).encode())

    def report(self) -> dict[str, Any]:
        return self._control("GET")


def deploy(cli: Cli, tmp: Path, *, iris_joblib: bytes) -> FaultStore:
    """The store in STORE_NAMESPACE (which the model_store fixture makes and removes)."""
    files = {
        "model.tar.gz": tar_gz({"model.joblib": iris_joblib}),
        "big.joblib": oversized_model(iris_joblib),
    }
    args = []
    for key, blob in files.items():
        (tmp / key).write_bytes(blob)
        args.append(f"--from-file={key}={tmp / key}")
    cli.kubectl("create", "configmap", f"{NAME}-files", "-n", STORE_NAMESPACE, *args)
    cli.kubectl(
        "create", "configmap", f"{NAME}-app", "-n", STORE_NAMESPACE,
        f"--from-file=fault_store.py={SCRIPT}",
    )  # fmt: skip
    apply(cli, manifests(), tmp)
    cli.kubectl("rollout", "status", f"deployment/{NAME}", "-n", STORE_NAMESPACE, "--timeout=3m")
    return FaultStore(cli)
