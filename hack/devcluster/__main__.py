"""`python -m devcluster COMMAND` (hack/cluster/up.sh and down.sh call it as root):

up             a one-node cluster on this machine; prints its kubeconfig's path last
down           remove everything `up` made (pulled images stay cached)
check          exit 1 naming whatever `down` left behind
kubeconfig     print the cluster's kubeconfig path
control-plane  etcd + kube-apiserver on loopback in the foreground until Ctrl-C (no root,
               no node): run the controller against it
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from devcluster import cluster, controlplane, sh, teardown
from devcluster.layout import Layout


def _loopback() -> int:
    with controlplane.running() as server:
        print(f"control plane ready in {server.startup_seconds:.1f}s at {server.url}", flush=True)
        print(f"export KUBECONFIG={server.kubeconfig}", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1.0):
                if not all(server.alive().values()):
                    print(f"a process exited: {server.alive()}", file=sys.stderr)
                    return 1
        except KeyboardInterrupt:
            pass
    return 0


def _check(layout: Layout) -> int:
    left = teardown.leftovers(layout)
    for item in left:
        print(f"left behind: {item}", file=sys.stderr)
    if not left:
        print("nothing left behind")
    return 1 if left else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devcluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["up", "down", "check", "kubeconfig", "control-plane"])
    args = parser.parse_args(argv)
    layout = Layout.from_env(os.environ)
    try:
        match args.command:
            case "up":
                print(cluster.up(layout))
            case "down":
                cluster.down(layout)
                cluster.log("down: done")
            case "check":
                return _check(layout)
            case "kubeconfig":
                print(layout.kubeconfig)
            case _:
                return _loopback()
    except (sh.ClusterError, controlplane.ToolMissingError, RuntimeError) as err:
        cluster.log(f"ERROR: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
