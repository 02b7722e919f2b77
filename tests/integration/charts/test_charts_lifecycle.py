"""helm upgrade and helm uninstall never take users' CRDs or InferenceServices with them.

Runs after the other chart tests (file order) and leaves both charts installed again.
"""

from __future__ import annotations

import charts_kube
import kubernetes.client
import yaml
from charts_kube import CRDS, NAMESPACE, Installed, install_both


def _isvc_names(client: kubernetes.client.ApiClient, namespace: str) -> set[str]:
    custom = kubernetes.client.CustomObjectsApi(client)
    items = custom.list_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", namespace, "inferenceservices"
    )["items"]
    return {i["metadata"]["name"] for i in items}


def test_upgrade_uninstall_and_reinstall_keep_crds_and_inferenceservices(
    charts: Installed,
) -> None:
    charts_kube.ensure_namespace(charts.client, "lifecycle")
    isvc = yaml.safe_load(
        (charts_kube.REPO / "tests/data/isvc/valid/sklearn-iris.yaml").read_text()
    )
    charts_kube.apply(charts.client, isvc, namespace="lifecycle")

    charts.helm("upgrade", "kserve-crd", str(charts_kube.CHARTS / "kserve-crd"), "-n", NAMESPACE)
    charts.helm(
        "upgrade", "kserve", str(charts_kube.CHARTS / "kserve"), "-n", NAMESPACE,
        "--reuse-values", "--set", "kserve.controller.replicas=2",
    )  # fmt: skip
    apps = kubernetes.client.AppsV1Api(charts.client)
    assert (
        apps.read_namespaced_deployment("kserve-controller-manager", NAMESPACE).spec.replicas == 2
    )

    charts.helm("uninstall", "kserve", "-n", NAMESPACE)
    out = charts.helm("uninstall", "kserve-crd", "-n", NAMESPACE)
    assert "kept due to the resource policy" in out

    ext = kubernetes.client.ApiextensionsV1Api(charts.client)
    names = {crd.metadata.name for crd in ext.list_custom_resource_definition().items}
    assert set(CRDS) <= names
    assert "sklearn-iris" in _isvc_names(charts.client, "lifecycle")

    install_both(charts)  # the kept CRDs are adopted again by a new release of the same name
    assert "sklearn-iris" in _isvc_names(charts.client, "lifecycle")
