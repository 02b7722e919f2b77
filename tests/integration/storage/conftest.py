"""Real servers on loopback for the storage initializer: http(s) with a test CA, moto's S3
server, a GCS emulator and a Hugging Face Hub (hub_server.py). Each fixture starts its server
and stops it after the test module."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web
from hub_server import HubServer
from storage_servers import FileServer, FlakyProxy, GcsEmulator, GoogleAuthGate, S3Server, free_port

from kserve_server.storage.settings import StorageSettings


@pytest.fixture
def settings(tmp_path: Path) -> StorageSettings:
    """Fast retries and no stray environment: what each test changes, it says."""
    return StorageSettings(
        termination_log=tmp_path / "termination-log",
        retries=3,
        retry_base_delay=0.01,
        read_timeout=2.0,
        connect_timeout=2.0,
        ca_bundle=None,
        storage_emulator_host=None,
        google_application_credentials=None,
        aws_endpoint_url=None,
        s3_endpoint=None,
        gce_metadata_host=f"127.0.0.1:{free_port()}",  # no metadata server unless a test adds one
        hf_endpoint=f"http://127.0.0.1:{free_port()}",  # no Hub unless a test adds one
        hf_token=None,
        allow_patterns=None,
        ignore_patterns=None,
    )


@pytest.fixture
async def http_server() -> AsyncIterator[FileServer]:
    server = FileServer()
    runner = web.AppRunner(server.app(), shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    server.url = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()


@pytest.fixture
async def hub() -> AsyncIterator[HubServer]:
    server = HubServer()
    runner = web.AppRunner(server.app(), shutdown_timeout=0.5)
    await runner.setup()
    port, cdn_port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await web.TCPSite(runner, "127.0.0.1", cdn_port).start()
    server.url, server.cdn_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{cdn_port}"
    yield server
    await runner.cleanup()


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(test_ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "test-ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def https_server(test_ca: trustme.CA) -> AsyncIterator[FileServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server = FileServer()
    runner = web.AppRunner(server.app(), shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
    server.url = f"https://localhost:{port}"
    yield server
    await runner.cleanup()


@pytest.fixture(scope="module")
def gcs_emulator() -> Iterator[GcsEmulator]:
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    yield GcsEmulator(host=f"127.0.0.1:{port}")
    server.stop()


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield S3Server(endpoint=f"http://127.0.0.1:{port}")
    server.stop()


@pytest.fixture(scope="session")
def service_account_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def google_gate(
    gcs_emulator: GcsEmulator, service_account_key: Any
) -> AsyncIterator[GoogleAuthGate]:
    gate = GoogleAuthGate(emulator=gcs_emulator.host, public_key=service_account_key.public_key())
    runner = web.AppRunner(gate.app(), shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    gate.url = f"http://127.0.0.1:{port}"
    yield gate
    await runner.cleanup()


@pytest.fixture
def key_file(service_account_key: Any, google_gate: GoogleAuthGate, tmp_path: Path) -> Path:
    import json

    from cryptography.hazmat.primitives import serialization

    pem = service_account_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": "loader@test-project.iam.gserviceaccount.com",
                "private_key": pem,
                "token_uri": f"{google_gate.url}/token",
            }
        )
    )
    return path


@pytest.fixture
async def flaky_s3(s3_server: S3Server) -> AsyncIterator[FlakyProxy]:
    proxy = FlakyProxy(upstream=s3_server.endpoint)
    runner = web.AppRunner(proxy.app(), shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    proxy.url = f"http://127.0.0.1:{port}"
    yield proxy
    await runner.cleanup()
