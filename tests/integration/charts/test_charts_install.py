"""The tutorial's install on a real apiserver: what `kubectl get` shows afterwards."""

from __future__ import annotations

import json
import subprocess

import charts_kube
import kubernetes.client
import pytest
from charts_kube import CRDS, NAMESPACE, Installed


def test_crds_are_established_with_upstream_names(charts: Installed) -> None:
    ext = kubernetes.client.ApiextensionsV1Api(charts.client)
    isvc = ext.read_custom_resource_definition("inferenceservices.serving.kserve.io")
    assert isvc.spec.names.short_names == ["isvc"]
    assert [v.name for v in isvc.spec.versions] == ["v1beta1"]
    columns = [c.name for c in isvc.spec.versions[0].additional_printer_columns]
    assert columns[:4] == ["URL", "Ready", "Prev", "Latest"] and columns[-1] == "Age"
    names = {crd.metadata.name for crd in ext.list_custom_resource_definition().items}
    assert set(CRDS) <= names


def test_controller_deployment_and_rbac_are_created(charts: Installed) -> None:
    apps = kubernetes.client.AppsV1Api(charts.client)
    deployment = apps.read_namespaced_deployment("kserve-controller-manager", NAMESPACE)
    pod = deployment.spec.template
    assert pod.metadata.labels["app"] == "kserve-controller"
    assert pod.spec.containers[0].name == "kserve-controller"
    assert pod.spec.service_account_name == "kserve-controller-manager"
    rbac = kubernetes.client.RbacAuthorizationV1Api(charts.client)
    assert rbac.read_cluster_role("kserve-manager-role").rules
    assert rbac.read_namespaced_role("kserve-leader-election-role", NAMESPACE).rules


def test_configmap_carries_the_deployment_mode_from_the_command_line(charts: Installed) -> None:
    core = kubernetes.client.CoreV1Api(charts.client)
    data = core.read_namespaced_config_map("inferenceservice-config", NAMESPACE).data
    assert json.loads(data["deploy"]) == {"defaultDeploymentMode": "RawDeployment"}
    assert json.loads(data["storageInitializer"])["env"] == []


def test_default_cluster_serving_runtimes_pass_the_crd_schema(charts: Installed) -> None:
    custom = kubernetes.client.CustomObjectsApi(charts.client)
    runtimes = custom.list_cluster_custom_object(
        "serving.kserve.io", "v1alpha1", "clusterservingruntimes"
    )["items"]
    formats = {
        r["metadata"]["name"]: r["spec"]["supportedModelFormats"][0]["name"] for r in runtimes
    }
    assert formats == {
        "kserve-sklearnserver": "sklearn",
        "kserve-xgbserver": "xgboost",
        "kserve-lgbserver": "lightgbm",
        "kserve-onnxruntime": "onnx",
        "kserve-tensorflow-serving": "tensorflow",
        "kserve-tritonserver": "tensorrt",
        "kserve-torchserve": "pytorch",
        "kserve-huggingfaceserver": "huggingface",
    }


def test_the_controller_role_can_do_its_job(charts: Installed) -> None:
    """The role's rules are checked by the apiserver's own authorizer (SubjectAccessReview)."""
    authz = kubernetes.client.AuthorizationV1Api(charts.client)
    user = f"system:serviceaccount:{NAMESPACE}:kserve-controller-manager"

    def allowed(verb: str, group: str, resource: str, namespace: str = "ml") -> bool:
        review = kubernetes.client.V1SubjectAccessReview(
            spec={"user": user, "resourceAttributes": {
                "verb": verb, "group": group, "resource": resource.split("/", maxsplit=1)[0],
                "subresource": resource.partition("/")[2], "namespace": namespace}},
        )  # fmt: skip
        return bool(authz.create_subject_access_review(review).status.allowed)

    assert allowed("watch", "serving.kserve.io", "inferenceservices")
    assert allowed("patch", "serving.kserve.io", "inferenceservices/status")
    assert allowed("create", "apps", "deployments")
    assert allowed("create", "autoscaling", "horizontalpodautoscalers")
    assert allowed("create", "networking.k8s.io", "ingresses")
    # autoscalerClass keda: server-side apply (patch, create) and delete, never update.
    for verb in ("get", "list", "watch", "create", "patch", "delete"):
        assert allowed(verb, "keda.sh", "scaledobjects")
    assert not allowed("update", "keda.sh", "scaledobjects")
    assert not allowed("get", "keda.sh", "triggerauthentications")
    assert allowed("update", "coordination.k8s.io", "leases", namespace=NAMESPACE)
    assert not allowed("list", "", "secrets")
    assert not allowed("update", "coordination.k8s.io", "leases", namespace="ml")
    assert not allowed("create", "rbac.authorization.k8s.io", "clusterroles")


@pytest.mark.parametrize("mode", ["Serverless", "Knative"])
def test_serverless_is_refused_at_install_with_the_reason(charts: Installed, mode: str) -> None:
    out = charts.helm(
        "install", "kserve-knative", str(charts_kube.CHARTS / "kserve"), "-n", "other",
        "--create-namespace", "--set", f"kserve.controller.deploymentMode={mode}",
        check=False,
    )  # fmt: skip
    assert "needs Knative Serving" in out and "RawDeployment" in out


def test_a_mistyped_value_is_refused_at_install(charts: Installed) -> None:
    out = charts.helm(
        "install", "kserve-typo", str(charts_kube.CHARTS / "kserve"), "-n", "other",
        "--create-namespace", "--set", "kserve.controller.deploymentmode=RawDeployment",
        check=False,
    )  # fmt: skip
    assert "deploymentmode" in out and "not allowed" in out


def test_kubectl_explain_describes_the_model_fields(charts: Installed) -> None:
    kubectl = charts_kube.REPO / "bin" / "kubectl"
    assert kubectl.exists(), f"kubectl not found at {kubectl}: run `make tools`"
    out = subprocess.run(
        [str(kubectl), "--kubeconfig", str(charts.kubeconfig), "explain",
         "isvc.spec.predictor.model"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "The model to serve" in out
    assert "storageUri" in out and "modelFormat" in out and "resources" in out
