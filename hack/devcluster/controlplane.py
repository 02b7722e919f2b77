"""etcd + kube-apiserver (and, for a cluster, kube-controller-manager + kube-scheduler) from the
pinned builds in bin/ (`make tools`), with the flags and certificates this project needs.

Two uses, one set of flags: the integration tests' loopback apiserver (random ports, attached
processes, data on tmpfs, no controllers) and `make cluster-up`'s control plane (the node's
address, port 6443, detached processes with pid files, the aggregation layer for
metrics-server). `make generate` runs the loopback one to read the pinned apiserver's OpenAPI.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from devcluster import audit, kubeconfig, pki
from devcluster.procs import Process

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
READY_TIMEOUT = 90.0
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
# Client certificates the cluster's components and node use, each with a kubeconfig.
CLUSTER_USERS = ("admin", "controller-manager", "scheduler", "kubelet", "kube-proxy")


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


@dataclass(frozen=True)
class Node:
    """The one node of a local cluster: with it the control plane also runs the controllers
    and trusts the kubelet, the kube-proxy and the aggregated metrics API."""

    name: str
    ip: str
    api_service_ip: str


@dataclass
class ControlPlane:
    """One control plane. Admin access is a client cert in system:masters (`kubeconfig`)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    etcd_port: int = field(default_factory=free_port)
    etcd_peer_port: int = field(default_factory=free_port)
    address: str = "127.0.0.1"
    service_cidr: str = "10.0.0.0/24"
    # False sends every list and watch to etcd, so an etcd compaction alone makes an older
    # resourceVersion 410 Gone. With the cache (as in real clusters) an apiserver restart does.
    watch_cache: bool = True
    node: Node | None = None
    # Set: processes are detached (they outlive this Python), pid files `<name>.pid` here.
    run_dir: Path | None = None
    log_dir: Path | None = None  # default: workdir
    startup_seconds: float = 0.0
    # Set: the controller's requests are audited into this file (devcluster/audit.py).
    audit_log: Path | None = None
    _procs: dict[str, Process] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        return f"https://{self.address}:{self.port}"

    @property
    def etcd_url(self) -> str:
        """etcd's client endpoint (plain HTTP on loopback), e.g. for compaction."""
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def pki_dir(self) -> Path:
        return self.workdir / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.pki_dir / "ca.crt"

    @property
    def admin_cert(self) -> Path:
        return self.pki_dir / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.pki_dir / "admin.key"

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Certificates, kubeconfigs, etcd, kube-apiserver (ready), then the controllers."""
        t0 = time.monotonic()
        binaries = {name: tool(name) for name in self._components()}
        self.write_pki()
        (self.workdir / "etcd").mkdir(mode=0o700)
        if self.audit_log is not None:
            audit.prepare(policy=self._audit_policy, log=self.audit_log)
        self._run("etcd", self._etcd_args(binaries["etcd"]))
        self._run("kube-apiserver", self._apiserver_args(binaries["kube-apiserver"]))
        self.wait_ready()
        if self.node is not None:
            self._run(
                "kube-controller-manager",
                self._controller_manager_args(binaries["kube-controller-manager"]),
            )
            self._run("kube-scheduler", self._scheduler_args(binaries["kube-scheduler"]))
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        """Stops every process, newest first. Safe to call twice; keeps the workdir."""
        for name in reversed(self._components()):
            self._process(name).stop()

    def restart_apiserver(self, *, down_seconds: float = 0.0) -> None:
        """Stops kube-apiserver, waits `down_seconds`, starts it again on the same port with the
        same certificates and etcd, and waits until it is ready."""
        self._process("kube-apiserver").stop()
        time.sleep(down_seconds)
        self._run("kube-apiserver", self._apiserver_args(tool("kube-apiserver")), append=True)
        self.wait_ready()

    def alive(self) -> dict[str, bool]:
        return {name: self._process(name).alive() for name in self._components()}

    def pids(self) -> dict[str, int]:
        """The pid of each process started (or found through its pid file)."""
        found = {name: self._process(name).pid for name in self._components()}
        return {name: pid for name, pid in found.items() if pid is not None}

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.load_cert_chain(str(self.admin_cert), str(self.admin_key))
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name in ("etcd", "kube-apiserver"):
                proc = self._process(name)
                if not proc.alive():
                    raise RuntimeError(f"{name} exited during start ({proc.log}):\n{proc.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError) as err:
                last = str(err)
            time.sleep(0.1)
        log = self._process("kube-apiserver")
        raise RuntimeError(f"kube-apiserver not ready in {timeout:.0f}s ({last}):\n{log.tail()}")

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

    # --- certificates and kubeconfigs ------------------------------------------------------

    def write_pki(self) -> None:
        ips = ["127.0.0.1"] + ([] if self.address == "127.0.0.1" else [self.address])
        certs = []
        if self.node is not None:
            ips.append(self.node.api_service_ip)
            certs = pki.cluster_certs(node_name=self.node.name, node_ip=self.node.ip)
        pki.write_all(self.pki_dir, [*pki.apiserver_certs(ips=ips), *certs])
        self.write_kubeconfig(self.kubeconfig, embed=self.node is not None)
        if self.node is not None:
            for user in CLUSTER_USERS:
                self.write_kubeconfig(self.pki_dir / f"{user}.kubeconfig", user=user, embed=True)

    def write_kubeconfig(
        self, path: Path, *, token: str | None = None, user: str = "admin", embed: bool = False
    ) -> Path:
        """A kubeconfig for this server: `user`'s client certificate, or `token`'s identity."""
        config = kubeconfig.build(
            server=self.url,
            ca=self.ca_file,
            cert=self.pki_dir / f"{user}.crt",
            key=self.pki_dir / f"{user}.key",
            token=token,
            embed=embed,
        )
        return kubeconfig.write(path, config)

    # --- processes and flags ---------------------------------------------------------------

    @property
    def _audit_policy(self) -> Path:
        return self.workdir / "audit-policy.yaml"

    def _components(self) -> list[str]:
        names = ["etcd", "kube-apiserver"]
        return names + (["kube-controller-manager", "kube-scheduler"] if self.node else [])

    def _process(self, name: str) -> Process:
        if name not in self._procs:
            logs = self.log_dir or self.workdir
            pidfile = self.run_dir / f"{name}.pid" if self.run_dir else None
            self._procs[name] = Process(name, [], logs / f"{name}.log", pidfile)
        return self._procs[name]

    def _run(self, name: str, args: list[str], *, append: bool = False) -> None:
        proc = self._process(name)
        proc.args = args
        proc.start(append=append)

    def _etcd_args(self, binary: Path) -> list[str]:
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        return [
            str(binary),
            "--name=kserve-py",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={self.etcd_url}",
            f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=kserve-py={peer}",
            "--listen-metrics-urls=",
            # throw-away data (tmpfs for tests): durability buys nothing, fsync costs
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]

    def _apiserver_args(self, binary: Path) -> list[str]:
        p = self.pki_dir
        args = [
            str(binary),
            f"--etcd-servers={self.etcd_url}",
            f"--bind-address={self.address}",
            f"--advertise-address={self.address}",
            f"--secure-port={self.port}",
            f"--cert-dir={p}",
            f"--tls-cert-file={p / 'apiserver.crt'}",
            f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={self.ca_file}",
            f"--service-account-issuer={SA_ISSUER}",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            f"--service-cluster-ip-range={self.service_cidr}",
            "--allow-privileged=true",
            "--profiling=false",
            f"--watch-cache={str(self.watch_cache).lower()}",
        ]
        if self.audit_log is not None:  # a restart appends to the same log
            args += audit.flags(policy=self._audit_policy, log=self.audit_log)
        if self.node is None:
            return [
                *args,
                "--authorization-mode=RBAC",
                # No controller-manager runs here, so nothing creates the `default`
                # ServiceAccount that this admission plugin would insist on for every Pod.
                "--disable-admission-plugins=ServiceAccount",
                "--enable-priority-and-fairness=false",
            ]
        return [
            *args,
            "--authorization-mode=Node,RBAC",
            f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
            "--kubelet-preferred-address-types=InternalIP",
            # the aggregation layer (metrics-server's APIService)
            f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={p / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={p / 'front-proxy-client.key'}",
            "--enable-aggregator-routing=true",
            "--v=1",
        ]

    def _controller_manager_args(self, binary: Path) -> list[str]:
        config = self.pki_dir / "controller-manager.kubeconfig"
        return [
            str(binary),
            f"--kubeconfig={config}",
            f"--authentication-kubeconfig={config}",
            f"--authorization-kubeconfig={config}",
            f"--service-account-private-key-file={self.pki_dir / 'sa.key'}",
            f"--root-ca-file={self.ca_file}",
            f"--cluster-signing-cert-file={self.ca_file}",
            f"--cluster-signing-key-file={self.pki_dir / 'ca.key'}",
            "--use-service-account-credentials",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--allocate-node-cidrs=false",
            "--profiling=false",
            "--v=1",
        ]

    def _scheduler_args(self, binary: Path) -> list[str]:
        config = self.pki_dir / "scheduler.kubeconfig"
        return [
            str(binary),
            f"--kubeconfig={config}",
            f"--authentication-kubeconfig={config}",
            f"--authorization-kubeconfig={config}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--profiling=false",
        ]


CP = TypeVar("CP", bound=ControlPlane)


def data_root() -> str | None:
    """tmpfs when there is one: etcd's writes then cost no disk I/O."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@contextlib.contextmanager
def running_as(
    kind: type[CP], *, watch_cache: bool = True, audit_log: Path | None = None
) -> Iterator[CP]:
    """A loopback etcd + kube-apiserver as a `kind` (e.g. a test fixture's subclass with client
    helpers); always stopped and its data removed on exit (`audit_log`, outside it, is kept)."""
    workdir = Path(tempfile.mkdtemp(prefix="kserve-py-apiserver-", dir=data_root()))
    server = kind(workdir=workdir, watch_cache=watch_cache, audit_log=audit_log)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def running(*, watch_cache: bool = True) -> contextlib.AbstractContextManager[ControlPlane]:
    """A loopback etcd + kube-apiserver; always stopped and its data removed on exit."""
    return running_as(ControlPlane, watch_cache=watch_cache)
