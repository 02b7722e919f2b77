"""`make generate`: refresh the Kubernetes OpenAPI snapshot from the pinned kube-apiserver, then
regenerate charts/kserve-crd's CRDs from the controller's pydantic models.

The apiserver (and etcd) from `make tools` are started on loopback by the integration tests'
fixture module, asked for /openapi/v3, and stopped. Only the definitions our CRDs embed are kept
(hack/k8s-openapi.json), so unit tests can check the CRDs without an apiserver.
"""

import json
import ssl
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import kubeapi  # noqa: E402  (the fixture module: starts etcd + kube-apiserver)

from kserve_controller.api import generate  # noqa: E402

# /openapi/v3 paths holding the definitions of generate.ROOTS.
GROUPS = ("api/v1", "apis/apps/v1", "apis/autoscaling/v2")


def main() -> int:
    versions = dict(
        line.split("=", 1)
        for line in (REPO / "hack" / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    documents = []
    with kubeapi.running() as server:
        ctx = ssl.create_default_context(cafile=str(server.ca_file))
        ctx.load_cert_chain(str(server.admin_cert), str(server.admin_key))
        for group in GROUPS:
            url = f"{server.url}/openapi/v3/{group}"
            with urllib.request.urlopen(url, context=ctx, timeout=30) as response:
                documents.append(json.load(response))
    snap = generate.snapshot(documents, kubernetes_version=versions["KUBERNETES_VERSION"])
    generate.SNAPSHOT.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n")
    print(f"generate: wrote {generate.SNAPSHOT.relative_to(REPO)} from kube-apiserver")
    return generate.main([])


if __name__ == "__main__":
    sys.exit(main())
