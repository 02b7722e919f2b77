"""`down`: remove everything `up` made (processes, pod containers, mounts, network namespaces,
links, iptables chains, cgroups, state dirs) whether the cluster stopped cleanly or was killed.
Pulled images stay in the cache. `leftovers` names whatever is still there."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from devcluster import sh
from devcluster.layout import Layout
from devcluster.node import process

# Stopped all at once, TERM then KILL; also the pid files `check` looks for.
COMPONENTS = (
    "kube-proxy",
    "kubelet",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
    "containerd",
)
CGROUP_ROOT = Path("/sys/fs/cgroup")
STOP_SECONDS = 10.0
# the CNI portmap plugin's shared nat chains (the gateway's host port goes through them)
PORTMAP_CHAINS = ("CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ")
BUILTIN_CHAINS = ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")


def down(layout: Layout, *, kube_proxy: str | None) -> None:
    stop_components(layout)
    kill_pods(layout)
    for ns in pod_netns(layout):
        sh.run(["ip", "netns", "delete", ns], check=False)
    for target in our_mounts(layout):
        sh.run(["umount", "-l", target], check=False)
    for tree in pod_cgroups():
        for dirpath, _, _ in sorted(os.walk(tree), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)
    for link in (layout.bridge, layout.node_link):
        sh.run(["ip", "link", "delete", link], check=False)
    iptables_cleanup(layout, kube_proxy=kube_proxy)
    sh.run(["rm", "-rf", str(layout.state), str(layout.run)])


def leftovers(layout: Layout) -> list[str]:
    left = [f"pid file {c}" for c in COMPONENTS if (layout.run / f"{c}.pid").exists()]
    procs = [cmd for _, cmd in _processes() if str(layout.state) in cmd or str(layout.run) in cmd]
    left += [f"processes: {'; '.join(procs[:3])}"] if procs else []
    left += [f"mounts: {' '.join(m[:3])}"] if (m := our_mounts(layout)) else []
    left += [f"netns: {' '.join(n)}"] if (n := pod_netns(layout)) else []
    left += [f"cgroups: {' '.join(map(str, c[:2]))}"] if (c := pod_cgroups()) else []
    left += [
        f"link {link}"
        for link in (layout.bridge, layout.node_link)
        if sh.ok(["ip", "link", "show", link])
    ]
    rules = [
        line
        for line in sh.run(["iptables-save"], check=False).splitlines()
        if ":KUBE-" in line or layout.cni_network in line
    ]
    left += [f"iptables: {len(rules)} KUBE-*/{layout.cni_network} lines"] if rules else []
    nat = sh.run(["iptables", "-t", "nat", "-S"], check=False).splitlines()
    left += (
        ["iptables: the portmap plugin's idle CNI-HOSTPORT-* chains"] if portmap_idle(nat) else []
    )
    left += [f"dir {d}" for d in (layout.state, layout.run) if d.exists()]
    return left


def stop_components(layout: Layout) -> None:
    procs = [process(layout, name) for name in COMPONENTS]
    pids = [p.pid for p in procs if p.alive() and p.pid is not None]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline and any(p.alive() for p in procs):
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for p in procs:
        assert p.pidfile is not None
        p.pidfile.unlink(missing_ok=True)


def kill_pods(layout: Layout) -> None:
    """Every process in a pod cgroup, then the runc shims of our containerd."""
    for tree in pod_cgroups():
        for procs in tree.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                for member in procs.read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(member), signal.SIGKILL)
    shim = f"-address {layout.containerd_sock}"
    for pid, cmd in _processes():
        if "containerd-shim-runc-v2" in cmd and shim in cmd:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def pod_netns(layout: Layout) -> list[str]:
    """Network namespaces holding one of our pod addresses."""
    prefix = " " + layout.pod_cidr.rsplit(".", 1)[0] + "."
    names = [
        line.split()[0]
        for line in sh.run(["ip", "netns", "list"], check=False).splitlines()
        if line.startswith("cni-")
    ]
    return [
        ns for ns in names if prefix in sh.run(["ip", "-n", ns, "-4", "-o", "addr"], check=False)
    ]


def our_mounts(layout: Layout) -> list[str]:
    """Mount points under our dirs, deepest first."""
    roots = [str(layout.state), str(layout.run), str(layout.images)]
    targets = sh.run(["findmnt", "-rn", "-o", "TARGET"], check=False).splitlines()
    ours = [t for t in targets if any(t == r or t.startswith(r + "/") for r in roots)]
    return sorted(ours, reverse=True)


def pod_cgroups() -> list[Path]:
    """The kubelet's pod cgroup trees in every v1 hierarchy."""
    found = [*CGROUP_ROOT.glob("*/kubepods"), CGROUP_ROOT / "unified" / "kubepods"]
    return sorted({p for p in found if p.is_dir()})


