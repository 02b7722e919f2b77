"""Status users read with `kubectl get isvc` and `describe`: conditions, URL, modelStatus."""

from __future__ import annotations

from typing import Any

from kserve_controller import config, spec, status
from kserve_controller.errors import InvalidSpec
from kserve_controller.runtimes import Runtime

NOW = "2026-11-25T12:00:00Z"
LATER = "2026-11-25T12:05:00Z"
CFG = config.parse(None)
RUNTIME = Runtime(name="kserve-sklearnserver", kind="ClusterServingRuntime", spec={})


def isvc(status_: dict[str, Any] | None = None, **meta: Any) -> spec.Isvc:
    return spec.parse(
        {
            "metadata": {
                "name": "sklearn-iris",
                "namespace": "ml",
                "uid": "u",
                "generation": 3,
                **meta,
            },
            "spec": {
                "predictor": {
                    "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}
                }
            },
            "status": status_ or {},
        }
    )


def deployment(*conds: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": "sklearn-iris-predictor"},
        "status": {
            "conditions": [
                {"type": t, "status": s, "reason": r, "message": f"{t} {r}"} for t, s, r in conds
            ]
        },
    }


AVAILABLE = deployment(("Available", "True", "MinimumReplicasAvailable"))
INGRESS = {"metadata": {"name": "sklearn-iris"}}


def pod(
    *, init: dict[str, Any] | None = None, ready: bool = False, name: str = "p1"
) -> dict[str, Any]:
    st: dict[str, Any] = {
        "phase": "Running" if ready else "Pending",
        "conditions": [{"type": "Ready", "status": str(ready)}],
    }
    if init is not None:
        st["initContainerStatuses"] = [{"name": "storage-initializer", **init}]
    return {"metadata": {"name": name, "creationTimestamp": "2026-11-25T11:00:00Z"}, "status": st}


def compute(item: spec.Isvc, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "deployment": None,
        "ingress_obj": None,
        "pods": [],
        "runtime": RUNTIME,
        "config": CFG,
        "now": NOW,
    }
    args.update(kw)
    return status.compute(item, **args)


def conds(st: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in st["conditions"]}


def test_ready_with_url_when_deployment_available_and_ingress_exists() -> None:
    st = compute(isvc(), deployment=AVAILABLE, ingress_obj=INGRESS, pods=[pod(ready=True)])
    assert conds(st) == {"IngressReady": "True", "PredictorReady": "True", "Ready": "True"}
    assert st["url"] == "http://sklearn-iris-ml.example.com"
    assert st["address"]["url"] == "http://sklearn-iris-predictor.ml.svc.cluster.local"
    assert st["observedGeneration"] == 3
    assert st["clusterServingRuntimeName"] == "kserve-sklearnserver"
    assert st["modelStatus"]["states"] == {
        "activeModelState": "Loaded",
        "targetModelState": "Loaded",
    }
    assert st["modelStatus"]["copies"]["totalCopies"] == 1
    assert status.is_ready(st)


def test_predictor_url_is_its_own_host_not_the_isvc_url() -> None:
    # Upstream raw mode: the domain template over "<isvc>-predictor", always http.
    cfg = config.parse({"ingress": '{"urlScheme": "https", "ingressDomain": "models.test"}'})
    st = compute(isvc(), deployment=AVAILABLE, ingress_obj=INGRESS, config=cfg)
    assert st["url"] == "https://sklearn-iris-ml.models.test"
    assert st["components"]["predictor"] == {"url": "http://sklearn-iris-predictor-ml.models.test"}


def test_predictor_url_follows_a_custom_domain_template() -> None:
    cfg = config.parse(
        {"ingress": '{"domainTemplate": "{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}"}'}
    )
    st = compute(isvc(), deployment=AVAILABLE, ingress_obj=INGRESS, config=cfg)
    assert st["components"]["predictor"]["url"] == "http://sklearn-iris-predictor.ml.example.com"


