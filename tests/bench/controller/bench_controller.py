"""`make bench-controller`: the controller at scale on the loopback apiserver.

N InferenceServices (1,000 by default; `make bench-controller SCALE=10000`) across N/100
namespaces are created as fast as the apiserver takes them; we report the time until all their
Deployments exist, apply→Deployment latencies (under that load, and one at a time on an idle
controller while all N exist), the controller's RSS (and its growth per InferenceService), the
writes the apiserver saw while nothing changed (its own request counters; Lease and Event writes
not counted; a no-op server-side apply counts), how long each full resync of the N took (from
the controller's own reconcile counter), and a controller restart with the N in place: time to
ready, time until every one was reconciled again, and the writes it made. Results go to
bench/results/.

Usage: python tests/bench/controller/bench_controller.py [--count N] [--idle-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
sys.path[:0] = [
    str(REPO / "hack"),
    str(REPO / "tests" / "integration"),
    str(REPO / "tests" / "integration" / "controller"),
]

import controller_env  # noqa: E402
import kubeapi  # noqa: E402

from kserve_controller.kube.client import Kube, _Call  # noqa: E402

RESULTS = REPO / "bench" / "results"
WRITE_VERBS = {"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION"}
# Leases and Events are not counted (the goal says so); endpoints are the apiserver's own.
NOT_COUNTED = {"leases", "events", "endpoints", "endpointslices"}
_RECONCILES = re.compile(r'^kserve_controller_reconcile_total\{result="success"\} (\S+)$', re.M)
_METRIC = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")


async def writes(admin: Kube) -> dict[str, float]:
    """Write requests the apiserver has served so far, by verb/resource (Leases, Events out)."""
    text = await _metrics(admin)
    out: dict[str, float] = {}
    for line in text.splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if labels.get("verb") in WRITE_VERBS and labels.get("resource") not in NOT_COUNTED:
            key = f"{labels['verb']} {labels.get('resource')}/{labels.get('subresource', '')}"
            out[key] = out.get(key, 0.0) + float(match.group("value"))
    return out


async def _metrics(admin: Kube) -> str:
    response = await admin._send(_Call("GET", "/metrics"))  # text, not JSON
    try:
        return (await response.read()).decode()
    finally:
        response.release()


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of `pid` in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    kb = lambda k: float(fields[k].strip().split()[0])  # noqa: E731
    return kb("VmRSS") / 1024, kb("VmHWM") / 1024


class Controller:
    """The controller process and its health and metrics ports."""

    def __init__(self, installed: controller_env.Installed, log: Path, *, resync: float) -> None:
        self.health_port = controller_env.free_port()
        self.metrics_port = controller_env.free_port()
        self.started = time.perf_counter()
        self.proc = spawn(
            installed, log, resync=resync, health=self.health_port, metrics=self.metrics_port
        )

    def ready(self) -> bool:
        return _get(self.health_port, "/readyz")[0] == 200

    def reconciles(self) -> float:
        """Successful reconcile passes so far, every kind (the controller's own counter)."""
        status, text = _get(self.metrics_port, "/metrics")
        if status != 200:
            return 0.0
        match = _RECONCILES.search(text)
        return float(match.group(1)) if match else 0.0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def _get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError:
        return 0, ""
    finally:
        conn.close()


async def resyncs(controller: Controller, *, count: int, seconds: float) -> list[float]:
    """Watches the reconcile counter for `seconds`, sampled every 0.25 s: each full resync is a
    run of growth that reaches `count` more passes; its length in seconds, for every one seen."""
    samples: list[tuple[float, float]] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        samples.append((time.perf_counter(), await asyncio.to_thread(controller.reconciles)))
        await asyncio.sleep(0.25)
    durations = []
    k = 1
    while k < len(samples):
        if samples[k][1] > samples[k - 1][1]:  # a resync starts between k-1 and k
            began, base = samples[k - 1]
            done = next((t for t, n in samples[k:] if n >= base + count), None)
            if done is None:
                break  # not finished within the window
            durations.append(done - began)
            k = next(i for i, (t, _) in enumerate(samples) if t >= done) + 1
            continue
        k += 1
    return durations


def spawn(
    installed: controller_env.Installed, log: Path, *, resync: float, health: int, metrics: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KUBECONFIG": str(installed.kubeconfig),
        "POD_NAMESPACE": controller_env.NAMESPACE,
        "POD_NAME": "bench",
        "KSERVE_CONTROLLER_HEALTH_HOST": "127.0.0.1",
        "KSERVE_CONTROLLER_HEALTH_PORT": str(health),
        "KSERVE_CONTROLLER_METRICS_HOST": "127.0.0.1",
        "KSERVE_CONTROLLER_METRICS_PORT": str(metrics),
        "KSERVE_CONTROLLER_RESYNC_SECONDS": str(resync),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "kserve-controller")], env=env, stderr=out, stdout=out
        )


