"""Runtime selection: what upstream users rely on when they leave `runtime` out."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_controller import runtimes
from kserve_controller.errors import InvalidSpec
from kserve_controller.spec import Model


def model(fmt: str = "sklearn", **kw: Any) -> Model:
    fields: dict[str, Any] = {
        "version": None,
        "runtime": None,
        "protocol": None,
        "storage_uri": "gs://b/m",
        "runtime_version": None,
        "container": {},
    }
    fields.update(kw)
    return Model(format=fmt, **fields)


def runtime(name: str, *formats: dict[str, Any], created: str = "", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {"supportedModelFormats": list(formats), "containers": [], **spec},
    }


SK = {"name": "sklearn", "version": "1", "autoSelect": True, "priority": 1}


def test_v1_by_default_picks_the_runtime_that_speaks_v1(cluster_runtimes: Any) -> None:
    assert runtimes.select(model(), namespaced=[], cluster=cluster_runtimes).name == (
        "kserve-sklearnserver"
    )


def test_v2_picks_the_higher_priority(cluster_runtimes: Any) -> None:
    chosen = runtimes.select(model(protocol="v2"), namespaced=[], cluster=cluster_runtimes)
    assert chosen.name == "v2-only-server"


def test_namespace_runtime_beats_cluster_runtime_of_higher_priority(
    cluster_runtimes: Any,
) -> None:
    local = runtime("mine", {"name": "sklearn", "autoSelect": True})
    chosen = runtimes.select(model(), namespaced=[local], cluster=cluster_runtimes)
    assert (chosen.name, chosen.kind) == ("mine", "ServingRuntime")


def test_version_must_match_exactly() -> None:
    cluster = [runtime("sk", SK)]
    assert runtimes.select(model(version="1"), namespaced=[], cluster=cluster).name == "sk"
    with pytest.raises(InvalidSpec) as err:
        runtimes.select(model(version="1.0"), namespaced=[], cluster=cluster)
    assert err.value.reason == "NoSupportingRuntime"
    assert "sklearn version 1.0" in err.value.message


def test_disabled_multimodel_and_not_autoselect_runtimes_are_skipped() -> None:
    cluster = [
        runtime("off", SK, disabled=True),
        runtime("mm", SK, multiModel=True),
        runtime("manual", {**SK, "autoSelect": False}),
    ]
    with pytest.raises(InvalidSpec, match="no runtime found to support model format sklearn"):
        runtimes.select(model(), namespaced=[], cluster=cluster)


def test_priority_then_newest_then_name() -> None:
    low = runtime("a-low", {**SK, "priority": 1}, created="2026-01-03T00:00:00Z")
    high = runtime("z-high", {**SK, "priority": 5}, created="2026-01-01T00:00:00Z")
    old = runtime("b-old", SK, created="2026-01-01T00:00:00Z")
    new = runtime("c-new", SK, created="2026-01-02T00:00:00Z")
    pick = runtimes.select
    assert pick(model(), namespaced=[], cluster=[low, high]).name == "z-high"
    assert pick(model(), namespaced=[], cluster=[old, new]).name == "c-new"
    same = [runtime("b", SK), runtime("a", SK)]
    assert pick(model(), namespaced=[], cluster=same).name == "a"


def test_explicit_runtime_ignores_autoselect_but_checks_the_format() -> None:
    manual = runtime("manual", {**SK, "autoSelect": False})
    chosen = runtimes.select(model(runtime="manual"), namespaced=[], cluster=[manual])
    assert chosen.name == "manual"
    with pytest.raises(InvalidSpec) as err:
        runtimes.select(model("xgboost", runtime="manual"), namespaced=[], cluster=[manual])
    assert err.value.reason == "NoSupportingRuntime"


@pytest.mark.parametrize(
    ("found", "reason"),
    [([], "RuntimeNotRecognized"), ([runtime("x", SK, disabled=True)], "RuntimeDisabled")],
)
def test_explicit_runtime_missing_or_disabled(found: list[Any], reason: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        runtimes.select(model(runtime="x"), namespaced=[], cluster=found)
    assert err.value.reason == reason
    assert "x" in err.value.message


def test_explicit_runtime_wrong_protocol() -> None:
    v2 = runtime("v2", SK, protocolVersions=["v2"])
    with pytest.raises(InvalidSpec, match="does not support protocol v1"):
        runtimes.select(model(runtime="v2"), namespaced=[], cluster=[v2])


def test_runtime_protocol_is_its_lowest() -> None:
    chosen = runtimes.Runtime(
        name="r", kind="ClusterServingRuntime", spec={"protocolVersions": ["grpc-v2", "v2"]}
    )
    assert chosen.protocol == "v2"


def test_no_runtime_lists_what_the_installed_runtimes_serve() -> None:
    cluster = [
        runtime("sk", SK, protocolVersions=["v2", "v1"]),
        runtime("tf", {"name": "tensorflow", "autoSelect": True}, protocolVersions=["grpc-v1"]),
        runtime("off", {"name": "pmml", "autoSelect": True}, disabled=True),
    ]
    with pytest.raises(InvalidSpec) as err:
        runtimes.select(model("pmml"), namespaced=[], cluster=cluster)
    assert err.value.message == (
        "no runtime found to support model format pmml with protocol v1; the installed "
        "runtimes serve sklearn [v1, v2], tensorflow [grpc-v1]; "
        "or name one in spec.predictor.model.runtime"
    )
    with pytest.raises(
        InvalidSpec, match="no ServingRuntime or ClusterServingRuntime is installed"
    ):
        runtimes.select(model("pmml"), namespaced=[], cluster=[])
