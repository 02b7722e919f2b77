"""hack/k8s-openapi.json: the part of the pinned kube-apiserver's OpenAPI that our CRDs embed
(PodSpec, Container, ...), so the CRD generator and unit tests need no apiserver."""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codegen import REPO
from kserve_controller.api.openapi import Definitions

OUTPUT = REPO / "hack" / "k8s-openapi.json"
# /openapi/v3 paths holding the definitions of ROOTS.
GROUPS = ("api/v1", "apis/apps/v1", "apis/autoscaling/v2")
# The Kubernetes definitions our models reference; a snapshot keeps these and their closure.
ROOTS = (
    "io.k8s.api.core.v1.PodSpec",
    "io.k8s.api.core.v1.Container",
    "io.k8s.api.apps.v1.DeploymentStrategy",
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerBehavior",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
)


def snapshot(documents: Sequence[Mapping[str, Any]], *, kubernetes_version: str) -> dict[str, Any]:
    """The part of the apiserver's OpenAPI documents the CRDs need, as one document."""
    schemas = Definitions(documents).reachable(ROOTS)
    return {
        "info": {"title": "kube-apiserver /openapi/v3 excerpt", "version": kubernetes_version},
        "components": {"schemas": schemas},
    }


def render(documents: Sequence[Mapping[str, Any]], *, kubernetes_version: str) -> dict[Path, str]:
    snap = snapshot(documents, kubernetes_version=kubernetes_version)
    return {OUTPUT: json.dumps(snap, indent=1, sort_keys=True) + "\n"}


def fetch(url: str, *, ca: Path, cert: Path, key: Path) -> list[dict[str, Any]]:
    """The OpenAPI v3 documents of GROUPS from a running apiserver (admin client cert)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(cert), str(key))
    documents = []
    for group in GROUPS:
        with urllib.request.urlopen(f"{url}/openapi/v3/{group}", context=ctx, timeout=30) as r:
            documents.append(json.load(r))
    return documents


def load() -> Definitions:
    """The committed snapshot, as the CRD generator reads it."""
    return Definitions([json.loads(OUTPUT.read_text())])
