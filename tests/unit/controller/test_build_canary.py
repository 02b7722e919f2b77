"""spec.canary: replicas, weights toward ready canaries, the canary's merged predictor."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_controller import spec
from kserve_controller.build import canary
from kserve_controller.errors import InvalidSpec

MODEL = {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://m/v1"}


def isvc(*entries: dict[str, Any], min_replicas: int | None = None, ready: tuple[str, ...] = ()):
    predictor: dict[str, Any] = {"model": MODEL, "serviceAccountName": "sa"}
    if min_replicas is not None:
        predictor["minReplicas"] = min_replicas
    raw = {
        "metadata": {"name": "iris", "namespace": "ml"},
        "spec": {"predictor": predictor, "canary": list(entries)},
        "status": {"canaryStatuses": [{"name": n, "ready": True} for n in ready]},
    }
    return spec.parse(raw)


def entry(name: str, pct: int, **predictor: Any) -> dict[str, Any]:
    model = {"modelFormat": {"name": "sklearn"}, "storageUri": f"gs://m/{name}"}
    return {"trafficPercent": pct, "predictor": {"name": name, "model": model, **predictor}}


def test_no_ready_canary_sends_everything_to_the_stable_predictor() -> None:
    assert canary.weights(isvc(entry("v2", 20))) == {"iris-predictor": 100}


def test_weights_move_only_toward_ready_canaries() -> None:
    got = canary.weights(isvc(entry("v2", 20), entry("v3", 30), ready=("v3",)))
    assert got == {"iris-predictor": 70, "iris-v3-predictor": 30}


@pytest.mark.parametrize(
    ("stable", "pct", "own", "want"),
    [(None, 20, None, 1), (4, 20, None, 1), (10, 25, None, 3), (4, 50, 1, 1), (3, 0, None, 0)],
)
def test_replicas_as_upstream_sizes_them(
    stable: int | None, pct: int, own: int | None, want: int
) -> None:
    extra = {"minReplicas": own} if own is not None else {}
    obj = isvc(entry("v2", pct, **extra), min_replicas=stable)
    assert canary.replicas(obj, obj.spec.canary[0]) == want  # type: ignore[index]


def test_stable_min_replicas_shrink_by_ready_canaries_only() -> None:
    waiting = isvc(entry("v2", 50), min_replicas=4)
    assert canary.stable(waiting).spec.predictor.min_replicas == 4
    ready = isvc(entry("v2", 50), min_replicas=4, ready=("v2",))
    assert canary.stable(ready).spec.predictor.min_replicas == 2
    floor = isvc(entry("v2", 100), min_replicas=1, ready=("v2",))
    assert canary.stable(floor).spec.predictor.min_replicas == 1


def test_a_canary_is_the_stable_predictor_with_its_fields_laid_over() -> None:
    (v2,) = canary.canaries(isvc(entry("v2", 20, maxReplicas=0), min_replicas=2))
    predictor = v2.spec.predictor
    assert predictor.name == "v2"
    assert predictor.service_account_name == "sa"  # from the stable predictor
    assert v2.model is not None and v2.model.storage_uri == "gs://m/v2"
    assert predictor.min_replicas == 1 and predictor.max_replicas is None
    assert v2.spec.canary is None


def test_a_canary_that_cannot_be_laid_over_is_invalid_naming_it() -> None:
    bad = {"trafficPercent": 10, "predictor": {"name": "v2", "sklearn": {"storageUri": "gs://x"}}}
    with pytest.raises(InvalidSpec, match=r"spec.canary\[0\]"):
        canary.canaries(isvc(bad))
