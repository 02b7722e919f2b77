"""Throughput of the storage initializer on one large object: `python
tests/integration/storage/storage_bench.py [MiB]` (default 1024). Each server runs in its own
process (as in a cluster), so client and server do not share one GIL:

- gs:// from gcp-storage-emulator (a Python emulator: its own speed caps the figure),
- s3:// from moto's server (likewise, and slower still on ranged GETs),
- http:// from `python -m http.server` (the client side's own ceiling on loopback).

Not a test (no timed asserts); the figures go in the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import boto3
from storage_servers import free_port

from kserve_server.storage import fetch
from kserve_server.storage import s3 as s3_fetcher
from kserve_server.storage.settings import StorageSettings

BIN = Path(sys.executable).parent


@contextlib.contextmanager
def server(*command: str, port: int) -> Iterator[None]:
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            time.sleep(0.2)
        yield
    finally:
        child.terminate()
        child.wait(timeout=10)


async def upload_gcs(host: str, path: Path) -> None:
    async with aiohttp.ClientSession() as client:
        await client.post(f"http://{host}/storage/v1/b", json={"name": "bench"})
        resp = await client.post(
            f"http://{host}/upload/storage/v1/b/bench/o",
            params={"uploadType": "media", "name": "big/model.bin"},
            data=path.read_bytes(),  # noqa: ASYNC240 (setup, not measured)
        )
        assert resp.status == 200, await resp.text()


def measure(label: str, uri: str, settings: StorageSettings, size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        asyncio.run(fetch(uri, Path(tmp) / "m", settings=settings))
        elapsed = time.perf_counter() - start
        assert (Path(tmp) / "m" / "model.bin").stat().st_size == size
    print(f"{label}: {size >> 20} MiB in {elapsed:.1f}s = {size / elapsed / (1 << 20):.0f} MiB/s")


def measure_curl(label: str, url: str, size: int) -> None:
    """The same object with curl: the server's own ceiling, for a ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(["curl", "-sf", "-o", f"{tmp}/out", url], check=True)
        elapsed = time.perf_counter() - start
        assert Path(f"{tmp}/out").stat().st_size == size
    rate = size / elapsed / (1 << 20)
    print(f"{label} (curl): {size >> 20} MiB in {elapsed:.1f}s = {rate:.0f} MiB/s")


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "model.bin"
        with source.open("wb") as out:
            for _ in range(mib):
                out.write(os.urandom(1 << 20))
        size = source.stat().st_size

        port = free_port()
        with server(
            sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", tmp, str(port), port=port
        ):
            settings = StorageSettings(progress_interval=2.0)
            url = f"http://127.0.0.1:{port}/model.bin"
            measure("http:// from python -m http.server", url, settings, size)
            measure_curl("http:// from python -m http.server", url, size)

        port = free_port()
        emulator = (sys.executable, "-m", "gcp_storage_emulator", "start", "-q", "-M")
        with server(*emulator, "-H", "127.0.0.1", "--port", str(port), port=port):
            asyncio.run(upload_gcs(f"127.0.0.1:{port}", source))
            settings = StorageSettings(
                storage_emulator_host=f"127.0.0.1:{port}", progress_interval=2.0
            )
            measure("gs:// from gcp-storage-emulator", "gs://bench/big", settings, size)
            media = f"http://127.0.0.1:{port}/storage/v1/b/bench/o/big%2Fmodel.bin?alt=media"
            measure_curl("gs:// from gcp-storage-emulator", media, size)

        port = free_port()
        with server(str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port), port=port):
            endpoint = f"http://127.0.0.1:{port}"
            os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            s3.create_bucket(Bucket="bench")
            s3.upload_file(str(source), "bench", "big/model.bin")
            settings = StorageSettings(aws_endpoint_url=endpoint, progress_interval=2.0)
            measure("s3:// from moto_server, ranged GETs", "s3://bench/big", settings, size)
            # moto re-reads the whole object for every ranged GET; one plain GET shows the
            # client's own path without that.
            s3_fetcher.MULTIPART_THRESHOLD = size + 1
            measure("s3:// from moto_server, one GET", "s3://bench/big", settings, size)


if __name__ == "__main__":
    main()
