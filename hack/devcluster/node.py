"""The node of the local cluster: its network, containerd (images from our registry), kubelet
and kube-proxy. Configuration is rendered by pure functions; the rest starts processes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from devcluster import sh
from devcluster.layout import Layout
from devcluster.procs import Process

ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def process(layout: Layout, name: str) -> Process:
    """A component of the cluster, detached, with its pid file and log."""
    return Process(name, [], layout.logs / f"{name}.log", layout.run / f"{name}.pid")


def start(layout: Layout, name: str, args: list[str]) -> Process:
    proc = process(layout, name)
    proc.args = args
    proc.start()
    return proc


# --- network -------------------------------------------------------------------------------


def cni_config(layout: Layout) -> str:
    return (
        json.dumps(
            {
                "cniVersion": "0.4.0",
                "name": layout.cni_network,
                "plugins": [
                    {
                        "type": "bridge",
                        "bridge": layout.bridge,
                        "isGateway": True,
                        "ipMasq": True,
                        "hairpinMode": True,
                        "ipam": {
                            "type": "host-local",
                            "dataDir": str(layout.state / "cni" / "ipam"),
                            "ranges": [[{"subnet": layout.pod_cidr}]],
                            "routes": [{"dst": "0.0.0.0/0"}],
                        },
                    },
                    {"type": "portmap", "capabilities": {"portMappings": True}},
                ],
            },
            indent=2,
        )
        + "\n"
    )


def network(layout: Layout) -> None:
    # an empty bridge holds the node address: the "dummy" driver is not built into this kernel
    sh.run(["ip", "link", "add", layout.node_link, "type", "bridge"])
    sh.run(["ip", "addr", "add", f"{layout.node_ip}/32", "dev", layout.node_link])
    sh.run(["ip", "link", "set", layout.node_link, "up"])
    (layout.etc / "cni" / "net.d").mkdir(parents=True, exist_ok=True)
    (layout.state / "cni" / "ipam").mkdir(parents=True, exist_ok=True)
    conflist = layout.etc / "cni" / "net.d" / f"10-{layout.cni_network}.conflist"
    conflist.write_text(cni_config(layout))


# --- containerd ----------------------------------------------------------------------------


def containerd_config(layout: Layout) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    run = layout.run
    return f"""version = 2
root = "{layout.images}"
state = "{run / "containerd"}"
[grpc]
  address = "{layout.containerd_sock}"
