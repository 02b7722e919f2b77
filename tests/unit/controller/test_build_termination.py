"""A serving pod stops without failing a request: a preStop pause on each container, a grace
period that covers the pause and the model server's drain; the user's own choices kept."""

from __future__ import annotations

from kserve_controller.build import termination, workload
from kserve_controller.spec import Scaling

PAUSE = {"preStop": {"sleep": {"seconds": termination.PRESTOP_SECONDS}}}


def test_every_container_pauses_and_the_grace_period_covers_pause_and_drain() -> None:
    pod = termination.graceful({"containers": [{"name": "kserve-container"}, {"name": "agent"}]})
    assert [c["lifecycle"] for c in pod["containers"]] == [PAUSE, PAUSE]
    assert pod["terminationGracePeriodSeconds"] == 35
    assert termination.GRACE_SECONDS == termination.PRESTOP_SECONDS + termination.DRAIN_SECONDS


def test_init_containers_do_not_pause() -> None:
    pod = termination.graceful(
        {"containers": [{"name": "c"}], "initContainers": [{"name": "storage-initializer"}]}
    )
    assert "lifecycle" not in pod["initContainers"][0]


def test_the_users_hooks_are_kept() -> None:
    own = {"preStop": {"exec": {"command": ["/bin/drain"]}}}
    started = {"postStart": {"exec": {"command": ["/bin/warm"]}}}
    pod = termination.graceful(
        {"containers": [{"name": "a", "lifecycle": own}, {"name": "b", "lifecycle": started}]}
    )
    assert pod["containers"][0]["lifecycle"] == own
    assert pod["containers"][1]["lifecycle"] == {**started, **PAUSE}


def test_a_shorter_grace_period_of_the_users_shortens_the_pause_and_zero_drops_it() -> None:
    short = termination.graceful(
        {"containers": [{"name": "c"}], "terminationGracePeriodSeconds": 2}
    )
    assert short["terminationGracePeriodSeconds"] == 2
    assert short["containers"][0]["lifecycle"] == {"preStop": {"sleep": {"seconds": 2}}}
    now = termination.graceful({"containers": [{"name": "c"}], "terminationGracePeriodSeconds": 0})
    assert "lifecycle" not in now["containers"][0]


def test_the_input_is_not_changed() -> None:
    pod = {"containers": [{"name": "c"}]}
    termination.graceful(pod)
    assert pod == {"containers": [{"name": "c"}]}


def test_every_workloads_deployment_is_graceful() -> None:
    meta = {"name": "w", "namespace": "ns"}
    work = workload.Workload(
        metadata=meta, object_metadata=meta, app="isvc.w", pod={"containers": [{"name": "c"}]},
        scaling=Scaling(),
    )  # fmt: skip
    pod = workload.deployment(work, rollout=None)["spec"]["template"]["spec"]
    assert pod["containers"][0]["lifecycle"] == PAUSE
    assert pod["terminationGracePeriodSeconds"] == termination.GRACE_SECONDS