def test_cluster_local_predictor_url_is_its_service_address() -> None:
    local = isvc(labels={"networking.kserve.io/visibility": "cluster-local"})
    st = compute(local, deployment=AVAILABLE)
    assert st["components"]["predictor"] == {
        "url": "http://sklearn-iris-predictor.ml.svc.cluster.local"
    }


def service(*ports: dict[str, Any], headless: bool) -> dict[str, Any]:
    spec_: dict[str, Any] = {"ports": list(ports)}
    if headless:
        spec_["clusterIP"] = "None"
    return {"metadata": {"name": "sklearn-iris-predictor"}, "spec": spec_}


def test_a_headless_entry_service_puts_its_http_target_port_in_the_address() -> None:
    # no port 80 on a headless Service: callers (an InferenceGraph's router) need the pod's port
    grpc_first = service(
        {"name": "h2c", "port": 80, "targetPort": 8081},
        {"name": "http", "port": 9000, "targetPort": 9000},
        headless=True,
    )
    st = compute(isvc(), deployment=AVAILABLE, ingress_obj=INGRESS, entry_service=grpc_first)
    assert st["address"] == {"url": "http://sklearn-iris-predictor.ml.svc.cluster.local:9000"}
    only_grpc = service({"name": "grpc", "port": 80, "targetPort": 8081}, headless=True)
    st = compute(isvc(), deployment=AVAILABLE, ingress_obj=INGRESS, entry_service=only_grpc)
    assert st["address"]["url"].endswith(".svc.cluster.local:8080")
    local = isvc(labels={"networking.kserve.io/visibility": "cluster-local"})
    plain = service({"name": "p", "port": 80, "targetPort": 8080}, headless=True)
    st = compute(local, deployment=AVAILABLE, entry_service=plain)
    assert (
        st["url"]
        == st["address"]["url"]
        == ("http://sklearn-iris-predictor.ml.svc.cluster.local:8080")
    )


def test_a_cluster_ip_entry_service_keeps_the_portless_address() -> None:
    st = compute(
        isvc(),
        deployment=AVAILABLE,
        ingress_obj=INGRESS,
        entry_service=service({"name": "p", "port": 80, "targetPort": 8080}, headless=False),
    )
    assert st["address"] == {"url": "http://sklearn-iris-predictor.ml.svc.cluster.local"}


def test_no_predictor_url_until_the_predictor_is_ready() -> None:
    st = compute(
        isvc(), deployment=deployment(("Available", "False", "MinimumReplicasUnavailable"))
    )
    assert "components" not in st


def test_not_ready_says_why() -> None:
    dep = deployment(
        ("Available", "False", "MinimumReplicasUnavailable"),
        ("Progressing", "True", "ReplicaSetUpdated"),
    )
    st = compute(isvc(), deployment=dep, ingress_obj=INGRESS)
    ready = status.condition(st, "Ready")
    assert ready is not None and ready["status"] == "False"
    assert ready["reason"] == "MinimumReplicasUnavailable"
    assert status.not_ready_reasons(st) == ["IngressReady", "PredictorReady"]


def test_ingress_waits_for_the_predictor_and_urls_come_with_it() -> None:
    starting = deployment(("Progressing", "True", "ReplicaSetUpdated"))
    st = compute(isvc(), deployment=starting)
    ingress_cond = status.condition(st, "IngressReady")
    assert ingress_cond is not None
    assert (ingress_cond["status"], ingress_cond["reason"]) == (
        "False",
        "Predictor ingress not created",
    )
    assert "url" not in st and "address" not in st
    assert status.ingress_waits_for(isvc(), deployment=starting, others={}, config=CFG) == (
        "Predictor"
    )
    assert status.ingress_waits_for(isvc(), deployment=AVAILABLE, others={}, config=CFG) is None


