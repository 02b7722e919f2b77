"""The engine's decisions: what to write, which keys an event concerns, how a pass ends.

decide/differs and the key maps are pure. A pass is run against a small in-memory store that
answers the five calls the engine makes (get, apply, status, delete, event); the real
apiserver is the integration suite's (tests/integration/controller).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from kserve_controller.config import ControllerConfig
from kserve_controller.controllers.inferencegraph import graphs_naming
from kserve_controller.controllers.inferenceservice import (
    InferenceServiceController,
    account_users,
    runtime_users,
)
from kserve_controller.decide import decide, differs, digest
from kserve_controller.engine import (
    REJECTED,
    Context,
    Controller,
    Engine,
    Event,
    ObjectKey,
    Observed,
    Plan,
    by_label,
    invalid_from_validation,
)
from kserve_controller.errors import InvalidSpec, NotServed, Transient, Waiting
from kserve_controller.kube import errors as kube_errors
from kserve_controller.kube.events import Recorder
from kserve_controller.kube.watch import Watch
from kserve_controller.reads import Reads

Obj = dict[str, Any]
UID = "uid-1"


def deployment(name: str = "a-predictor", *, owner: str | None = UID, **spec: Any) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "labels": {"app": name}}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "kind": "InferenceService", "name": "a"}]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def observed_as(desired: Obj, version: str = "7", **extra_spec: Any) -> Obj:
    obj = copy.deepcopy(desired)
    obj["metadata"]["resourceVersion"] = version
    obj["metadata"]["uid"] = "d-1"
    obj["spec"].update(extra_spec)
    return obj


# -- differs / decide --------------------------------------------------------------------


def test_differs_is_false_when_observed_holds_every_field_we_set() -> None:
    want = deployment(replicas=2)
    have = observed_as(want, progressDeadlineSeconds=600)  # a default the apiserver adds
    assert not differs(want, have, owner_uid=UID, last=None)


def test_differs_when_missing_not_ours_or_changed() -> None:
    want = deployment(replicas=2)
    assert differs(want, None, owner_uid=UID, last=None)
    theirs = observed_as(deployment(replicas=2, owner="other"))
    assert differs(want, theirs, owner_uid=UID, last=None)
    assert differs(want, observed_as(want, replicas=3), owner_uid=UID, last=None)


def test_differs_trusts_our_last_apply_while_nobody_touched_the_object() -> None:
    want = deployment(replicas=2, paused=False)
    have = observed_as(want, "9")
    del have["spec"]["paused"]  # the apiserver dropped a field (a gate that is off, say)
    assert differs(want, have, owner_uid=UID, last=None)
    assert not differs(want, have, owner_uid=UID, last=(digest(want), "9"))
    # Someone wrote it since (another resourceVersion): compare again.
    assert differs(want, have, owner_uid=UID, last=(digest(want), "8"))


def test_decide_creates_updates_skips_holds_and_deletes_only_what_we_own() -> None:
    new = deployment("new")
    same = deployment("same")
    edited = deployment("edited", replicas=1)
    held = {**deployment("ingress"), "kind": "Ingress"}
    plan = Plan(
        [new, same, edited, held],
        unwanted=[("HorizontalPodAutoscaler", "ours"), ("HorizontalPodAutoscaler", "theirs")],
    )
    observed = {
        ("Deployment", "new"): None,
        ("Deployment", "same"): observed_as(same),
        ("Deployment", "edited"): observed_as(edited, replicas=5),
        ("Ingress", "ingress"): None,
        ("HorizontalPodAutoscaler", "ours"): deployment("ours"),
        ("HorizontalPodAutoscaler", "theirs"): deployment("theirs", owner="someone-else"),
    }
    held = {("Ingress", "ingress")}
    actions = decide(plan.objects, plan.unwanted, observed, owner_uid=UID, applied={}, held=held)
    assert actions.create == [new]
    assert actions.update == [edited]
    assert actions.delete == [("HorizontalPodAutoscaler", "ours")]
    assert actions.held == [("Ingress", "ingress")]
    assert actions.summary() == (
        "Created Deployment new; Updated Deployment edited; Deleted HorizontalPodAutoscaler ours"
    )


def test_decide_on_a_cluster_that_matches_does_nothing() -> None:
    want = deployment()
    plan = Plan([want], unwanted=[("Ingress", "a")])
    actions = decide(
        plan.objects,
        plan.unwanted,
        {("Deployment", "a-predictor"): observed_as(want), ("Ingress", "a"): None},
        owner_uid=UID,
        applied={},
        held=set(),
    )
    assert not actions
    assert actions.summary() == "nothing to change"


def test_invalid_from_validation_names_the_field() -> None:
    class Spec(BaseModel):
        minReplicas: int  # noqa: N815 (the CRD's field name)

    with pytest.raises(ValidationError) as caught:
        Spec.model_validate({"minReplicas": "many"})
    err = invalid_from_validation(caught.value, reason="InvalidPredictorSpec")
    assert err.reason == "InvalidPredictorSpec"
    assert err.message.startswith("spec.minReplicas: ")


# -- which keys an event concerns ----------------------------------------------------------


def cache_of(kind: str, *objs: Obj) -> Watch:
    watch = Watch(None, kind, handler=lambda kind, obj: None)  # type: ignore[arg-type]
    for obj in objs:
        watch.remember(copy.deepcopy(obj))
    watch.synced.set()
    return watch


MODEL = {"model": {"modelFormat": {"name": "sklearn"}}}


def isvc_obj(name: str, namespace: str = "ns", *, status: Obj | None = None, **spec: Any) -> Obj:
    return {
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
        "spec": {"predictor": MODEL, **spec},
        "status": status or {},
    }


def ready(**extra: Any) -> Obj:
    return {"conditions": [{"type": "Ready", "status": "True"}], **extra}


def reads_with(*watches: Watch) -> Reads:
    reads = Reads(None)  # type: ignore[arg-type]
    for watch in watches:
        reads.add(watch)
    return reads


def test_owned_objects_map_to_their_owner_by_label() -> None:
    keys = by_label("serving.kserve.io/inferenceservice")
    labelled = {"metadata": {"name": "x-predictor", "namespace": "ns", "labels": {
        "serving.kserve.io/inferenceservice": "x"}}}  # fmt: skip
    assert list(keys(labelled, reads_with())) == [ObjectKey("ns", "x")]
    assert list(keys({"metadata": {"name": "y", "namespace": "ns"}}, reads_with())) == []
    sources = InferenceServiceController.owned_sources()
    kinds = ["Deployment", "Service", "HorizontalPodAutoscaler", "ScaledObject", "Ingress",
             "HTTPRoute"]  # fmt: skip
    assert [s.kind for s in sources] == kinds
    assert {s.label_selector for s in sources} == {"serving.kserve.io/inferenceservice"}
    # A cluster without the Gateway API or KEDA CRDs must not keep the controller from starting.
    assert [s.kind for s in sources if not s.wait] == ["ScaledObject", "HTTPRoute"]


def test_a_runtime_concerns_the_isvcs_it_serves_and_those_not_ready() -> None:
    reads = reads_with(
        cache_of(
            "InferenceService",
            isvc_obj("served", status=ready(servingRuntimeName="rt")),
            isvc_obj("other", status=ready(servingRuntimeName="else")),
            isvc_obj("pending"),
            isvc_obj("elsewhere", "ns2"),
            isvc_obj("cluster", status=ready(clusterServingRuntimeName="rt")),
        )
    )
    runtime = {"metadata": {"name": "rt", "namespace": "ns"}}
    assert sorted(k.name for k in runtime_users(runtime, reads)) == ["pending", "served"]
    cluster_runtime = {"metadata": {"name": "rt"}}
    assert sorted(k.name for k in runtime_users(cluster_runtime, reads)) == [
        "cluster",
        "elsewhere",
        "pending",
    ]


def test_a_service_account_concerns_the_isvcs_whose_components_run_as_it() -> None:
    reads = reads_with(
        cache_of(
            "InferenceService",
            isvc_obj("default-sa"),
            isvc_obj("models-sa", predictor={**MODEL, "serviceAccountName": "models"}),
            isvc_obj(
                "transformer-sa",
                transformer={"serviceAccountName": "models", "containers": [{}]},
            ),
        )
    )
    account = {"metadata": {"name": "models", "namespace": "ns"}}
    assert sorted(k.name for k in account_users(account, reads)) == [
        "models-sa",
        "transformer-sa",
    ]
    default = {"metadata": {"name": "default", "namespace": "ns"}}
    assert [k.name for k in account_users(default, reads)] == ["default-sa", "transformer-sa"]


def test_an_isvc_concerns_the_graphs_of_its_namespace_that_name_it() -> None:
    def graph(name: str, namespace: str, *services: str) -> Obj:
        steps = [{"serviceName": s} for s in services]
        return {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": steps}}},
        }

    reads = reads_with(
        cache_of(
            "InferenceGraph",
            graph("g1", "ns", "a", "b"),
            graph("g2", "ns", "b"),
            graph("g3", "ns2", "a"),
        )
    )
    assert [k.name for k in graphs_naming(isvc_obj("a"), reads)] == ["g1"]
    assert sorted(k.name for k in graphs_naming(isvc_obj("b"), reads)) == ["g1", "g2"]


def test_reads_come_from_a_synced_cache_that_covers_the_namespace() -> None:
    in_ns = cache_of("ServiceAccount", {"metadata": {"name": "sa", "namespace": "ns"}})
    in_ns.namespace = "ns"
    reads = reads_with(in_ns)
    assert reads.known("ServiceAccount", "ns", "sa") is not None
    assert reads.cached("ServiceAccount", "other") == []
    assert asyncio.run(reads.get("ServiceAccount", "ns", "missing")) is None  # no GET


# -- how a pass ends -----------------------------------------------------------------------


class Store:
    """The apiserver calls the engine makes, in memory: enough to see what a pass wrote."""

    def __init__(self, *objs: Obj) -> None:
        self.objects = {self._key(o): copy.deepcopy(o) for o in objs}
        self.events: list[Obj] = []
        self.writes: list[str] = []
        self.refuse: set[str] = set()  # kinds the "apiserver" answers 422 for
        self.version = 10

    @staticmethod
    def _key(obj: Obj) -> tuple[str, str, str]:
        meta = obj["metadata"]
        return (obj["kind"], meta.get("namespace", ""), meta["name"])

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        found = self.objects.get((kind, namespace or "", name))
        return copy.deepcopy(found) if found is not None else None

    async def apply(self, obj: Obj) -> Obj:
        if obj["kind"] in self.refuse:
            raise kube_errors.Invalid(422, f"{obj['kind']} is invalid: spec.x: Required value")
        self.version += 1
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(self.version)
        self.objects[self._key(obj)] = stored
        self.writes.append(f"apply {obj['kind']} {obj['metadata']['name']}")
        return copy.deepcopy(stored)

    async def apply_status(self, kind: str, namespace: str, name: str, status: Obj) -> Obj:
        obj = self.objects[(kind, namespace, name)]
        obj["status"] = copy.deepcopy(status)
        self.writes.append(f"status {kind} {name}")
        return copy.deepcopy(obj)

    async def delete(self, kind: str, namespace: str | None, name: str) -> bool:
        self.writes.append(f"delete {kind} {name}")
        return self.objects.pop((kind, namespace or "", name), None) is not None

    async def create(self, obj: Obj) -> Obj:
        self.events.append(obj)
        return obj


class Toy(Controller):
    """A controller whose plan is set by the test."""

    kind = "InferenceService"
    spoken = "toy"
    owner_label = "toy"
    owned = ("Deployment",)
    outcome: Exception | None = None

    async def plan(self, obj: Obj) -> Plan:
        if self.outcome is not None:
            raise self.outcome
        return Plan([deployment("a-predictor", replicas=1)], unwanted=[("Ingress", "a")])

    def status(self, obj: Obj, plan: Plan, observed: Observed) -> Obj:
        return {"made": sorted(name for (_, name), o in observed.items() if o is not None)}

    def invalid_status(self, obj: Obj, err: NotServed) -> Obj:
        return {"reason": err.reason, "message": err.message}

    def announce(self, obj: Obj, old: Obj, new: Obj) -> list[Event]:
        return [Event("Normal", "Changed", "status changed")]


def toy_engine(store: Store, outcome: Exception | None = None) -> tuple[Engine, Toy]:
    ctx = Context(
        kube=store,  # type: ignore[arg-type]
        reads=Reads(store),  # type: ignore[arg-type]
        recorder=Recorder(store),  # type: ignore[arg-type]
        config=ControllerConfig(),
        now=lambda: "2026-01-01T00:00:00Z",
    )
    toy = Toy(ctx)
    toy.outcome = outcome
    return Engine(toy, workers=1), toy


def primary() -> Obj:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "a", "namespace": "ns", "uid": UID, "resourceVersion": "1"},
        "spec": {},
    }


KEY = ObjectKey("ns", "a")


def reasons(store: Store) -> list[tuple[str, str]]:
    return [(e["type"], e["reason"]) for e in store.events]


def test_a_pass_applies_writes_status_and_the_next_pass_writes_nothing() -> None:
    store = Store(primary())
    engine, _ = toy_engine(store)
    assert asyncio.run(engine.reconcile(KEY)) is None
    assert store.writes == ["apply Deployment a-predictor", "status InferenceService a"]
    assert store.objects[("InferenceService", "ns", "a")]["status"] == {"made": ["a-predictor"]}
    assert reasons(store) == [("Normal", "Created"), ("Normal", "Changed")]
    store.writes.clear()
    asyncio.run(engine.reconcile(KEY))
    assert store.writes == []


def test_a_deleted_object_forgets_what_was_applied() -> None:
    store = Store(primary())
    engine, _ = toy_engine(store)
    asyncio.run(engine.reconcile(KEY))
    assert KEY in engine.applied
    del store.objects[("InferenceService", "ns", "a")]
    assert asyncio.run(engine.reconcile(KEY)) is None
    assert KEY not in engine.applied


def test_invalid_spec_is_said_in_status_with_a_warning_and_not_retried() -> None:
    store = Store(primary())
    engine, _ = toy_engine(store, InvalidSpec("NoSupportingRuntime", "no runtime for tf"))
    assert asyncio.run(engine.reconcile(KEY)) is None
    status = store.objects[("InferenceService", "ns", "a")]["status"]
    assert status == {"reason": "NoSupportingRuntime", "message": "no runtime for tf"}
    assert ("Warning", "NoSupportingRuntime") in reasons(store)
    assert not any(w.startswith("apply") for w in store.writes)


def test_waiting_is_said_in_status_with_a_normal_event_and_retried_in_30s() -> None:
    store = Store(primary())
    engine, _ = toy_engine(store, Waiting("ServiceNotFound", "InferenceService b not found"))
    assert asyncio.run(engine.reconcile(KEY)) == 30.0
    assert ("Normal", "ServiceNotFound") in reasons(store)
    assert store.objects[("InferenceService", "ns", "a")]["status"]["reason"] == "ServiceNotFound"


def test_transient_requeues_after_its_delay_or_fails_the_pass_for_backoff() -> None:
    store = Store(primary())
    engine, _ = toy_engine(store, Transient("apiserver busy", delay=5.0))
    assert asyncio.run(engine.reconcile(KEY)) == 5.0
    engine, _ = toy_engine(store, Transient("apiserver busy"))
    with pytest.raises(Transient):
        asyncio.run(engine.reconcile(KEY))
    assert store.writes == []


def test_an_owned_object_the_apiserver_refuses_becomes_a_condition_with_its_message() -> None:
    store = Store(primary())
    store.refuse.add("Deployment")
    engine, _ = toy_engine(store)
    assert asyncio.run(engine.reconcile(KEY)) is None
    status = store.objects[("InferenceService", "ns", "a")]["status"]
    assert status["reason"] == REJECTED
    assert "Deployment a-predictor" in status["message"]
    assert "spec.x: Required value" in status["message"]
    assert ("Warning", REJECTED) in reasons(store)
