"""A CoreDNS `hosts` entry, so pods resolve a public name (github.com) to a Service of the test.

The cluster's Corefile lives in ConfigMap kube-system/coredns (key `Corefile`), as on kind and
kubeadm clusters. The entry goes into the `.:53` server block; CoreDNS pods are restarted so it
applies at once rather than after the reload plugin's next ConfigMap sync.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import kubernetes.client
from e2e_kube import wait_for

NAMESPACE = "kube-system"
CONFIG_MAP = "coredns"
POD_LABEL = "k8s-app=kube-dns"
MARK = "# kserve-e2e"


def with_host(corefile: str, *, ip: str, host: str) -> str:
    """The Corefile with `ip host` answered by a hosts plugin in the root server block."""
    if MARK in corefile:
        corefile = without_host(corefile)
    lines = corefile.splitlines()
    root = next((i for i, line in enumerate(lines) if re.match(r"^\.:53\s*\{", line)), None)
    if root is None:
        raise AssertionError(f"no `.:53 {{` server block in the Corefile:\n{corefile}")
    block = [
        f"    hosts {{ {MARK}",
        f"        {ip} {host}",
        "        fallthrough",
        f"    }} {MARK}",
    ]
    if any(re.match(r"^\s*hosts\b", line) for line in lines):
        raise AssertionError(f"the Corefile already uses the hosts plugin:\n{corefile}")
    return "\n".join([*lines[: root + 1], *block, *lines[root + 1 :]]) + "\n"


def without_host(corefile: str) -> str:
    lines = corefile.splitlines()
    start = next(i for i, line in enumerate(lines) if MARK in line)
    end = next(i for i in range(start + 1, len(lines)) if MARK in lines[i])
    return "\n".join(lines[:start] + lines[end + 1 :]) + "\n"


def add_host(api: kubernetes.client.ApiClient, *, ip: str, host: str) -> Callable[[], None]:
    """Adds the entry, restarts CoreDNS; returns the function that puts the Corefile back."""
    core = kubernetes.client.CoreV1Api(api)
    config = core.read_namespaced_config_map(CONFIG_MAP, NAMESPACE)
    original = config.data["Corefile"]
    _write(core, with_host(original, ip=ip, host=host))

    def restore() -> None:
        _write(core, original)

    return restore


def _write(core: kubernetes.client.CoreV1Api, corefile: str) -> None:
    core.patch_namespaced_config_map(CONFIG_MAP, NAMESPACE, {"data": {"Corefile": corefile}})
    before = core.list_namespaced_pod(NAMESPACE, label_selector=POD_LABEL).items
    old = {p.metadata.name for p in before}
    core.delete_collection_namespaced_pod(NAMESPACE, label_selector=POD_LABEL)

    def restarted() -> bool:
        pods = core.list_namespaced_pod(NAMESPACE, label_selector=POD_LABEL).items
        fresh = [p for p in pods if p.metadata.name not in old]
        return bool(fresh) and all(
            any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
            for p in fresh
        )

    wait_for("CoreDNS to restart with the new Corefile", restarted, timeout=120)