def test_urls_once_set_stay_while_the_predictor_rolls() -> None:
    ready = compute(isvc(), deployment=AVAILABLE, ingress_obj=INGRESS)
    rolling = deployment(("Available", "False", "MinimumReplicasUnavailable"))
    st = compute(isvc(ready), deployment=rolling, ingress_obj=INGRESS, now=LATER)
    assert conds(st)["IngressReady"] == "False"
    assert st["url"] == "http://sklearn-iris-ml.example.com"
    assert st["address"] == ready["address"]


def test_cluster_local_ingress_waits_for_nothing() -> None:
    local = isvc(labels={"networking.kserve.io/visibility": "cluster-local"})
    st = compute(local, deployment=None)
    assert conds(st)["IngressReady"] == "True"
    assert st["url"] == "http://sklearn-iris-predictor.ml.svc.cluster.local"


def test_progress_deadline_exceeded_is_false() -> None:
    dep = deployment(("Progressing", "False", "ProgressDeadlineExceeded"))
    st = compute(isvc(), deployment=dep, ingress_obj=INGRESS)
    assert status.condition(st, "PredictorReady")["reason"] == "ProgressDeadlineExceeded"  # type: ignore[index]


def test_ingress_not_needed_when_disabled() -> None:
    cfg = config.parse({"ingress": '{"disableIngressCreation": true}'})
    st = compute(isvc(), deployment=AVAILABLE, config=cfg)
    assert conds(st)["IngressReady"] == "True"
    assert conds(st)["Ready"] == "True"


def test_failed_download_shows_the_termination_message() -> None:
    failing = {
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "message": "404 Not Found: gs://b/m\n",
                "finishedAt": "2026-11-25T11:01:00Z",
            }
        },
    }
    dep = deployment(("Available", "False", "MinimumReplicasUnavailable"))
    st = compute(isvc(), deployment=dep, ingress_obj=INGRESS, pods=[pod(init=failing)])
    predictor = status.condition(st, "PredictorReady")
    assert predictor == {
        **predictor,
        "status": "False",
        "reason": "ModelLoadFailed",
        "message": "404 Not Found: gs://b/m",
    }  # type: ignore[dict-item]
    ms = st["modelStatus"]
    assert ms["transitionStatus"] == "BlockedByFailedLoad"
    assert ms["states"]["targetModelState"] == "FailedToLoad"
    assert ms["lastFailureInfo"] == {
        "location": "p1",
        "reason": "ModelLoadFailed",
        "message": "404 Not Found: gs://b/m",
        "exitCode": 1,
        "time": "2026-11-25T11:01:00Z",
    }


def test_downloading_is_loading() -> None:
    st = compute(isvc(), pods=[pod(init={"state": {"running": {}}})])
    assert st["modelStatus"]["states"]["targetModelState"] == "Loading"


def test_transition_time_is_kept_while_the_status_stays() -> None:
    first = compute(isvc(), deployment=AVAILABLE, ingress_obj=INGRESS)
    again = compute(isvc(first), deployment=AVAILABLE, ingress_obj=INGRESS, now=LATER)
    assert again == first  # nothing changed: an equal status, so no write
    broken = compute(isvc(first), deployment=None, ingress_obj=INGRESS, now=LATER)
    stamps = {c["type"]: c["lastTransitionTime"] for c in broken["conditions"]}
    assert stamps == {"IngressReady": LATER, "PredictorReady": LATER, "Ready": LATER}


def test_invalid_spec_status() -> None:
    st = status.invalid(isvc(), InvalidSpec("NoSupportingRuntime", "no runtime found"), now=NOW)
    ready = status.condition(st, "Ready")
    assert ready is not None and (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "NoSupportingRuntime",
        "no runtime found",
    )
    assert st["modelStatus"]["transitionStatus"] == "InvalidSpec"
    assert st["modelStatus"]["lastFailureInfo"]["reason"] == "NoSupportingRuntime"


