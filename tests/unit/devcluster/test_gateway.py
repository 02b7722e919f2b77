"""The local cluster's gateway: the class names it serves, its rendered manifest, and what
`down` removes of the portmap plugin's rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from devcluster import gateway, teardown
from devcluster.controlplane import ToolMissingError
from devcluster.layout import Layout


def test_serves_the_class_names_the_chart_defaults_to() -> None:
    classes = gateway.chart_classes(gateway.CHART_VALUES.read_text())
    assert classes == gateway.Classes(ingress="istio", gateway="envoy")


def test_manifest_renders_with_every_placeholder_filled(tmp_path: Path) -> None:
    layout = Layout(cache=tmp_path, run_root=tmp_path, image_tag="9.9.9")
    text = gateway.render(layout, gateway.Classes(ingress="ing", gateway="gw"))
    assert "@" not in "".join(line for line in text.splitlines() if not line.startswith("#"))
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}
    assert docs["IngressClass", "ing"]["spec"]["controller"] == "traefik.io/ingress-controller"
    assert docs["GatewayClass", "gw"]["spec"]["controllerName"] == "traefik.io/gateway-controller"
    pod = docs["Deployment", "traefik"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.kserve-py.test/kserve-py/traefik:9.9.9"
    assert "--providers.kubernetesingress.ingressclass=ing" in container["args"]
    # the host port is on loopback only
    web = next(p for p in container["ports"] if p["name"] == "web")
    assert (web["hostIP"], web["hostPort"]) == ("127.0.0.1", layout.gateway_port)
    assert layout.gateway_address == f"127.0.0.1:{layout.gateway_port}"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_traefik_may_not_write_what_it_only_reads() -> None:
    text = gateway.render(
        Layout(cache=Path("/c"), run_root=Path("/r"), image_tag="1"),
        gateway.Classes(ingress="i", gateway="g"),
    )
    role = next(d for d in yaml.safe_load_all(text) if d and d["kind"] == "ClusterRole")
    writes = {
        resource
        for rule in role["rules"]
        if set(rule["verbs"]) - {"get", "list", "watch"}
        for resource in rule["resources"]
    }
    assert writes and all(r.endswith("/status") for r in writes)
    assert all(set(rule["verbs"]) <= {"get", "list", "watch", "update"} for rule in role["rules"])


def test_missing_crds_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError, match="make tools"):
        gateway.crd_files(tmp_path)


def test_answers_is_false_when_nothing_listens() -> None:
    assert not gateway.answers("http://127.0.0.1:9/")


def test_down_removes_the_portmap_rules_of_our_pods_only() -> None:
    nat = [
        "-N CNI-HOSTPORT-DNAT",
        "-N CNI-DN-1a2b3c4d5e6f70819a2b3",
        "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"kserve-py\\" id: \\"a\\""'
        " -m multiport --dports 8081 -j CNI-DN-1a2b3c4d5e6f70819a2b3",
        '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"other\\" id: \\"x\\""'
        " -m multiport --dports 9000 -j CNI-DN-ffffffffffffffffffff0",
        "-A CNI-DN-1a2b3c4d5e6f70819a2b3 -d 127.0.0.1/32 -p tcp -m tcp --dport 8081"
        " -j DNAT --to-destination 10.244.0.5:80",
    ]
    rules, chains = teardown.hostport_rules(nat, "kserve-py")
    assert chains == ["CNI-DN-1a2b3c4d5e6f70819a2b3"]
    assert len(rules) == 1 and rules[0][0] == "CNI-HOSTPORT-DNAT" and "8081" in rules[0]


def test_down_removes_the_portmap_chains_once_they_map_nothing() -> None:
    shared = [
        "-N CNI-HOSTPORT-DNAT",
        "-N CNI-HOSTPORT-MASQ",
        "-N CNI-HOSTPORT-SETMARK",
        "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        '-A POSTROUTING -m comment --comment "CNI portfwd needs masquerade" -j CNI-HOSTPORT-MASQ',
        "-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE",
        "-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
    ]
    assert teardown.portmap_idle(shared)
    jumps = teardown.portmap_jumps(shared)
    assert [j[0] for j in jumps] == ["PREROUTING", "OUTPUT", "POSTROUTING"]
    assert jumps[2][-2:] == ["-j", "CNI-HOSTPORT-MASQ"]
    # someone's pod still maps a port: the shared chains stay
    busy = [*shared, "-A CNI-HOSTPORT-DNAT -p tcp -m multiport --dports 9000 -j CNI-DN-00aa"]
    assert not teardown.portmap_idle(busy)
    assert not teardown.portmap_idle(["-N KUBE-SERVICES"])
