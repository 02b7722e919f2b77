"""Where the local cluster lives and its addresses: everything `up` makes is under these paths
(plus network namespaces cni-*, the links `bridge` and `node_link`, KUBE-*/CNI iptables chains),
so `down` can remove it all, and `check` can say what is left."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Layout:
    cache: Path  # ~/.cache/kserve-py, shared with hack/images (built images, tools, logs)
    run_root: Path  # /run/kserve-py: pid files and sockets of our daemons
    image_tag: str
    state: Path = Path("/var/lib/kserve-py-cluster")  # etcd, kubelet root, pki, configs
    node_name: str = "kserve-py-node"
    # on link node_link (an empty bridge): pods reach the apiserver here, nothing leaves the host
    node_ip: str = "10.250.0.1"
    node_link: str = "kservepy-node"
    bridge: str = "kservepy0"
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/16"
    api_service_ip: str = "10.96.0.1"
    dns_ip: str = "10.96.0.10"
    api_port: int = 6443
    # the gateway's host port, on loopback only (8080 is `make serve`'s and port-forward's)
    gateway_port: int = 8081
    etcd_port: int = 2479
    cni_network: str = "kserve-py"
    registry_addr: str = "127.0.0.1:5000"
    registry_name: str = "registry.kserve-py.test"  # the name charts use; containerd maps it
    image_repo: str = "kserve-py"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Layout:
        """The same places as hack/images/common.sh: XDG_CACHE_HOME, KSERVE_PY_RUN_DIR."""
        home = Path(environ.get("HOME", "/root"))
        cache = Path(environ.get("XDG_CACHE_HOME") or home / ".cache") / "kserve-py"
        versions = (REPO / "hack" / "versions.env").read_text().splitlines()
        pins = dict(v.split("=", 1) for v in versions if "=" in v and not v.startswith("#"))
        return cls(
            cache=cache,
            run_root=Path(environ.get("KSERVE_PY_RUN_DIR") or "/run/kserve-py"),
            image_tag=pins["IMAGE_TAG"],
        )

    @property
    def run(self) -> Path:
        """Sockets, pid files, containerd state (removed by down)."""
        return self.run_root / "cluster"

    @property
    def images(self) -> Path:
        """containerd's root: pulled images survive down (a cache)."""
        return self.cache / "cluster" / "containerd"

    @property
    def logs(self) -> Path:
        return self.cache / "logs" / "cluster"

    @property
    def audit_log(self) -> Path:
        """The controller's requests (devcluster/audit.py), started afresh by each `up`."""
        return self.logs / "audit.log"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def etc(self) -> Path:
        return self.state / "etc"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def gateway_address(self) -> str:
        """Where the host reaches the gateway (Traefik's hostPort)."""
        return f"127.0.0.1:{self.gateway_port}"

    @property
    def containerd_sock(self) -> Path:
        return self.run / "containerd.sock"

    def image(self, name: str) -> str:
        return f"{self.registry_name}/{self.image_repo}/{name}:{self.image_tag}"
