"""The cluster's gateway as a user reaches it: its loopback port on the host (Traefik, `make
cluster-up`), curl with the Host header of an InferenceService's URL, and steady load through it.
No port-forward."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request
from collections import Counter
from types import TracebackType
from typing import Any

from e2e_kube import Cli, tool, wait_for

IRIS_ROW = [6.8, 2.8, 4.8, 1.4]
# Traefik sees a new Ingress or route within its provider's throttle (about 2 s); doubled and more
ROUTED_WITHIN = 60.0


def address(cli: Cli) -> str | None:
    """http://127.0.0.1:<port>: the web hostPort of kube-system's traefik, as deployed."""
    found = cli.json(
        "get", "deployments", "-n", "kube-system", "-l", "app.kubernetes.io/name=traefik"
    )
    ports = [
        port
        for deployment in found["items"]
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for port in container.get("ports") or []
        if port.get("name") == "web" and port.get("hostPort")
    ]
    if not ports:
        return None
    return f"http://{ports[0].get('hostIP', '127.0.0.1')}:{int(ports[0]['hostPort'])}"


def request(url: str, *, host: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
    """`curl -s -H "Host: HOST" URL [-d BODY]` as a user types it: (HTTP status, body)."""
    argv = [tool("curl"), "-s", "-w", "\n%{http_code}", "-H", f"Host: {host}", url]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    print("$", " ".join(argv[:1] + argv[4:]), flush=True)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).stdout
    text, _, code = out.rpartition("\n")
    return int(code or 0), text


def routed(url: str, *, host: str, body: dict[str, Any] | None = None) -> Any:
    """The JSON of the first 200 answer: the gateway takes a moment to see a new route."""

    def answered() -> str | None:
        status, text = request(url, host=host, body=body)
        return text if status == 200 else None

    return json.loads(wait_for(f"{host} routed by the gateway", answered, timeout=ROUTED_WITHIN))


def predict(url: str, *, host: str) -> int:
    """One V1 prediction for IRIS_ROW (urllib: 500 of them take seconds): the class answered."""
    body = json.dumps({"instances": [IRIS_ROW]}).encode()
    headers = {"Host": host, "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return int(json.load(resp)["predictions"][0])


class SteadyLoad:
    """Predictions one after another on a thread while the block runs; every answer and every
    failure counted (none retried) under the phase set at the time."""

    def __init__(self, url: str, *, host: str) -> None:
        self.url, self.host = url, host
        self.phase = "start"
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            phase = self.phase
            try:
                self.outcomes[phase, str(predict(self.url, host=self.host))] += 1
            except Exception as err:  # counted, not retried: a user's request lost
                self.outcomes[phase, f"failed: {err}"] += 1

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def total(self) -> int:
        return sum(self.outcomes.values())

    def failed(self) -> dict[tuple[str, str], int]:
        return {k: n for k, n in self.outcomes.items() if k[1].startswith("failed")}

    def report(self) -> str:
        """Per phase: answers by class, failures."""
        phases: dict[str, dict[str, int]] = {}
        for (phase, outcome), n in self.outcomes.items():
            phases.setdefault(phase, {})[outcome] = n
        return "\n".join(f"  {phase}: {answers}" for phase, answers in phases.items())
