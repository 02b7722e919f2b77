"""The servers under test: how each is started, when it is ready, what it costs in memory."""

import contextlib
import http.client
import json
import os
import pathlib
import signal
import subprocess
import time
from dataclasses import dataclass, field

MODEL_NAME = "iris"
# Each server gets its own ports, so all of them run side by side and the load moves from one
# to the next every few seconds: drift in the background load then hits them all alike.
PORTS = {"ours": 8080, "kserve": 8090, "mlserver": 8100, "ceiling": 8110, "ours-asyncio": 8120}
READY_TIMEOUT_S = 120.0
# Readiness is polled every 20 ms. At 5 ms, a server that listens while its model loads (ours)
# answered hundreds of probes during a start, on its own core: up to 0.6 s of CPU on a loaded
# machine, which no kubelet (one probe a second) costs it; a server that listens only once its
# model is loaded (the ceiling, upstream KServe) was refused them for free.
POLL_S = 0.02
OURS_READY = "model {model}: ready in "  # the line our server logs once a model is loaded


@dataclass(frozen=True)
class Server:
    """One server: its command line, readiness path and the endpoints it speaks."""

    name: str
    port: int
    argv: list[str]
    ready_path: str
    endpoints: tuple[str, ...]
    cwd: pathlib.Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    # A line the server logs once its model is ready: its log is watched for it before the
    # first probe. Ours listens while its model loads, so probing it every 20 ms until ready
    # would cost it CPU (hundreds of answers on a loaded machine) that the servers which listen
    # only once loaded are spared, and that no kubelet (one probe a second) costs it.
    ready_log: str | None = None


@dataclass
class Running:
    server: Server
    proc: subprocess.Popen[bytes]
    start_to_ready_s: float
    cpu_to_ready_s: float  # CPU the server's processes spent until ready: steadier than wall time
    log: pathlib.Path


def define(
    *,
    ours_bin: str,
    our_python: str,
    kserve_venv: str,
    mlserver_venv: str,
    model_dir: pathlib.Path,
    work: pathlib.Path,
    repo: pathlib.Path,
) -> list[Server]:
    """The servers, all on the same joblib, one worker each, their defaults otherwise; ours twice:
    on its default loop (uvloop) and on asyncio's (`--event-loop asyncio`), to show what the
    loop is worth."""
    both = ("v1-row", "v2-row", "v1-batch", "v2-batch")
    model = ["--model_name", MODEL_NAME, "--model_dir", str(model_dir)]
    kserve_ports = ["--http_port", str(PORTS["kserve"]), "--grpc_port", str(PORTS["kserve"] + 1)]
    mlserver_dir = _mlserver_repository(work / "mlserver", model_dir, port=PORTS["mlserver"])
    return [
        Server(
            "ours",
            PORTS["ours"],
            [ours_bin, *model, "--http_port", str(PORTS["ours"])],
            f"/v1/models/{MODEL_NAME}",
            both,
            ready_log=OURS_READY.format(model=MODEL_NAME),
        ),
        Server(
            "ours-asyncio",
            PORTS["ours-asyncio"],
            [
                ours_bin,
                *model,
                "--http_port",
                str(PORTS["ours-asyncio"]),
                "--grpc_port",
                str(PORTS["ours-asyncio"] + 1),
                "--event-loop",
                "asyncio",
            ],
            f"/v1/models/{MODEL_NAME}",
            both,
            ready_log=OURS_READY.format(model=MODEL_NAME),
        ),
        Server(
            "kserve",
            PORTS["kserve"],
            [
                f"{kserve_venv}/bin/python",
                str(repo / "bench" / "upstream_iris.py"),
                *model,
                *kserve_ports,
            ],
            f"/v1/models/{MODEL_NAME}",
            both,
        ),
        Server(
            "mlserver",
            PORTS["mlserver"],
            [f"{mlserver_venv}/bin/mlserver", "start", str(mlserver_dir)],
            f"/v2/models/{MODEL_NAME}/ready",
            ("v2-row", "v2-batch"),  # MLServer speaks only the Open Inference Protocol
            cwd=mlserver_dir,
        ),
        Server(
            "ceiling",
            PORTS["ceiling"],
            [
                our_python,
                str(repo / "bench" / "ceiling.py"),
                *model[2:],
                "--http_port",
                str(PORTS["ceiling"]),
            ],
            f"/v1/models/{MODEL_NAME}",
            both,
        ),
    ]


def _mlserver_repository(root: pathlib.Path, model_dir: pathlib.Path, *, port: int) -> pathlib.Path:
    (root / MODEL_NAME).mkdir(parents=True, exist_ok=True)
    settings = {"http_port": port, "grpc_port": port + 1, "metrics_port": port + 2}
    (root / "settings.json").write_text(json.dumps(settings))
    model = {
        "name": MODEL_NAME,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": str(model_dir / "model.joblib")},
    }
    (root / MODEL_NAME / "model-settings.json").write_text(json.dumps(model))
    return root


def start(server: Server, *, core: int, log: pathlib.Path) -> Running:
    """Starts pinned to `core`; start→ready runs from the spawn to the model's first ready 200."""
    env = {**os.environ, **server.env}
    with log.open("wb") as out:
        began = time.perf_counter()
        proc = subprocess.Popen(
            ["taskset", "-c", str(core), *server.argv],
            cwd=server.cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    while server.ready_log is not None and server.ready_log not in _read(log):
        if proc.poll() is not None or time.perf_counter() - began > READY_TIMEOUT_S:
            break  # the probes below say why
        time.sleep(POLL_S)
    while True:
        if get(server.port, server.ready_path) == 200:
            wall = time.perf_counter() - began
            return Running(server, proc, wall, cpu_seconds(proc.pid), log)
        if proc.poll() is not None or time.perf_counter() - began > READY_TIMEOUT_S:
            stop(proc)
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} never became ready; its log ends:\n{tail}")
        time.sleep(POLL_S)


def _read(log: pathlib.Path) -> str:
    try:
        return log.read_text(errors="replace")
    except OSError:
        return ""


def get(port: int, path: str, timeout: float = 0.5) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (it and its workers), SIGKILL after 15 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def memory_kib(pid: int) -> dict[str, int]:
    """RSS and PSS of the process and all its descendants (MLServer predicts in a child)."""
    pids = [pid, *_descendants(pid)]
    rss = pss = 0
    for p in pids:
        with contextlib.suppress(OSError):
            for line in pathlib.Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
            for line in pathlib.Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
    return {"rss_kib": rss, "pss_kib": pss, "processes": len(pids)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its descendants, reaped children included."""
    ticks = 0
    for p in [pid, *_descendants(pid)]:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = pathlib.Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
