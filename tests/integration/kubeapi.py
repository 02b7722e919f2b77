"""A real kube-apiserver backed by a real etcd on loopback, for integration tests.

What controller-runtime's envtest gives Go projects: the binaries come from `make tools`
(repo bin/), certificates are generated here, data lives on tmpfs when there is one.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubeapi_pki
import kubernetes.client

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"


class ToolMissingError(RuntimeError):
    """A binary from `make tools` is not there."""


def tool(name: str) -> Path:
    path = BIN / name
    if not os.access(path, os.X_OK):
        raise ToolMissingError(f"{name} not found at {path}: run `make tools`")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # If pytest itself is killed, the kernel kills the servers too: no stray etcd.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (only calls prctl, no locks)
        )


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _data_root() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@dataclass
class ApiServer:
    """One etcd + kube-apiserver pair. Admin access is a client cert in system:masters."""

    workdir: Path
    port: int = field(default_factory=free_port)
    etcd_port: int = field(default_factory=free_port)
    etcd_peer_port: int = field(default_factory=free_port)
    # False sends every list and watch to etcd, so compact_etcd() alone makes an older
    # resourceVersion 410 Gone. With the cache (as in real clusters) restart_apiserver() does.
    watch_cache: bool = True
    startup_seconds: float = 0.0
    _etcd: subprocess.Popen[bytes] | None = None
    _apiserver: subprocess.Popen[bytes] | None = None
    _client: kubernetes.client.ApiClient | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def etcd_url(self) -> str:
        """etcd's client endpoint (plain HTTP on loopback), e.g. for compaction."""
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "pki" / "ca.crt"

    @property
    def admin_cert(self) -> Path:
        return self.workdir / "pki" / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.workdir / "pki" / "admin.key"

    @property
    def client(self) -> kubernetes.client.ApiClient:
        """A `kubernetes` ApiClient with admin rights (one per session)."""
        if self._client is None:
            self._client = self.api_client()
        return self._client

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        t0 = time.monotonic()
        apiserver, etcd = tool("kube-apiserver"), tool("etcd")
        kubeapi_pki.write_all(self.workdir / "pki")
        self.write_kubeconfig(self.kubeconfig)
        (self.workdir / "etcd").mkdir(mode=0o700)
        self._etcd = _start(self._etcd_args(etcd), self.workdir / "etcd.log")
        self._start_apiserver(apiserver)
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        """Stops both servers and removes all their data. Safe to call twice."""
        if self._client is not None:
            self._client.close()
            self._client = None
        _stop(self._apiserver)
        _stop(self._etcd)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def restart_apiserver(self, *, down_seconds: float = 0.0) -> None:
        """Stops kube-apiserver, waits `down_seconds`, starts it again on the same port with the
        same certificates and etcd, and waits until it is ready."""
        _stop(self._apiserver)
        time.sleep(down_seconds)
        self._start_apiserver(tool("kube-apiserver"))

    def _start_apiserver(self, binary: Path) -> None:
        log = self.workdir / "kube-apiserver.log"
        self._apiserver = _start(self._apiserver_args(binary), log)
        self._wait_ready(log)

    def _etcd_args(self, binary: Path) -> list[str]:
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        return [
            str(binary),
            "--name=default",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={self.etcd_url}",
            f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--unsafe-no-fsync",  # test data on tmpfs: durability buys nothing, fsync costs
            "--log-level=warn",
        ]

    def _apiserver_args(self, binary: Path) -> list[str]:
        pki = self.workdir / "pki"
        return [
            str(binary),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'serving.crt'}",
            f"--tls-private-key-file={pki / 'serving.key'}",
            f"--client-ca-file={self.ca_file}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={SA_ISSUER}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            # No controller-manager runs here, so nothing creates the `default` ServiceAccount
            # that this admission plugin would insist on for every Pod.
            "--disable-admission-plugins=ServiceAccount",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            f"--watch-cache={str(self.watch_cache).lower()}",
        ]

    def _wait_ready(self, log: Path) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.load_cert_chain(str(self.admin_cert), str(self.admin_key))
        deadline = time.monotonic() + READY_TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            if self._apiserver is None or self._apiserver.poll() is not None:
                raise RuntimeError(f"kube-apiserver exited during start:\n{_tail(log)}")
            if self._etcd is None or self._etcd.poll() is not None:
                raise RuntimeError(f"etcd exited:\n{_tail(self.workdir / 'etcd.log')}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError) as err:
                last = str(err)
            time.sleep(0.1)
        raise RuntimeError(f"kube-apiserver not ready in {READY_TIMEOUT}s ({last}):\n{_tail(log)}")

    # --- clients ---------------------------------------------------------------------------

    def api_client(self, *, token: str | None = None) -> kubernetes.client.ApiClient:
        """A new `kubernetes` ApiClient: admin, or the identity of `token` when given."""
        config = kubernetes.client.Configuration(host=self.url)
        _configure(config, self, token=token)
        return kubernetes.client.ApiClient(config)

    def asyncio_configuration(self, *, token: str | None = None) -> Any:
        """A `kubernetes_asyncio.client.Configuration` for this server: admin, or `token`'s
        identity. Use it as `kubernetes_asyncio.client.ApiClient(configuration=...)`."""
        from kubernetes_asyncio import client as aclient

        config = aclient.Configuration(host=self.url)
        _configure(config, self, token=token)
        return config

    def write_kubeconfig(self, path: Path, *, token: str | None = None) -> Path:
        """A kubeconfig file for this server: admin, or `token`'s identity."""
        user: dict[str, str] = (
            {"token": token}
            if token
            else {"client-certificate": str(self.admin_cert), "client-key": str(self.admin_key)}
        )
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "test",
                    "cluster": {"server": self.url, "certificate-authority": str(self.ca_file)},
                }
            ],
            "users": [{"name": "test", "user": user}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
            "current-context": "test",
        }
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path

    def service_account_token(
        self, namespace: str, name: str, *, expiration_seconds: int = 3600
    ) -> str:
        """Mints a bound token for an existing ServiceAccount (TokenRequest API)."""
        core = kubernetes.client.CoreV1Api(self.client)
        request = kubernetes.client.AuthenticationV1TokenRequest(
            spec=kubernetes.client.V1TokenRequestSpec(
                audiences=[SA_ISSUER], expiration_seconds=expiration_seconds
            )
        )
        resp = core.create_namespaced_service_account_token(name, namespace, request)
        return str(resp.status.token)

    # --- etcd ------------------------------------------------------------------------------

    def etcd_revision(self) -> int:
        body = self._etcd_call("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})
        return int(body["header"]["revision"])

    def compact_etcd(self) -> int:
        """Compacts etcd to its current revision and returns it. A watch or list from an older
        resourceVersion then gets 410 Gone, as after a long disconnect in a real cluster: at
        once with `watch_cache=False`; with the watch cache, after `restart_apiserver()` (the
        cache keeps recent history in memory and a restart drops it)."""
        revision = self.etcd_revision()
        self._etcd_call("/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision

    def _etcd_call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(
            self.etcd_url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body: dict[str, Any] = json.load(resp)
        return body


def _configure(config: Any, server: ApiServer, *, token: str | None) -> None:
    config.ssl_ca_cert = str(server.ca_file)
    if token:
        config.api_key = {"authorization": token}
        config.api_key_prefix = {"authorization": "Bearer"}
    else:
        config.cert_file = str(server.admin_cert)
        config.key_file = str(server.admin_key)


@contextlib.contextmanager
def running(*, watch_cache: bool = True) -> Iterator[ApiServer]:
    """Starts etcd + kube-apiserver; always stops both and removes their data on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="kserve-py-apiserver-", dir=_data_root()))
    server = ApiServer(workdir=workdir, watch_cache=watch_cache)
    try:
        server.start()
        yield server
    finally:
        server.stop()
