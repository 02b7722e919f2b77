"""Test servers for the storage initializer's suites (plain classes; fixtures in conftest)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FileServer:
    """A plain aiohttp app serving a dict of paths, plus misbehaving routes, counting hits."""

    files: dict[str, bytes] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    seen_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    url: str = ""

    def count(self, request: web.Request) -> int:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        self.seen_headers[request.path] = dict(request.headers)
        return self.hits[request.path]

    async def serve(self, request: web.Request) -> web.StreamResponse:
        self.count(request)
        body = self.files.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=body, content_type=self.content_types.get(request.path, "text/html")
        )

    async def redirect(self, request: web.Request) -> web.StreamResponse:
        self.count(request)
        raise web.HTTPFound(f"/files/{request.match_info['tail']}")

    async def flaky(self, request: web.Request) -> web.StreamResponse:
        """503 twice, then the file."""
        if self.count(request) <= 2:
            raise web.HTTPServiceUnavailable()
        return web.Response(body=self.files["/files/" + request.match_info["tail"]])

    async def always_500(self, request: web.Request) -> web.StreamResponse:
        self.count(request)
        raise web.HTTPInternalServerError()

    async def forbidden(self, request: web.Request) -> web.StreamResponse:
        self.count(request)
        raise web.HTTPForbidden()

    async def dropped(self, request: web.Request) -> web.StreamResponse:
        """Send half the body and cut the connection, once."""
        body = self.files["/files/" + request.match_info["tail"]]
        if self.count(request) > 1:
            return web.Response(body=body)
        resp = web.StreamResponse()
        resp.content_length = len(body)
        await resp.prepare(request)
        await resp.write(body[: len(body) // 2])
        assert request.transport is not None
        request.transport.close()
        return resp

    async def resumable(self, request: web.Request) -> web.StreamResponse:
        """Cut the first response mid-body; then honour Range when If-Range matches the ETag,
        which changes on every request under /changing/ (an object replaced meanwhile)."""
        tail = request.match_info["tail"]
        hit = self.count(request)
        etag = f'"v{hit}"' if request.path.startswith("/changing/") else '"v1"'
        body = self.files["/files/" + tail]
        if hit > 1 and request.headers.get("If-Range") == etag and "Range" in request.headers:
            start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
            return web.Response(
                status=206,
                body=body[start:],
                headers={
                    "ETag": etag,
                    "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}",
                },
            )
        if hit > 1:
            return web.Response(body=body, headers={"ETag": etag})
        resp = web.StreamResponse(headers={"ETag": etag})
        resp.content_length = len(body)
        await resp.prepare(request)
        await resp.write(body[: len(body) // 2])
        await asyncio.sleep(0.2)  # let the client write what it has before the cut
        assert request.transport is not None
        request.transport.close()
        return resp

    async def slow(self, request: web.Request) -> web.StreamResponse:
        """Stall past the client's read timeout, once."""
        body = self.files["/files/" + request.match_info["tail"]]
        if self.count(request) == 1:
            await asyncio.sleep(5)
        return web.Response(body=body)

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.get("/files/{tail:.*}", self.serve),
                web.get("/redirect/{tail:.*}", self.redirect),
                web.get("/flaky/{tail:.*}", self.flaky),
                web.get("/broken/{tail:.*}", self.always_500),
                web.get("/forbidden/{tail:.*}", self.forbidden),
                web.get("/dropped/{tail:.*}", self.dropped),
                web.get("/slow/{tail:.*}", self.slow),
                web.get("/resumable/{tail:.*}", self.resumable),
                web.get("/changing/{tail:.*}", self.resumable),
            ]
        )
        return app


@dataclass
class GcsEmulator:
    host: str  # host:port, as STORAGE_EMULATOR_HOST takes it

    async def put(self, bucket: str, name: str, data: bytes) -> None:
        async with aiohttp.ClientSession() as client:
            resp = await client.post(
                f"http://{self.host}/upload/storage/v1/b/{bucket}/o",
                params={"uploadType": "media", "name": name},
                data=data,
            )
            assert resp.status == 200, await resp.text()

    async def bucket(self, name: str) -> None:
        async with aiohttp.ClientSession() as client:
            resp = await client.post(f"http://{self.host}/storage/v1/b", json={"name": name})
            assert resp.status == 200, await resp.text()


@dataclass
class S3Server:
    endpoint: str

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )


@dataclass
class GoogleAuthGate:
    """An OAuth2 token endpoint for a service-account key, and a gate in front of the GCS
    emulator that forwards only requests bearing the token it issued (the emulator checks none).
    """

    emulator: str  # host:port
    public_key: Any
    token: str = "ya29.test-token"
    url: str = ""
    assertions: list[dict[str, Any]] = field(default_factory=list)
    metadata_calls: int = 0

    async def issue(self, request: web.Request) -> web.Response:
        import base64
        import json

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        form = await request.post()
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        head, claims, sig = str(form["assertion"]).split(".")

        def unb64(part: str) -> bytes:
            return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

        try:
            self.public_key.verify(
                unb64(sig), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception:
            return web.json_response({"error": "invalid_grant"}, status=400)
        self.assertions.append(json.loads(unb64(claims)))
        return web.json_response({"access_token": self.token, "expires_in": 3600})

    async def metadata(self, request: web.Request) -> web.Response:
        """The GCE/GKE metadata server's token endpoint (workload identity)."""
        if request.headers.get("Metadata-Flavor") != "Google":
            return web.Response(status=403)
        self.metadata_calls += 1
        return web.json_response({"access_token": self.token, "expires_in": 3600})

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthenticated"}, status=401)
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"http://{self.emulator}{request.path_qs}") as upstream,
        ):
            body = await upstream.read()
            return web.Response(body=body, status=upstream.status)

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.post("/token", self.issue),
                web.get(
                    "/computeMetadata/v1/instance/service-accounts/default/token", self.metadata
                ),
                web.get("/{tail:.*}", self.forward),
            ]
        )
        return app


@dataclass
class FlakyProxy:
    """Forwards to `upstream`, but answers 503 to the first `failures` object GETs."""

    upstream: str
    failures: int = 2
    url: str = ""
    refused: int = 0

    async def forward(self, request: web.Request) -> web.StreamResponse:
        is_object_get = request.method == "GET" and request.path.count("/") >= 2
        if is_object_get and self.refused < self.failures:
            self.refused += 1
            return web.Response(status=503, text="<Error><Code>SlowDown</Code></Error>")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with (
            aiohttp.ClientSession(auto_decompress=False) as client,
            client.request(
                request.method,
                f"{self.upstream}{request.path_qs}",
                headers=headers,
                data=await request.read(),
            ) as upstream,
        ):
            body = await upstream.read()
            dropped = {"transfer-encoding", "connection"}
            if request.method != "HEAD":  # a HEAD's Content-Length is the object's size
                dropped.add("content-length")
            passed = {k: v for k, v in upstream.headers.items() if k.lower() not in dropped}
            if request.method == "HEAD":
                return web.Response(status=upstream.status, headers=passed)
            return web.Response(body=body, status=upstream.status, headers=passed)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app
