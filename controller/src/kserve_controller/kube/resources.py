"""Where each kind lives in the apiserver's URL space."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str  # "v1" or "group/version"
    plural: str
    namespaced: bool = True

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str = ""
    ) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base


_ALL = [
    Resource("InferenceService", "serving.kserve.io/v1beta1", "inferenceservices"),
    Resource("InferenceGraph", "serving.kserve.io/v1alpha1", "inferencegraphs"),
    Resource("ServingRuntime", "serving.kserve.io/v1alpha1", "servingruntimes"),
    Resource(
        "ClusterServingRuntime", "serving.kserve.io/v1alpha1", "clusterservingruntimes", False
    ),
    Resource("TrainedModel", "serving.kserve.io/v1alpha1", "trainedmodels"),
    Resource(
        "ClusterStorageContainer", "serving.kserve.io/v1alpha1", "clusterstoragecontainers", False
    ),
    Resource("Deployment", "apps/v1", "deployments"),
    Resource("Service", "v1", "services"),
    Resource("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
    Resource("ScaledObject", "keda.sh/v1alpha1", "scaledobjects"),
    Resource("Ingress", "networking.k8s.io/v1", "ingresses"),
    Resource("HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes"),
    Resource("Gateway", "gateway.networking.k8s.io/v1", "gateways"),
    Resource("Pod", "v1", "pods"),
    Resource("ConfigMap", "v1", "configmaps"),
    Resource("ServiceAccount", "v1", "serviceaccounts"),
    Resource("Secret", "v1", "secrets"),
    Resource("Event", "v1", "events"),
    Resource("Lease", "coordination.k8s.io/v1", "leases"),
    Resource("Namespace", "v1", "namespaces", False),
]
BY_KIND = {r.kind: r for r in _ALL}


def of(kind: str) -> Resource:
    return BY_KIND[kind]