class DeploymentClock:
    """When each predictor Deployment was first seen, from a watch of all namespaces."""

    def __init__(self, admin: Kube) -> None:
        from kserve_controller.kube.watch import Watch

        self.seen: dict[tuple[str, str], float] = {}
        self.changed = asyncio.Event()
        self.watch = Watch(
            admin, "Deployment", label_selector="serving.kserve.io/inferenceservice",
            handler=self._on,
        )  # fmt: skip

    def _on(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        key = (meta["namespace"], meta["labels"]["serving.kserve.io/inferenceservice"])
        self.seen.setdefault(key, time.perf_counter())
        self.changed.set()

    async def until(self, keys: list[tuple[str, str]], *, limit: float) -> None:
        deadline = time.perf_counter() + limit
        while not all(k in self.seen for k in keys):
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{sum(k in self.seen for k in keys)} of {len(keys)} seen")
            await asyncio.wait_for(self.changed.wait(), left)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(  # noqa: PLR0915 (one scenario, read top to bottom)
    count: int, namespaces: int, idle_seconds: float, sequential: int, resync: float
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-controller-"))
    load_at_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with kubeapi.running() as server:
        installed = controller_env.install(server, workdir)
        admin = await Kube.connect(kubeconfig=str(installed.admin_kubeconfig))
        # The loopback apiserver's service range is a /24: headless Services need no IP.
        await admin.patch(
            "ConfigMap",
            controller_env.NAMESPACE,
            "inferenceservice-config",
            {"data": {"service": json.dumps({"serviceClusterIPNone": True})}},
        )
        names = [f"bench-{i}" for i in range(namespaces)]
        for ns in names:
            await admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        controller = Controller(installed, workdir / "controller.log", resync=resync)
        proc = controller.proc
        clock = DeploymentClock(admin)
        watch_task = asyncio.create_task(clock.watch.run())
        try:
            await asyncio.wait_for(clock.watch.synced.wait(), 30)
            await asyncio.sleep(3)  # controller up and leading
            rss_before = rss_mb(proc.pid)[0]
            created: dict[tuple[str, str], float] = {}
            gate = asyncio.Semaphore(32)

            async def create(i: int) -> None:
                ns, name = names[i % namespaces], f"isvc-{i}"
                async with gate:
                    created[(ns, name)] = time.perf_counter()
                    await admin.create(controller_env.isvc(name, ns))

            cpu0 = cpu_seconds(proc.pid)
            api_pid = server.pids().get("kube-apiserver", proc.pid)
            api_cpu0 = cpu_seconds(api_pid)
            t0 = time.perf_counter()
            await asyncio.gather(*(create(i) for i in range(count)))
            submitted = time.perf_counter() - t0
            await clock.until(list(created), limit=900)
            all_exist = max(clock.seen[k] for k in created) - t0
            burst_cpu = cpu_seconds(proc.pid) - cpu0
            api_cpu = cpu_seconds(api_pid) - api_cpu0
            burst = [clock.seen[k] - created[k] for k in created]
            rss_after_burst = rss_mb(proc.pid)

            # One at a time on an idle controller.
            await asyncio.sleep(5)
            idle_latencies = []
            for i in range(sequential):
                key = (names[0], f"seq-{i}")
                start = time.perf_counter()
                await admin.create(controller_env.isvc(key[1], key[0]))
                await clock.until([key], limit=60)
                idle_latencies.append(clock.seen[key] - start)
                await asyncio.sleep(0.2)

            # Idle: nothing changes; count the writes the apiserver serves meanwhile, and time
            # each full resync (every `resync` seconds) from the reconcile counter.
            await asyncio.sleep(10)
            before = await writes(admin)
            resync_seconds = await resyncs(controller, count=count, seconds=idle_seconds)
            after = await writes(admin)
            idle_writes = _difference(before, after)
            rss_now, rss_peak = rss_mb(proc.pid)

            # Restart with all of them in place: ready, every one reconciled, writes made.
            controller.stop()
            before = await writes(admin)
            reconciled = float(count + sequential)
            controller = Controller(installed, workdir / "controller.log", resync=resync)
            proc = controller.proc
            restart_ready = restart_done = None
            while time.perf_counter() - controller.started < 300:
                now = time.perf_counter() - controller.started
                if restart_ready is None and await asyncio.to_thread(controller.ready):
                    restart_ready = now
                if await asyncio.to_thread(controller.reconciles) >= reconciled:
                    restart_done = now
                    break
                await asyncio.sleep(0.25)
            await asyncio.sleep(10)  # anything the passes left queued
            restart_writes = _difference(before, await writes(admin))
            rss_restart = rss_mb(proc.pid)[0]
        finally:
            watch_task.cancel()
            controller.stop()
            await admin.close()
        return {
            "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "load_average": load_at_start,
            "inference_services": count,
            "namespaces": namespaces,
            "submit_seconds": round(submitted, 2),
            "all_deployments_exist_seconds": round(all_exist, 2),
            "burst_latency_ms": {
                "p50": round(pct(burst, 0.5) * 1000, 1),
                "p99": round(pct(burst, 0.99) * 1000, 1),
            },
            "burst_cpu_seconds": {
                "controller": round(burst_cpu, 1),
                "apiserver": round(api_cpu, 1),
            },
            "idle_latency_ms": {
                "n": sequential,
                "p50": round(statistics.median(idle_latencies) * 1000, 1),
                "p99": round(pct(idle_latencies, 0.99) * 1000, 1),
            },
            "rss_mb": {
                "before": round(rss_before, 1),
                "after_burst": round(rss_after_burst[0], 1),
                "end": round(rss_now, 1),
                "peak": round(rss_peak, 1),
                "after_restart": round(rss_restart, 1),
            },
            "rss_kb_per_isvc": round((rss_now - rss_before) * 1024 / (count + sequential), 1),
            "idle_seconds": idle_seconds,
            "idle_writes": sum(idle_writes.values()),
            "idle_writes_by_resource": idle_writes,
            "resync_every_seconds": resync,
            "resync_seconds": [round(d, 1) for d in resync_seconds],
            "restart": {
                "ready_seconds": None if restart_ready is None else round(restart_ready, 1),
                "all_reconciled_seconds": None if restart_done is None else round(restart_done, 1),
                "writes": sum(restart_writes.values()),
                "writes_by_resource": restart_writes,
            },
            "goals": GOALS,
        }


GOALS = (
    "10,000: all Deployments <= 150 s; idle p50 <= 50 ms; RSS <= 500 MB; "
    "a full resync 0 writes within 60 s; a restart 0 writes, ready within 60 s"
)


def _difference(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after if after[k] - before.get(k, 0.0)}


def report(result: dict[str, Any]) -> str:
    r = result
    idle, burst, rss, cpu, restart = (
        r["idle_latency_ms"],
        r["burst_latency_ms"],
        r["rss_mb"],
        r["burst_cpu_seconds"],
        r["restart"],
    )
    rows = [
        ("time until all Deployments exist",
         f"{r['all_deployments_exist_seconds']} s (the creates took {r['submit_seconds']} s)",
         "<= 150 s"),
        (f"apply -> Deployment, idle controller, all others in place (n={idle['n']})",
         f"p50 {idle['p50']} ms, p99 {idle['p99']} ms", "p50 <= 50 ms"),
        ("apply -> Deployment during the burst",
         f"p50 {burst['p50']} ms, p99 {burst['p99']} ms", ""),
        ("CPU during the burst",
         f"controller {cpu['controller']} s, apiserver {cpu['apiserver']} s", ""),
        ("controller RSS",
         f"{rss['end']} MB at the end ({rss['before']} MB before the creates; "
         f"{r['rss_kb_per_isvc']} KB per InferenceService), peak {rss['peak']} MB", "<= 500 MB"),
        (f"API writes in {r['idle_seconds']:.0f} idle s (resyncs included)",
         f"{r['idle_writes']:.0f}", "0"),
        (f"full resync of all (every {r['resync_every_seconds']:.0f} s), each",
         ", ".join(f"{d} s" for d in r["resync_seconds"]) or "none finished in the window",
         "<= 60 s, 0 writes"),
        ("controller restart: ready, every one reconciled",
         f"{restart['ready_seconds']} s, {restart['all_reconciled_seconds']} s", "ready <= 60 s"),
        ("controller restart: API writes", f"{restart['writes']:.0f}", "0"),
    ]  # fmt: skip
    lines = [
        "# Controller benchmark (loopback kube-apiserver + etcd, this machine)",
        "",
        f"Run {r['when']}: {r['inference_services']} InferenceServices in {r['namespaces']} "
        "namespaces, created 32 at a time; the controller runs as a process with the chart's "
        "RBAC; headless Services (the test apiserver's service range is a /24). Lease and "
        "Event writes are not counted. The machine is shared with other work: load average "
        f"{r['load_average']} at the start. Goals (issue 21, at 10,000): {r['goals']}.",
        "",
        "| measure | result | goal |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, help="default: one per 100 InferenceServices")
    parser.add_argument("--idle-seconds", type=float, default=300.0)
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--resync-seconds", type=float, help="default: a third of the idle time")
    args = parser.parse_args()
    namespaces = args.namespaces or max(1, args.count // 100)
    resync = args.resync_seconds or args.idle_seconds / 3
    result = asyncio.run(run(args.count, namespaces, args.idle_seconds, args.sequential, resync))
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = report(result)
    stamp = result["when"].replace("-", "").replace(":", "")
    for name in ("controller-latest", f"controller-{stamp}"):
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / f"{name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
