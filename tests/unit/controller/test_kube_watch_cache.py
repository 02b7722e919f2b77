"""A watch's cache (kube/watch.py): what a pass reads back by namespace and labels, and what a
newer or deleted object leaves in it. No apiserver: the objects are remembered as a watch would."""

from __future__ import annotations

from typing import Any

from kserve_controller.kube.watch import Store, Watch


def deployment(namespace: str, name: str, version: str = "1", **labels: str) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {
            "namespace": namespace,
            "name": name,
            "resourceVersion": version,
            "labels": labels,
            "managedFields": [{"manager": "x"}],
        },
    }


def watch() -> Watch:
    return Watch(kube=None, kind="Deployment", handler=lambda kind, obj: None)  # type: ignore[arg-type]


def test_objects_of_one_namespace_and_labels_only() -> None:
    cache = watch()
    for ns in ("a", "b"):
        for k in range(3):
            cache.remember(deployment(ns, f"d{k}", isvc=f"i{k}"))
    assert sorted(o["metadata"]["name"] for o in cache.objects("a")) == ["d0", "d1", "d2"]
    assert [o["metadata"]["namespace"] for o in cache.objects("b", labels={"isvc": "i1"})] == ["b"]
    assert cache.objects("c") == []
    assert len(cache.objects()) == 6
    assert "managedFields" not in cache.get("a", "d0")["metadata"]  # type: ignore[index]


def test_an_older_object_never_replaces_a_newer_one_and_forget_drops_it() -> None:
    cache = watch()
    cache.remember(deployment("a", "d", version="5"))
    cache.remember(deployment("a", "d", version="4"))
    assert cache.get("a", "d")["metadata"]["resourceVersion"] == "5"  # type: ignore[index]
    cache.forget(deployment("a", "d"))
    assert cache.get("a", "d") is None
    assert cache.objects("a") == []


def test_store_keys_cluster_scoped_objects_under_the_empty_namespace() -> None:
    store = Store({("", "runtime"): {"metadata": {"name": "runtime"}}})
    store.put(("ns", "x"), {"metadata": {"name": "x"}})
    assert [key for key, _ in store.items()] == [("", "runtime"), ("ns", "x")]
    assert [o["metadata"]["name"] for o in store.values("")] == ["runtime"]
    assert len(store) == 2
    assert store.pop(("ns", "x")) == {"metadata": {"name": "x"}}
    assert store.pop(("ns", "x")) is None
    assert len(store) == 1
