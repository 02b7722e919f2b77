"""`python -m codegen [--check] [STEP ...]`: run the generators (default: all, in order).

    openapi   hack/k8s-openapi.json from the pinned kube-apiserver (hack/devcluster, loopback)
    crds      charts/kserve-crd/templates/ from the controller's models + that snapshot
    runtimes  kserve-local's cluster_runtimes.yaml from charts/kserve (helm template)
    grpc      the server's protobuf module from server/proto/open_inference.proto

`--check` writes nothing and exits 1 naming the stale files. Exit 2: a generator cannot run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from codegen import REPO, GenerateError, crds, grpc_stubs, openapi_snapshot, runtimes


def _openapi() -> dict[Path, str]:
    from devcluster import controlplane

    try:
        with controlplane.running() as server:
            documents = openapi_snapshot.fetch(
                server.url, ca=server.ca_file, cert=server.admin_cert, key=server.admin_key
            )
    except controlplane.ToolMissingError as err:
        raise GenerateError(str(err)) from err
    return openapi_snapshot.render(documents, kubernetes_version=_pins()["KUBERNETES_VERSION"])


def _pins() -> dict[str, str]:
    text = (REPO / "hack" / "versions.env").read_text()
    return dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )


STEPS: dict[str, Callable[[], dict[Path, str]]] = {
    "openapi": _openapi,
    "crds": lambda: crds.render(openapi_snapshot.load()),
    "runtimes": runtimes.render,
    "grpc": grpc_stubs.render,
}


def apply(files: dict[Path, str], *, check: bool) -> list[Path]:
    """Writes each file whose text differs (not with `check`); returns those that differed."""
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    if not check:
        for path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when stale")
    parser.add_argument("steps", nargs="*", metavar="STEP", help=f"any of {', '.join(STEPS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}: choose from {', '.join(STEPS)}")
    stale: list[Path] = []
    for name in args.steps or list(STEPS):
        try:
            changed = apply(STEPS[name](), check=args.check)
        except GenerateError as err:
            print(f"generate {name}: {err}", file=sys.stderr)
            return 2
        stale += changed
        for path in changed:
            verb = "stale" if args.check else "wrote"
            shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
            print(f"generate {name}: {verb} {shown}")
    if args.check and stale:
        print(f"generate: {len(stale)} stale file(s): run `make generate`", file=sys.stderr)
        return 1
    return 0