[ttrpc]
  address = "{layout.containerd_sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[{cri}]
  sandbox_image = "{layout.image("pause")}"
  stream_server_address = "127.0.0.1"
  enable_cdi = false
  # kubelet asks for oom_score_adj -998 for sandboxes; this machine refuses lowering it
  restrict_oom_score_adj = true
  [{cri}.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{layout.etc / "cni" / "net.d"}"
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{run / "runc"}"
  [{cri}.registry]
    config_path = "{layout.etc / "certs.d"}"
"""


def registry_hosts(layout: Layout, host: str) -> str:
    return f"""# {host}: the local registry (hack/images/registry.sh), plain http on loopback
server = "http://{layout.registry_addr}"
[host."http://{layout.registry_addr}"]
  capabilities = ["pull", "resolve"]
"""


def containerd(layout: Layout) -> None:
    layout.images.mkdir(parents=True, exist_ok=True)
    for host in (layout.registry_name, layout.registry_addr):
        (layout.etc / "certs.d" / host).mkdir(parents=True, exist_ok=True)
        (layout.etc / "certs.d" / host / "hosts.toml").write_text(registry_hosts(layout, host))
    config = layout.etc / "containerd.toml"
    config.write_text(containerd_config(layout))
    proc = start(layout, "containerd", ["/usr/bin/containerd", "--config", str(config)])
    ctr = ["ctr", "--address", str(layout.containerd_sock)]
    sh.wait_for("containerd", 30, lambda: sh.ok([*ctr, "version"]), alive=proc)
    # The socket answers before the CRI plugin has recovered its state; a kubelet started in
    # that window exits with "server is not initialized yet" (seen in CI). The CRI service logs
    # this line last before it marks itself initialized.
    sh.wait_for(
        "containerd's CRI service",
        30,
        lambda: "Start streaming server" in proc.log.read_text(errors="replace"),
        alive=proc,
    )


def refresh_images(layout: Layout) -> int:
    """Drops cached images of ours whose tag now points elsewhere in the registry; returns how
    many. containerd's root is a cache that survives `down`, and our tags stay the same while
    their content changes: with IfNotPresent the node would run a stale build. An image whose
    digest still matches is kept (no pull); a changed one is pulled again on use."""
    ctr = ["ctr", "--address", str(layout.containerd_sock), "-n", "k8s.io", "images"]
    stale = 0
    for ref, digest in cached_images(sh.run([*ctr, "ls"], check=False), layout.registry_name):
        repo, _, tag = ref.removeprefix(f"{layout.registry_name}/").rpartition(":")
        if registry_digest(layout, repo, tag) != digest:
            sh.run([*ctr, "rm", ref], check=False)
            stale += 1
    return stale


def cached_images(listing: str, registry: str) -> list[tuple[str, str]]:
    """(ref, digest) of our registry's tagged images in `ctr images ls` output."""
    found = []
    for line in listing.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 3 and cols[0].startswith(f"{registry}/") and "@" not in cols[0]:
            found.append((cols[0], cols[2]))
    return found


def registry_digest(layout: Layout, repo: str, tag: str) -> str | None:
    url = f"http://{layout.registry_addr}/v2/{repo}/manifests/{tag}"
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            digest: str | None = resp.headers.get("Docker-Content-Digest")
            return digest
    except (urllib.error.URLError, OSError):
        return None


def registry_has(layout: Layout, name: str) -> bool:
    return registry_digest(layout, f"{layout.image_repo}/{name}", layout.image_tag) is not None


# --- kubelet and kube-proxy ----------------------------------------------------------------


def kubelet_config(layout: Layout) -> str:
    pki = layout.pki
    return f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {layout.node_ip}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://{layout.containerd_sock}
authentication:
  anonymous: {{enabled: false}}
  x509: {{clientCAFile: {pki / "ca.crt"}}}
  webhook: {{enabled: true}}
authorization: {{mode: Webhook}}
clusterDomain: cluster.local
clusterDNS: [{layout.dns_ip}]
resolvConf: {layout.etc / "resolv.conf"}
failSwapOn: false
staticPodPath: ""
serializeImagePulls: false
evictionHard: {{memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
tlsCertFile: {pki / "kubelet.crt"}
tlsPrivateKeyFile: {pki / "kubelet.key"}
"""


def kubelet(layout: Layout, binary: str, kubectl: list[str]) -> None:
    config = layout.etc / "kubelet.yaml"
    config.write_text(kubelet_config(layout))
    # pods with dnsPolicy Default (CoreDNS) get no upstream: nothing leaves this machine
    (layout.etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    args = [
        binary,
        "--config",
        str(config),
        "--kubeconfig",
        str(layout.pki / "kubelet.kubeconfig"),
        "--root-dir",
        str(layout.state / "kubelet"),
        "--cert-dir",
        str(layout.pki),
        "--hostname-override",
        layout.node_name,
        "--node-ip",
        layout.node_ip,
        "--v=1",
    ]
    for attempt in (1, 2, 3):
        proc = start(layout, "kubelet", args)
        time.sleep(2)
        # the CRI may still refuse in the first moments (see containerd()): then start again
        if proc.alive() or "not initialized yet" not in proc.tail(200) or attempt == 3:
            break
        print(f"[cluster] kubelet: containerd's CRI was not ready yet, starting again ({attempt})")
        time.sleep(1)
    jsonpath = '{.status.conditions[?(@.type=="Ready")].status}'
    sh.wait_for(
        f"node {layout.node_name} to be Ready",
        120,
        lambda: (
            sh.run(
                [*kubectl, "get", "node", layout.node_name, "-o", f"jsonpath={jsonpath}"],
                check=False,
            )
            == "True"
        ),
        alive=proc,
    )


def kube_proxy_config(layout: Layout) -> str:
    return f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {{kubeconfig: {layout.pki / "kube-proxy.kubeconfig"}}}
mode: iptables
clusterCIDR: {layout.pod_cidr}
hostnameOverride: {layout.node_name}
bindAddress: {layout.node_ip}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [{layout.node_ip}/32]
conntrack: {{maxPerCore: 0}}
iptables: {{localhostNodePorts: false}}
"""


def kube_proxy(layout: Layout, binary: str) -> None:
    config = layout.etc / "kube-proxy.yaml"
    config.write_text(kube_proxy_config(layout))
    start(layout, "kube-proxy", [binary, "--config", str(config)])
