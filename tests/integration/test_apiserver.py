"""The apiserver fixture gives a real, working Kubernetes API: what the controller and chart
tests rely on."""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

import kubeapi
import kubernetes.client
import pytest
from kubernetes import watch
from kubernetes.client.rest import ApiException

CRD_GROUP = "tests.kserve-py.test"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _namespace(client: kubernetes.client.ApiClient) -> str:
    name = _name("ns")
    kubernetes.client.CoreV1Api(client).create_namespace({"metadata": {"name": name}})
    return name


def test_creates_and_reads_a_namespace(apiserver: kubeapi.ApiServer) -> None:
    core = kubernetes.client.CoreV1Api(apiserver.client)
    name = _namespace(apiserver.client)
    got = core.read_namespace(name)
    assert got.metadata.name == name
    assert got.status.phase == "Active"


def _widget_crd(plural: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "minReplicas": {"type": "integer"},
                    "maxReplicas": {"type": "integer"},
                },
                "x-kubernetes-validations": [
                    {
                        "rule": "self.minReplicas <= self.maxReplicas",
                        "message": "minReplicas must not exceed maxReplicas",
                        "fieldPath": ".minReplicas",
                    }
                ],
            }
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{CRD_GROUP}"},
        "spec": {
            "group": CRD_GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural[:-1], "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def _wait_established(client: kubernetes.client.ApiClient, name: str) -> None:
    ext = kubernetes.client.ApiextensionsV1Api(client)
    w = watch.Watch()
    for event in w.stream(
        ext.list_custom_resource_definition,
        field_selector=f"metadata.name={name}",
        timeout_seconds=30,
    ):
        conditions = event["object"].status.conditions or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            w.stop()
            return
    raise AssertionError(f"CRD {name} never became Established")


def test_crd_cel_rule_rejects_an_invalid_object_naming_the_field(
    apiserver: kubeapi.ApiServer,
) -> None:
    plural = f"widgets{uuid.uuid4().hex[:6]}"
    crd = _widget_crd(plural)
    kubernetes.client.ApiextensionsV1Api(apiserver.client).create_custom_resource_definition(crd)
    _wait_established(apiserver.client, crd["metadata"]["name"])
    ns = _namespace(apiserver.client)
    custom = kubernetes.client.CustomObjectsApi(apiserver.client)

    def widget(name: str, lo: int, hi: int) -> dict[str, Any]:
        return {
            "apiVersion": f"{CRD_GROUP}/v1",
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"minReplicas": lo, "maxReplicas": hi},
        }

    custom.create_namespaced_custom_object(CRD_GROUP, "v1", ns, plural, widget("ok", 1, 3))
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(CRD_GROUP, "v1", ns, plural, widget("bad", 5, 2))
    assert err.value.status == 422
    assert "spec.minReplicas" in str(err.value.body)
    assert "minReplicas must not exceed maxReplicas" in str(err.value.body)
    got = custom.get_namespaced_custom_object(CRD_GROUP, "v1", ns, plural, "ok")
    assert got["spec"] == {"minReplicas": 1, "maxReplicas": 3}


def test_watch_receives_added_modified_deleted(apiserver: kubeapi.ApiServer) -> None:
    core = kubernetes.client.CoreV1Api(apiserver.client)
    ns = _namespace(apiserver.client)
    start_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    core.patch_namespaced_config_map("cm", ns, {"data": {"a": "2"}})
    core.delete_namespaced_config_map("cm", ns)
    seen: list[tuple[str, dict[str, str] | None]] = []
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_config_map, ns, resource_version=start_rv, timeout_seconds=20
    ):
        if event["object"].metadata.name == "cm":
            seen.append((event["type"], event["object"].data))
        if len(seen) == 3:
            w.stop()
    assert seen == [("ADDED", {"a": "1"}), ("MODIFIED", {"a": "2"}), ("DELETED", {"a": "2"})]


def test_service_account_token_has_only_its_rbac(apiserver: kubeapi.ApiServer) -> None:
    ns = _namespace(apiserver.client)
    core = kubernetes.client.CoreV1Api(apiserver.client)
    core.create_namespaced_service_account(ns, {"metadata": {"name": "reader"}})
    token = apiserver.service_account_token(ns, "reader")
    with apiserver.api_client(token=token) as as_sa:
        sa_core = kubernetes.client.CoreV1Api(as_sa)
        with pytest.raises(ApiException) as err:
            sa_core.list_namespaced_config_map(ns)
        assert err.value.status == 403
        assert f"system:serviceaccount:{ns}:reader" in str(err.value.body)
        rbac = kubernetes.client.RbacAuthorizationV1Api(apiserver.client)
        rbac.create_namespaced_role(
            ns,
            {
                "metadata": {"name": "cm-reader"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}],
            },
        )
        rbac.create_namespaced_role_binding(
            ns,
            {
                "metadata": {"name": "cm-reader"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "cm-reader",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}],
            },
        )
        # The RBAC authorizer reads bindings from an informer: a new binding takes effect
        # within moments, not at once. Poll with a ceiling instead of racing it.
        deadline = time.monotonic() + 30
        while True:
            try:
                assert sa_core.list_namespaced_config_map(ns).items is not None
                break
            except ApiException as exc:
                if exc.status != 403 or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


async def test_asyncio_configuration_reaches_the_server(apiserver: kubeapi.ApiServer) -> None:
    from kubernetes_asyncio import client as aclient

    async with aclient.ApiClient(configuration=apiserver.asyncio_configuration()) as api:
        namespaces = await aclient.CoreV1Api(api).list_namespace()
    assert "default" in {n.metadata.name for n in namespaces.items}


