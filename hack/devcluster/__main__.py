"""`python -m devcluster COMMAND`:

control-plane  etcd + kube-apiserver on loopback in the foreground until Ctrl-C (no root,
               no node): run the controller against it
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from devcluster import controlplane


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devcluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["control-plane"])
    parser.parse_args(argv)
    try:
        return _loopback()
    except (controlplane.ToolMissingError, RuntimeError) as err:
        print(f"devcluster: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