def iptables_cleanup(layout: Layout, *, kube_proxy: str | None) -> None:
    if kube_proxy is not None and os.access(kube_proxy, os.X_OK):
        sh.run([kube_proxy, "--cleanup"], check=False)
    builtin = BUILTIN_CHAINS
    for table in ("nat", "filter", "mangle"):
        rules = sh.run(["iptables", "-t", table, "-S"], check=False).splitlines()
        # rules in built-in chains that jump to KUBE-* or to our CNI network's chains
        for rule in rules:
            words = shlex.split(rule)
            if (
                len(words) > 1
                and words[0] == "-A"
                and words[1] in builtin
                and ("-j KUBE-" in rule or layout.cni_network in rule)
            ):
                sh.run(["iptables", "-t", table, "-D", *words[1:]], check=False)
        chains = [r.split()[1] for r in rules if r.startswith("-N KUBE-")]
        for flag in ("-F", "-X"):
            for chain in chains:
                sh.run(["iptables", "-t", table, flag, chain], check=False)
    # the portmap plugin's per-pod rules (the gateway's host port) in its shared CNI-HOSTPORT-*
    # chains, then the CNI-DN-<hash> chains they jump to; a pod killed without a CNI DEL leaves them
    nat = sh.run(["iptables", "-t", "nat", "-S"], check=False).splitlines()
    hostport, dn_chains = hostport_rules(nat, layout.cni_network)
    for words in hostport:
        sh.run(["iptables", "-t", "nat", "-D", *words], check=False)
    for chain in dn_chains:
        sh.run(["iptables", "-t", "nat", "-F", chain], check=False)
        sh.run(["iptables", "-t", "nat", "-X", chain], check=False)
    # portmap never removes its shared chains: once no pod of anyone's maps a port, we do
    nat = sh.run(["iptables", "-t", "nat", "-S"], check=False).splitlines()
    if portmap_idle(nat):
        for words in portmap_jumps(nat):
            sh.run(["iptables", "-t", "nat", "-D", *words], check=False)
        for flag in ("-F", "-X"):
            for chain in PORTMAP_CHAINS:
                sh.run(["iptables", "-t", "nat", flag, chain], check=False)
    # CNI-<hash> chains the bridge plugin made for our pods (their rules carry our network name)
    nat = sh.run(["iptables", "-t", "nat", "-S"], check=False).splitlines()
    cni = sorted(
        {
            r.split()[1]
            for r in nat
            if r.startswith("-A CNI-") and layout.cni_network in r and is_cni_chain(r.split()[1])
        }
    )
    for chain in cni:
        sh.run(["iptables", "-t", "nat", "-F", chain], check=False)
        sh.run(["iptables", "-t", "nat", "-X", chain], check=False)


def portmap_idle(nat: list[str]) -> bool:
    """True if the portmap plugin's shared chains exist and map no port any more."""
    return "-N CNI-HOSTPORT-DNAT" in nat and not any(
        line.startswith("-A CNI-HOSTPORT-DNAT ") for line in nat
    )


def portmap_jumps(nat: list[str]) -> list[list[str]]:
    """The rules (as `-D` arguments) by which built-in chains jump to the portmap chains."""
    jumps = []
    for line in nat:
        words = shlex.split(line)
        builtin = len(words) > 3 and words[0] == "-A" and words[1] in BUILTIN_CHAINS
        if builtin and words[-2] == "-j" and words[-1] in PORTMAP_CHAINS:
            jumps.append(words[1:])
    return jumps


def hostport_rules(nat: list[str], network: str) -> tuple[list[list[str]], list[str]]:
    """From `iptables -t nat -S` lines: our network's rules in the portmap plugin's shared
    CNI-HOSTPORT-* chains (as `-D` arguments), and the per-pod CNI-DN-<hash> chains they jump to."""
    rules, chains = [], []
    for line in nat:
        words = shlex.split(line)
        ours = len(words) > 1 and words[0] == "-A" and network in line
        if ours and words[1].startswith("CNI-HOSTPORT-"):
            rules.append(words[1:])
            target = words[words.index("-j") + 1] if "-j" in words[:-1] else ""
            if target.startswith("CNI-DN-") and is_cni_chain("CNI-" + target[7:]):
                chains.append(target)
    return rules, sorted(set(chains))


def is_cni_chain(chain: str) -> bool:
    suffix = chain.removeprefix("CNI-")
    return bool(suffix) and all(c in "0123456789abcdef" for c in suffix)


def _processes() -> Iterator[tuple[int, str]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if cmd:
                    yield int(entry.name), cmd.strip()
