"""A model store whose faults the test scripts: each GET of a file under `faulty/` takes the
next fault from a queue (`ok` once it is empty); other files are always served whole. Standard
library only, so it runs in the model-server image on the cluster (scenarios 6 and 7) and in a
thread on loopback (tests/integration/storage).

Faults: a status code (`503`); `cut` (headers promise the whole file, half is sent, the
connection closes); `truncated` (the first half, sent as if it were the whole file: an archive
cut short in the store); `stall:S` (half the file, then S seconds of silence, then a close);
`ok`. No ETag or Range support: every attempt starts over.

    python3 fault_store.py --dir /srv --port 8080 --faults 503,503,cut,truncated

`GET /_faults` answers {"served": [[path, fault], ...], "left": [...]}; `PUT /_faults` with a
body like `503,cut` replaces the queue. One log line per request.
"""

from __future__ import annotations

import argparse
import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any


class Faults:
    """The queue of faults and what was served, shared by the handler threads."""

    def __init__(self, faults: list[str]) -> None:
        self.lock = threading.Lock()
        self.left = list(faults)
        self.served: list[tuple[str, str]] = []

    def take(self, path: str) -> str:
        with self.lock:
            fault = self.left.pop(0) if self.left else "ok"
            self.served.append((path, fault))
            return fault

    def replace(self, faults: list[str]) -> None:
        with self.lock:
            self.left = list(faults)

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {"served": list(self.served), "left": list(self.left)}


def parse(text: str) -> list[str]:
    return [f.strip() for f in text.split(",") if f.strip()]


def handler(root: Path, faults: Faults) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/_faults":
                self._reply(200, json.dumps(faults.report()).encode())
                return
            file = (root / self.path.split("?", 1)[0].lstrip("/")).resolve()
            if not file.is_relative_to(root.resolve()) or not file.is_file():
                self._reply(404, b"not found")
                return
            body = file.read_bytes()
            fault = faults.take(self.path) if self.path.startswith("/faulty/") else "ok"
            self.log_message("GET %s -> %s", self.path, fault)
            if fault.isdigit():
                self._reply(int(fault), b"injected fault")
            elif fault == "ok":
                self._reply(200, body)
            elif fault == "truncated":
                self._reply(200, body[: len(body) // 2])
            elif fault == "cut" or fault.startswith("stall:"):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                if fault.startswith("stall:"):
                    time.sleep(float(fault.split(":", 1)[1]))
                self.close_connection = True
            else:
                self._reply(500, f"unknown fault {fault!r}".encode())

        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            faults.replace(parse(self.rfile.read(length).decode()))
            self._reply(200, json.dumps(faults.report()).encode())

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            print(f"fault-store: {format % args}", flush=True)

    return Handler


def server(root: Path, faults: Faults, *, host: str, port: int) -> http.server.HTTPServer:
    made = http.server.ThreadingHTTPServer((host, port), handler(root, faults))
    made.daemon_threads = True
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default="/srv")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--faults", default="", help="comma-separated, taken one per GET")
    args = parser.parse_args()
    faults = Faults(parse(args.faults))
    with server(Path(args.dir), faults, host=args.host, port=args.port) as running:
        print(f"fault-store: serving {args.dir} on {args.port}, faults {faults.left}", flush=True)
        running.serve_forever()


if __name__ == "__main__":
    main()
