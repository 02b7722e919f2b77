"""The local cluster's pure parts: where it lives, what it renders, what it reads back."""

from __future__ import annotations

from pathlib import Path

import yaml

from devcluster import addons, controlplane, node, teardown
from devcluster.layout import Layout


def test_layout_follows_the_cache_and_run_dirs_of_the_image_scripts() -> None:
    layout = Layout.from_env({"HOME": "/home/u", "KSERVE_PY_RUN_DIR": "/tmp/run"})
    assert layout.images == Path("/home/u/.cache/kserve-py/cluster/containerd")
    assert layout.run == Path("/tmp/run/cluster")
    assert layout.image("pause") == f"registry.kserve-py.test/kserve-py/pause:{layout.image_tag}"
    assert Layout.from_env({"XDG_CACHE_HOME": "/c"}).logs == Path("/c/kserve-py/logs/cluster")


def test_addons_render_with_every_placeholder_filled(tmp_path: Path) -> None:
    layout = Layout(cache=tmp_path, run_root=tmp_path, image_tag="9.9.9", state=tmp_path / "s")
    controlplane.ControlPlane(
        workdir=layout.state,
        node=controlplane.Node(
            name=layout.node_name, ip=layout.node_ip, api_service_ip=layout.api_service_ip
        ),
    ).write_pki()
    text = addons.render(layout)
    assert "@" not in "".join(line for line in text.splitlines() if not line.startswith("#"))
    docs = [d for d in yaml.safe_load_all(text) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Deployment", "coredns") in kinds and ("Deployment", "metrics-server") in kinds
    dns = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "kube-dns")
    assert dns["spec"]["clusterIP"] == layout.dns_ip


def test_only_our_registrys_tagged_images_are_refreshed() -> None:
    listing = (
        "REF TYPE DIGEST SIZE PLATFORMS LABELS\n"
        "registry.kserve-py.test/kserve-py/pause:0.1.0 application/x sha256:aa 1 MiB linux -\n"
        "registry.kserve-py.test/kserve-py/pause@sha256:aa application/x sha256:aa 1 MiB l -\n"
        "docker.io/library/busybox:1 application/x sha256:bb 1 MiB linux/amd64 -\n"
    )
    assert node.cached_images(listing, "registry.kserve-py.test") == [
        ("registry.kserve-py.test/kserve-py/pause:0.1.0", "sha256:aa")
    ]


def test_cni_chains_are_told_from_others_by_their_hash() -> None:
    assert teardown.is_cni_chain("CNI-0123abcd")
    assert not teardown.is_cni_chain("CNI-HOSTPORT-DNAT")
    assert not teardown.is_cni_chain("CNI-")
