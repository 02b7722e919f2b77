"""The loop done properly: restarts write nothing, 410 relists, one leader at a time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from controller_env import NAMESPACE, Installed, free_port, isvc, make_available, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

KINDS = ["Deployment", "Service", "HorizontalPodAutoscaler", "Ingress"]


async def _versions(admin: Kube, ns: str, names: list[str]) -> dict[str, str]:
    out = {}
    for name in names:
        obj = await admin.get("InferenceService", ns, name)
        assert obj is not None
        out[f"isvc/{name}"] = obj["metadata"]["resourceVersion"]
        for kind in KINDS:
            child = await admin.get(kind, ns, name if kind == "Ingress" else f"{name}-predictor")
            assert child is not None, (kind, name)
            out[f"{kind}/{name}"] = child["metadata"]["resourceVersion"]
    return out


async def test_restarted_controller_writes_nothing(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    names = [f"r{i}" for i in range(5)]
    first = await start_controller()
    for name in names:
        await admin.create(isvc(name, namespace))
    for name in names:  # the Ingress waits for the predictor to be ready
        deploy = f"{name}-predictor"
        await wait_for(lambda d=deploy: admin.get("Deployment", namespace, d), what=deploy)
        await make_available(admin, namespace, deploy)
    for name in names:
        await wait_for(lambda n=name: admin.get("Ingress", namespace, n), what=f"ingress {name}")
    await first.settled()
    assert first.writes() > 0
    before = await _versions(admin, namespace, names)
    await first.stop()

    second = await start_controller()
    await second.settled()
    assert second.writes() == 0
    assert await _versions(admin, namespace, names) == before
    # A resync (the periodic full pass) writes nothing either.
    second.manager.resync()
    await asyncio.sleep(0.2)
    await asyncio.wait_for(second.manager.wait_idle(), 30)
    assert second.writes() == 0


async def test_compacted_watch_relists_and_converges(
    start_controller: Any, admin: Kube, namespace: str, installed: Installed
) -> None:
    # Without leader election: the apiserver is down longer than a renew deadline here.
    running = await start_controller(leader_elect=False)
    await admin.create(isvc("before", namespace))
    await wait_for(lambda: admin.get("Deployment", namespace, "before-predictor"), what="deploy")
    await running.settled()
    relists = _relists(running)
    # Advance and compact etcd, then drop every watch: they resume from a compacted version.
    await admin.create(isvc("filler", f"{namespace}"))
    # Called in this thread on purpose: the apiserver dies with the thread that started it.
    installed.apiserver.compact_etcd()
    installed.apiserver.restart_apiserver()
    await admin.create(isvc("after", namespace))
    await wait_for(
        lambda: admin.get("Deployment", namespace, "after-predictor"), what="deploy", timeout=60
    )
    await wait_for(lambda: _relists(running) > relists, what="a relist")
    # ... and says so in /metrics, by kind, as the chaos suite's scenario 4 reads it
    gone = running.manager.metrics.registry.get_sample_value(
        "kserve_controller_watch_relists_total", {"kind": "InferenceService"}
    )
    assert gone is not None and gone >= 1


def _spawn(installed: Installed, identity: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KUBECONFIG": str(installed.kubeconfig),
        "POD_NAMESPACE": NAMESPACE,
        "POD_NAME": identity,
        "KSERVE_CONTROLLER_HEALTH_HOST": "127.0.0.1",
        "KSERVE_CONTROLLER_HEALTH_PORT": str(free_port()),
        "KSERVE_CONTROLLER_METRICS_HOST": "127.0.0.1",
        "KSERVE_CONTROLLER_METRICS_PORT": str(free_port()),
        "KSERVE_CONTROLLER_LEASE_NAME": "failover-test",
        "KSERVE_CONTROLLER_LEASE_DURATION_SECONDS": "4",
        "KSERVE_CONTROLLER_RENEW_DEADLINE_SECONDS": "3",
        "KSERVE_CONTROLLER_RETRY_PERIOD_SECONDS": "0.5",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kserve_controller"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


async def test_two_controllers_one_leader_and_failover(
    admin: Kube, namespace: str, installed: Installed, tmp_path: Path
) -> None:
    logs = {name: tmp_path / f"{name}.log" for name in ("ctl-a", "ctl-b")}
    procs = {name: _spawn(installed, name, log) for name, log in logs.items()}
    try:

        async def holder() -> str | None:
            lease = await admin.get("Lease", NAMESPACE, "failover-test")
            return ((lease or {}).get("spec") or {}).get("holderIdentity") or None

        leader = await wait_for(holder, what="a leader", timeout=60)
        standby = next(n for n in procs if n != leader)
        await admin.create(isvc("led", namespace))
        await wait_for(
            lambda: admin.get("Deployment", namespace, "led-predictor"), what="deploy", timeout=60
        )
        assert await holder() == leader

        # A crash (no graceful release): the standby takes over within the lease time.
        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait(10)
        # Lease 4 s: the bound is generous because other work shares this machine.
        await wait_for(lambda: _is(holder, standby), what=f"{standby} leads", timeout=30)
        await admin.create(isvc("after-failover", namespace))
        await wait_for(
            lambda: admin.get("Deployment", namespace, "after-failover-predictor"),
            what="deploy by the new leader",
            timeout=60,
        )
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError(f"{name} did not stop on SIGTERM") from None
            if proc.returncode not in (0, -signal.SIGKILL):
                err = logs[name].read_text(errors="replace")[-3000:]
                raise AssertionError(f"{name} exited {proc.returncode}:\n{err}")


async def _is(probe: Any, want: str) -> bool:
    return bool(await probe() == want)


async def test_health_and_metrics_endpoints(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    import aiohttp

    running = await start_controller()
    await admin.create(isvc("m", namespace))
    await wait_for(lambda: admin.get("Deployment", namespace, "m-predictor"), what="deploy")
    await running.settled()
    conf = running.manager.settings
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/readyz"):
            async with http.get(f"http://127.0.0.1:{conf.health_port}{path}") as resp:
                assert resp.status == 200, path
        async with http.get(f"http://127.0.0.1:{conf.metrics_port}/metrics") as resp:
            text = await resp.text()
    for name in (
        'kserve_controller_reconcile_total{result="success"}',
        "kserve_controller_reconcile_duration_seconds_count",
        "kserve_controller_queue_depth 0.0",
        'kserve_controller_api_writes_total{kind="Deployment",verb="apply"} 1.0',
        "kserve_controller_leader 1.0",
    ):
        assert name in text, name


def _relists(running: Any) -> int:
    return sum(w.relists for w in running.manager.primary_watches("InferenceService"))
