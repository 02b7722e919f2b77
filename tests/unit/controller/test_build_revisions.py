"""canaryTrafficPercent: the frozen copy of the rolled-out predictor, holds and weights."""

from __future__ import annotations

import copy
from typing import Any

from kserve_controller import build, config, runtimes, spec
from kserve_controller.build import revisions

from .conftest import DATA, load_yaml

GATEWAY = config.parse({"ingress": '{"enableGatewayApi": true}'})


def isvc(uri: str, percent: int | None) -> spec.Isvc:
    predictor: dict[str, Any] = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": uri}}
    if percent is not None:
        predictor["canaryTrafficPercent"] = percent
    raw = {
        "metadata": {"name": "iris", "namespace": "ml", "uid": "u1"},
        "spec": {"predictor": predictor},
    }
    return spec.parse(raw)


def deployed(obj: dict[str, Any], *, ready: bool, generation: int = 1) -> dict[str, Any]:
    """The Deployment as the apiserver would show it after the deployment controller."""
    out = copy.deepcopy(obj)
    out["metadata"]["generation"] = generation
    out["spec"].setdefault("replicas", 2)
    conds = [{"type": "Available", "status": "True" if ready else "False"}]
    out["status"] = {"observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
                     "conditions": conds}  # fmt: skip
    return out


def desired(obj: spec.Isvc, **observed: Any) -> build.Desired:
    assert obj.model is not None
    cluster = load_yaml(DATA / "clusterservingruntimes.yaml")
    runtime = runtimes.select(obj.model, namespaced=[], cluster=cluster)
    return build.all_objects(obj, runtime=runtime, config=GATEWAY, **observed)


def find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    return next((o for o in objs if (o["kind"], o["metadata"]["name"]) == (kind, name)), None)


def v1_running() -> dict[str, Any]:
    d = find(desired(isvc("gs://m/v1", None)).objects, "Deployment", "iris-predictor")
    assert d is not None
    return deployed(d, ready=True)


def route_backends(d: build.Desired) -> list[tuple[str, int | None]]:
    route = find(d.objects, "HTTPRoute", "iris")
    assert route is not None
    return [(b["name"], b.get("weight")) for b in route["spec"]["rules"][0]["backendRefs"]]


def test_without_a_change_everything_goes_to_the_latest() -> None:
    running = v1_running()
    d = desired(isvc("gs://m/v1", 20), latest=running)
    assert find(d.objects, "Deployment", "iris-predictor-prev") is None
    assert d.traffic == [{"tag": "latest", "revisionName": "iris-predictor",
                          "latestRevision": True, "percent": 100}]  # fmt: skip
    assert route_backends(d) == [("iris-predictor", None)]


def test_a_change_freezes_the_running_version_and_holds_the_latest_until_it_is_up() -> None:
    running = v1_running()
    d = desired(isvc("gs://m/v2", 20), latest=running)
    prev = find(d.objects, "Deployment", "iris-predictor-prev")
    assert prev is not None
    # The copy runs v1's pod template under its own app label, at v1's replicas.
    assert prev["spec"]["template"]["metadata"]["labels"]["app"] == "isvc.iris-predictor-prev"
    assert prev["spec"]["selector"] == {"matchLabels": {"app": "isvc.iris-predictor-prev"}}
    assert prev["spec"]["replicas"] == 2
    assert "gs://m/v1" in str(prev["spec"]["template"])
    svc = find(d.objects, "Service", "iris-predictor-prev")
    assert svc is not None and svc["spec"]["selector"] == {"app": "isvc.iris-predictor-prev"}
    assert ("Deployment", "iris-predictor") in d.held
    assert route_backends(d) == [("iris-predictor", None)]  # the copy is not up yet


def test_once_both_are_up_the_latest_gets_its_percent_and_zero_rolls_back() -> None:
    running = v1_running()
    first = desired(isvc("gs://m/v2", 20), latest=running)
    prev = find(first.objects, "Deployment", "iris-predictor-prev")
    assert prev is not None
    copy_up = deployed(prev, ready=True)
    new = find(desired(isvc("gs://m/v2", None)).objects, "Deployment", "iris-predictor")
    assert new is not None
    rolling = deployed(new, ready=True, generation=2)
    rolling["status"]["observedGeneration"] = 1  # not yet rolled
    d = desired(isvc("gs://m/v2", 20), latest=rolling, prev=copy_up)
    assert not d.held
    assert route_backends(d) == [("iris-predictor-prev", 100), ("iris-predictor", 0)]
    rolled = deployed(new, ready=True, generation=2)
    d = desired(isvc("gs://m/v2", 20), latest=rolled, prev=copy_up)
    assert route_backends(d) == [("iris-predictor-prev", 80), ("iris-predictor", 20)]
    assert [(t["tag"], t["percent"]) for t in d.traffic or []] == [("prev", 80), ("latest", 20)]
    back = desired(isvc("gs://m/v2", 0), latest=rolled, prev=copy_up)
    assert route_backends(back) == [("iris-predictor-prev", 100), ("iris-predictor", 0)]


def test_promotion_drops_the_copy() -> None:
    running = v1_running()
    prev = find(desired(isvc("gs://m/v2", 20), latest=running).objects, "Deployment",
                "iris-predictor-prev")  # fmt: skip
    assert prev is not None
    for promoted in (isvc("gs://m/v2", None), isvc("gs://m/v2", 100)):
        d = desired(promoted, latest=running, prev=deployed(prev, ready=True))
        assert find(d.objects, "Deployment", "iris-predictor-prev") is None
        assert route_backends(d) == [("iris-predictor", None)]


def test_revisions_percent_reads_the_predictor() -> None:
    assert revisions.percent(isvc("gs://m/v1", 30)) == 30


def test_the_latest_gets_nothing_in_the_pass_that_starts_its_rollout() -> None:
    # The copy is up and the latest still runs the old template, fully rolled out: this pass
    # updates it; its percent waits until it runs the new one (else p% would go to the old
    # version's pods while they are replaced, and LATEST would show p too early).
    running = v1_running()
    first = desired(isvc("gs://m/v2", 20), latest=running)
    prev = find(first.objects, "Deployment", "iris-predictor-prev")
    assert prev is not None
    d = desired(isvc("gs://m/v2", 20), latest=running, prev=deployed(prev, ready=True))
    assert not d.held
    assert route_backends(d) == [("iris-predictor-prev", 100), ("iris-predictor", 0)]
    assert [(t["tag"], t["percent"]) for t in d.traffic or []] == [("prev", 100), ("latest", 0)]
