"""The commands a user types (bin/kubectl, bin/helm, curl), run for real, and waits on a cluster.

Every command is echoed as `$ ...` so a failing test's captured output reads like a terminal
session; a failed command fails the test with its stderr.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
T = TypeVar("T")


def rel(path: Path) -> str:
    """PATH as typed from the repo root (where every command runs)."""
    return os.path.relpath(path, REPO)


def tool(name: str) -> str:
    """The repo's pinned kubectl/helm from bin/, or curl from PATH; fails naming what is missing."""
    pinned = BIN / name
    if name in ("kubectl", "helm"):
        if not os.access(pinned, os.X_OK):
            raise AssertionError(f"{name} not found at {pinned}: run `make tools`")
        return str(pinned)
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} not found on PATH: install it (apt-get install {name})")
    return found


@dataclass(frozen=True)
class Cli:
    kubeconfig: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def run(self, *argv: str, check: bool = True, timeout: float = 600, echo: bool = True) -> str:
        """Runs argv (argv[0] a tool name) and returns stdout; stderr goes into a failure."""
        print("$", shlex.join(argv), flush=True)
        result = subprocess.run(
            [tool(argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.env(),
            cwd=REPO,
        )
        if echo and result.stdout.strip():
            print(result.stdout.rstrip())
        if check and result.returncode != 0:
            raise AssertionError(
                f"`{shlex.join(argv)}` exited {result.returncode}:\n{result.stderr}{result.stdout}"
            )
        return result.stdout

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 600, echo: bool = True
    ) -> str:
        return self.run("kubectl", *args, check=check, timeout=timeout, echo=echo)

    def helm(self, *args: str, check: bool = True, timeout: float = 900) -> str:
        return self.run("helm", *args, check=check, timeout=timeout)

    def json(self, *args: str) -> Any:
        """`kubectl ... -o json`, parsed; not echoed (polls would flood a failure's output)."""
        return json.loads(self.kubectl(*args, "-o", "json", echo=False))


def free_port(preferred: int) -> int:
    """`preferred` if nothing listens on it on loopback, else any free port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            pass
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def port_forward(cli: Cli, namespace: str, target: str, remote: int) -> Iterator[int]:
    """`kubectl port-forward -n NS TARGET LOCAL:REMOTE` in the background; yields LOCAL.

    LOCAL is the tutorial's 8080 when free, else a free port (printed)."""
    local = free_port(8080)
    argv = ["kubectl", "port-forward", "-n", namespace, target, f"{local}:{remote}"]
    print("$", shlex.join(argv), "&", "" if local == 8080 else "# 8080 is taken here", flush=True)
    proc = subprocess.Popen(
        [tool("kubectl"), *argv[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli.env(),
        cwd=REPO,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith("Forwarding from"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(30):
            raise AssertionError(f"{shlex.join(argv)} did not start:\n" + "\n".join(lines))
        yield local
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        print("\n".join(f"  [port-forward] {line}" for line in lines))


def curl(cli: Cli, *args: str) -> Any:
    """The tutorial's `curl -s ...`, its body parsed as JSON (the failure shows the raw body)."""
    body = cli.run("curl", *args, timeout=60)
    try:
        return json.loads(body)
    except json.JSONDecodeError as err:
        raise AssertionError(f"curl did not return JSON: {body!r}") from err


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float, every: float = 1) -> T:
    """Polls probe() until it returns something other than None/False; fails naming `what`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value is not None and value is not False:
                return value
        except Exception as err:  # a transient API error while polling is not the failure
            last_error = err
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}") from (
                last_error
            )
        time.sleep(every)


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def diagnose(cli: Cli, namespace: str) -> str:
    """What someone debugging a failed step wants: objects, events, controller and pod logs."""
    out: list[str] = []
    steps = [
        (
            "kubectl",
            "get",
            "inferenceservice,deploy,rs,pods,svc,hpa,cm",
            "-n",
            namespace,
            "-o",
            "wide",
        ),
        ("kubectl", "describe", "inferenceservice", "-n", namespace),
        ("kubectl", "describe", "pods", "-n", namespace),
        ("kubectl", "get", "events", "-n", namespace, "--sort-by=.lastTimestamp"),
        (
            "kubectl",
            "logs",
            "-n",
            namespace,
            "--all-containers",
            "--prefix",
            "--tail=50",
            "-l",
            "component=predictor",
        ),
        (
            "kubectl",
            "logs",
            "-n",
            "kserve",
            "-l",
            "app=kserve-controller",
            "-c",
            "kserve-controller",
            "--tail=80",
        ),
    ]
    for argv in steps:
        result = subprocess.run(
            [tool(argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=cli.env(),
        )
        out.append(f"$ {shlex.join(argv)}\n{result.stdout}{result.stderr}")
    return "\n".join(out)


# Tries to create a file in each directory given; prints {dir: "writable" | the error}.
WRITE_PROBE = """\
import json, os, sys
def probe(d):
    path = os.path.join(d, ".kserve-write-probe")
    try:
        open(path, "w").close()
    except OSError as err:
        return err.strerror
    os.unlink(path)
    return "writable"
print(json.dumps({d: probe(d) for d in sys.argv[1:]}))
"""


def writable(
    cli: Cli, namespace: str, target: str, *dirs: str, container: str | None = None
) -> dict[str, str]:
    """Which of `dirs` the running process of `target` (pod/x, deploy/x) can write in:
    `kubectl exec` with the image's python3, as that container's user."""
    pick = ["-c", container] if container else []
    args = ["exec", "-n", namespace, target, *pick, "--", "python3", "-c", WRITE_PROBE, *dirs]
    return dict(json.loads(cli.kubectl(*args, echo=False)))
