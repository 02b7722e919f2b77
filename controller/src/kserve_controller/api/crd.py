"""The CustomResourceDefinitions of group serving.kserve.io, built from the pydantic models.

Pure: `Definitions` (Kubernetes' OpenAPI) in, CRD documents out. hack/codegen/crds.py writes
them into charts/kserve-crd. Upstream names, short names, printer columns and subresources are
kept so `kubectl get isvc` looks the same.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from kserve_controller.api import (
    clusterstoragecontainer,
    inferencegraph,
    inferenceservice,
    predictor,
    schema,
    servingruntime,
    trainedmodel,
)
from kserve_controller.api.openapi import Definitions

GROUP = "serving.kserve.io"
Crd = dict[str, Any]

# Descriptions of embedded Kubernetes types are kept this many levels deep under a predictor
# field, so `kubectl explain isvc.spec.predictor.model` is useful while the CRD stays well
# under etcd's 1.5 MiB object limit (every PodSpec copy is ~300 KB with all descriptions).
DESCRIPTION_DEPTH = 3

READY = ".status.conditions[?(@.type=='Ready')].status"
AGE: dict[str, Any] = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
TRAFFIC = ".status.components.predictor.traffic"
ISVC_COLUMNS: list[dict[str, Any]] = [
    {"name": "URL", "type": "string", "jsonPath": ".status.url"},
    {"name": "Ready", "type": "string", "jsonPath": READY},
    {"name": "Prev", "type": "integer", "jsonPath": f"{TRAFFIC}[?(@.tag=='prev')].percent"},
    {
        "name": "Latest",
        "type": "integer",
        "jsonPath": f"{TRAFFIC}[?(@.latestRevision==true)].percent",
    },
    {
        "name": "PrevRolledoutRevision",
        "type": "string",
        "jsonPath": f"{TRAFFIC}[?(@.tag=='prev')].revisionName",
        "priority": 1,
    },
    {
        "name": "LatestReadyRevision",
        "type": "string",
        "jsonPath": f"{TRAFFIC}[?(@.latestRevision==true)].revisionName",
        "priority": 1,
    },
    AGE,
]
RUNTIME_COLUMNS: list[dict[str, Any]] = [
    {"name": "Disabled", "type": "boolean", "jsonPath": ".spec.disabled"},
    {"name": "ModelType", "type": "string", "jsonPath": ".spec.supportedModelFormats[*].name"},
    {"name": "Containers", "type": "string", "jsonPath": ".spec.containers[*].name"},
    AGE,
]
URL_READY_COLUMNS: list[dict[str, Any]] = [
    {"name": "URL", "type": "string", "jsonPath": ".status.url"},
    {"name": "Ready", "type": "string", "jsonPath": READY},
    AGE,
]


@dataclass(frozen=True)
class Kind:
    """One CRD: its names, its pydantic root model, and how `kubectl get` shows it."""

    kind: str
    plural: str
    version: str
    root: type[BaseModel]
    columns: list[dict[str, Any]] | None = None
    short: str | None = None
    status: bool = False
    cluster: bool = False


ISVC = Kind(
    inferenceservice.KIND,
    inferenceservice.PLURAL,
    inferenceservice.VERSION,
    inferenceservice.InferenceService,
    ISVC_COLUMNS,
    short="isvc",
    status=True,
)
KINDS = (
    ISVC,
    Kind(servingruntime.KIND, servingruntime.PLURAL, servingruntime.VERSION,
         servingruntime.ServingRuntime, RUNTIME_COLUMNS),
    Kind(servingruntime.CLUSTER_KIND, servingruntime.CLUSTER_PLURAL, servingruntime.VERSION,
         servingruntime.ServingRuntime, RUNTIME_COLUMNS, cluster=True),
    Kind(inferencegraph.KIND, inferencegraph.PLURAL, inferencegraph.VERSION,
         inferencegraph.InferenceGraph, URL_READY_COLUMNS, short="ig", status=True),
    Kind(trainedmodel.KIND, trainedmodel.PLURAL, trainedmodel.VERSION,
         trainedmodel.TrainedModel, URL_READY_COLUMNS, short="tm", status=True),
    Kind(clusterstoragecontainer.KIND, clusterstoragecontainer.PLURAL,
         clusterstoragecontainer.VERSION, clusterstoragecontainer.ClusterStorageContainer,
         cluster=True),
)  # fmt: skip
# The names of every CRD the kserve-crd chart installs (what `kubectl get crds` lists).
CRD_NAMES = tuple(f"{k.plural}.{GROUP}" for k in KINDS)


def all_crds(definitions: Definitions) -> dict[str, Crd]:
    """File stem (upstream's `serving.kserve.io_<plural>`) → CRD document."""
    crds = [inferenceservice_crd(definitions), *(_crd(k, definitions) for k in KINDS[1:])]
    return {f"{GROUP}_{crd['spec']['names']['plural']}": crd for crd in crds}


def inferenceservice_crd(definitions: Definitions) -> Crd:
    crd = _crd(ISVC, definitions)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    _trim_component_descriptions(spec)
    _optional_probe_ports(spec)
    return crd


# Probes a component's main container may give without a port, as upstream's CRD allows (the
# controller fills in the model server's port); the Pod's own schema requires one.
PORTLESS_PROBES = ("livenessProbe", "readinessProbe")


def _optional_probe_ports(node: dict[str, Any], *, parent: str = "") -> None:
    props = node.get("properties") or {}
    if "livenessProbe" in props and parent != "initContainers":
        # Custom `containers` may leave out httpGet's port; a model's container also tcpSocket's.
        handlers = ("httpGet", "tcpSocket") if "storageUri" in props else ("httpGet",)
        for probe in PORTLESS_PROBES:
            for handler in handlers:
                props[probe]["properties"][handler].pop("required", None)
        return
    for name, sub in props.items():
        _optional_probe_ports(sub, parent=name)
    items = node.get("items")
    if isinstance(items, dict):
        _optional_probe_ports(items, parent=parent)


def _trim_component_descriptions(spec: dict[str, Any]) -> None:
    pred = spec["properties"]["predictor"]["properties"]
    for name, field in pred.items():
        _trim(field, 0 if name in predictor.FRAMEWORKS else DESCRIPTION_DEPTH)
    for name in ("transformer", "explainer"):
        for field in spec["properties"][name]["properties"].values():
            _trim(field, 1)
    _trim(spec["properties"]["canary"], 0)


def _trim(node: dict[str, Any], depth: int) -> None:
    if depth <= 0:
        node.pop("description", None)
    for key, value in node.items():
        if key == "properties":
            for sub in value.values():
                _trim(sub, depth - 1)
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            _trim(value, depth)


def _crd(kind: Kind, definitions: Definitions) -> Crd:
    root = kind.root
    body = schema.for_model(root, definitions=definitions)
    body["properties"]["metadata"] = {"type": "object"}
    if "status" in root.model_fields:
        body["properties"]["status"] = _status_schema(root, definitions)
    body.pop("required", None)
    body["required"] = ["spec"] if "spec" in body["properties"] else []
    if not body["required"]:
        del body["required"]
    names: dict[str, Any] = {
        "kind": kind.kind,
        "listKind": f"{kind.kind}List",
        "plural": kind.plural,
        "singular": kind.kind.lower(),
    }
    if kind.short:
        names["shortNames"] = [kind.short]
    served: dict[str, Any] = {
        "name": kind.version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": body},
    }
    if kind.columns:
        served["additionalPrinterColumns"] = kind.columns
    if kind.status:
        served["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": names,
            "scope": "Cluster" if kind.cluster else "Namespaced",
            "versions": [served],
        },
    }


def _status_schema(root: type[BaseModel], definitions: Definitions) -> dict[str, Any]:
    field = root.model_fields["status"]
    return schema.for_annotation(field.annotation, [*field.metadata], definitions=definitions)