def test_restart_apiserver_keeps_port_and_data(apiserver: kubeapi.ApiServer) -> None:
    core = kubernetes.client.CoreV1Api(apiserver.client)
    ns = _namespace(apiserver.client)
    apiserver.restart_apiserver()
    assert core.read_namespace(ns).metadata.name == ns


def _watch_from(core: kubernetes.client.CoreV1Api, ns: str, rv: str) -> list[str]:
    names = []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=3
    ):
        names.append(event["object"].metadata.name)
    return names


def _old_resource_version(
    server: kubeapi.ApiServer,
) -> tuple[kubernetes.client.CoreV1Api, str, str]:
    core = kubernetes.client.CoreV1Api(server.client)
    ns = _namespace(server.client)
    old_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    for i in range(3):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"cm{i}"}})
    return core, ns, old_rv


def test_etcd_compaction_makes_an_old_watch_gone(apiserver_uncached: kubeapi.ApiServer) -> None:
    core, ns, old_rv = _old_resource_version(apiserver_uncached)
    assert _watch_from(core, ns, old_rv) == ["cm0", "cm1", "cm2"]
    apiserver_uncached.compact_etcd()
    with pytest.raises(ApiException) as err:
        _watch_from(core, ns, old_rv)
    assert err.value.status == 410


def test_restart_makes_a_watch_from_before_it_gone(apiserver: kubeapi.ApiServer) -> None:
    core, ns, old_rv = _old_resource_version(apiserver)
    apiserver.compact_etcd()
    apiserver.restart_apiserver()
    with pytest.raises(ApiException) as err:
        _watch_from(core, ns, old_rv)
    assert err.value.status == 410


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_teardown_leaves_no_process_port_or_data_even_after_a_failure() -> None:
    leftovers: list[kubeapi.ApiServer] = []

    def body() -> None:
        with kubeapi.running() as server:
            leftovers.append(server)
            assert _port_open(server.port)
            assert _port_open(server.etcd_port)
            raise RuntimeError("a test failed inside the fixture")

    with pytest.raises(RuntimeError, match="a test failed"):
        body()
    (server,) = leftovers
    pids = server.pids()
    assert set(pids) == {"etcd", "kube-apiserver"}
    for pid in pids.values():
        assert not os.path.exists(f"/proc/{pid}"), f"process {pid} still running"
    assert not _port_open(server.port)
    assert not _port_open(server.etcd_port)
    assert not server.workdir.exists()


def _pin(key: str) -> str:
    for line in (kubeapi.controlplane.REPO / "hack" / "versions.env").read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1].strip()
    raise AssertionError(f"{key} not pinned in hack/versions.env")


def test_gateway_api_crds_install_at_the_pinned_version_and_validate_routes(
    apiserver: kubeapi.ApiServer,
) -> None:
    names = apiserver.install_gateway_api_crds()
    assert "httproutes.gateway.networking.k8s.io" in names
    assert "gateways.gateway.networking.k8s.io" in names
    ext = kubernetes.client.ApiextensionsV1Api(apiserver.client)
    crd = ext.read_custom_resource_definition("httproutes.gateway.networking.k8s.io")
    annotations = crd.metadata.annotations
    assert annotations["gateway.networking.k8s.io/bundle-version"] == _pin("GATEWAY_API_VERSION")
    assert annotations["gateway.networking.k8s.io/channel"] == "standard"
    assert apiserver.install_gateway_api_crds() == names  # idempotent

    ns = _namespace(apiserver.client)
    custom = kubernetes.client.CustomObjectsApi(apiserver.client)

    def route(weight: int) -> dict[str, Any]:
        backend = {"name": "svc", "port": 80, "weight": weight}
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": _name("route")},
            "spec": {
                "parentRefs": [{"name": "gw", "namespace": "kserve"}],
                "hostnames": ["a.example.com"],
                "rules": [{"backendRefs": [backend]}],
            },
        }

    args = ("gateway.networking.k8s.io", "v1", ns, "httproutes")
    created = custom.create_namespaced_custom_object(*args, route(80))
    assert created["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/"  # CRD default
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(*args, route(1_000_001))
    assert err.value.status == 422
    assert "weight" in err.value.body


def test_keda_crds_install_and_validate_scaled_objects(apiserver: kubeapi.ApiServer) -> None:
    names = apiserver.install_keda_crds()
    assert {"scaledobjects.keda.sh", "triggerauthentications.keda.sh"} <= set(names)
    assert apiserver.install_keda_crds() == names  # idempotent

    ns = _namespace(apiserver.client)
    custom = kubernetes.client.CustomObjectsApi(apiserver.client)

    def scaled_object(min_replicas: int) -> dict[str, Any]:
        return {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": _name("so")},
            "spec": {
                "scaleTargetRef": {"name": "sklearn-iris-predictor"},
                "minReplicaCount": min_replicas,
                "maxReplicaCount": 3,
                "triggers": [
                    {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "80"}}
                ],
            },
        }

    args = ("keda.sh", "v1alpha1", ns, "scaledobjects")
    created = custom.create_namespaced_custom_object(*args, scaled_object(0))
    assert created["spec"]["minReplicaCount"] == 0
    with pytest.raises(ApiException) as err:  # the CRD's own rule: min <= max
        custom.create_namespaced_custom_object(*args, scaled_object(4))
    assert err.value.status == 422
    assert "minReplicaCount must be less than or equal to maxReplicaCount" in err.value.body