def with_parts(*parts: str, **meta: Any) -> spec.Isvc:
    base = isvc(**meta)
    extras = {p: {"containers": [{"image": f"example.test/{p}:1"}]} for p in parts}
    return spec.parse(
        {
            "metadata": {"name": base.name, "namespace": base.namespace, "uid": "u", **meta},
            "spec": {"predictor": base.spec.predictor.wire(), **extras},
        }
    )


def test_transformer_not_available_keeps_ready_false_and_says_which() -> None:
    st = compute(
        with_parts("transformer"),
        deployment=AVAILABLE,
        ingress_obj=INGRESS,
        others={"transformer": deployment(("Available", "False", "MinimumReplicasUnavailable"))},
    )
    assert conds(st) == {
        "IngressReady": "False",
        "PredictorReady": "True",
        "Ready": "False",
        "TransformerReady": "False",
    }
    ingress_cond = status.condition(st, "IngressReady")
    assert ingress_cond is not None and ingress_cond["reason"] == "Transformer ingress not created"
    assert status.not_ready_reasons(st) == ["IngressReady", "TransformerReady"]
    assert status.condition(st, "Ready")["reason"] == "MinimumReplicasUnavailable"  # type: ignore[index]
    assert "transformer" not in st["components"]


def test_transformer_takes_the_address_and_gets_its_own_component_url() -> None:
    st = compute(
        with_parts("transformer", "explainer"),
        deployment=AVAILABLE,
        ingress_obj=INGRESS,
        others={"transformer": AVAILABLE, "explainer": AVAILABLE},
    )
    assert conds(st)["Ready"] == "True"
    assert conds(st)["ExplainerReady"] == "True"
    assert st["url"] == "http://sklearn-iris-ml.example.com"
    assert st["address"]["url"] == "http://sklearn-iris-transformer.ml.svc.cluster.local"
    assert st["components"]["transformer"] == {
        "url": "http://sklearn-iris-transformer-ml.example.com"
    }
    assert st["components"]["explainer"] == {"url": "http://sklearn-iris-explainer-ml.example.com"}


def test_explainer_alone_leaves_the_address_on_the_predictor() -> None:
    st = compute(
        with_parts("explainer", labels={"networking.kserve.io/visibility": "cluster-local"}),
        deployment=AVAILABLE,
        others={"explainer": None},
    )
    assert st["address"]["url"] == "http://sklearn-iris-predictor.ml.svc.cluster.local"
    assert st["url"] == st["address"]["url"]
    explainer = status.condition(st, "ExplainerReady")
    assert explainer is not None and explainer["reason"] == "DeploymentNotCreated"
    assert conds(st)["Ready"] == "False"


def test_removed_transformer_drops_its_condition() -> None:
    before = compute(
        with_parts("transformer"), deployment=AVAILABLE, ingress_obj=INGRESS, others={}
    )
    after = compute(isvc(before), deployment=AVAILABLE, ingress_obj=INGRESS, pods=[pod(ready=True)])
    assert "TransformerReady" not in conds(after)
    assert conds(after)["Ready"] == "True"


def test_a_root_image_under_run_as_non_root_says_so() -> None:
    # A custom image that runs as root, under the pod's runAsNonRoot default.
    message = "container has runAsNonRoot and image will run as root (container: kserve-container)"
    waiting = {"state": {"waiting": {"reason": "CreateContainerConfigError", "message": message}}}
    done = {"state": {"terminated": {"exitCode": 0}}}
    dep = deployment(("Available", "False", "MinimumReplicasUnavailable"))
    stuck = pod(init=done)
    stuck["status"]["containerStatuses"] = [{"name": "kserve-container", **waiting}]
    st = compute(isvc(), deployment=dep, ingress_obj=INGRESS, pods=[stuck])
    predictor = status.condition(st, "PredictorReady")
    assert predictor is not None and (predictor["status"], predictor["message"]) == (
        "False",
        message,
    )
    assert st["modelStatus"]["lastFailureInfo"]["message"] == message
