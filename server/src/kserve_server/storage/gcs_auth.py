"""GCS credentials without the SDK: anonymous, a service-account key, or the metadata server.

A service-account JSON (GOOGLE_APPLICATION_CREDENTIALS) signs a JWT (RS256) that its own
`token_uri` trades for a read-only access token: the OAuth2 flow Google documents for servers.
Without a key, public buckets are read anonymously; only when that is refused is the GCE/GKE
metadata server asked for the node's or workload identity's token (so a public bucket works on
GCP whatever identity the pod has, unlike upstream's kserve#4283).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kserve_server.storage import transfer
from kserve_server.storage.errors import (
    AccessDeniedError,
    StorageError,
    TransientError,
    UnsupportedError,
)

SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True)
class ServiceAccount:
    email: str
    private_key: rsa.RSAPrivateKey
    token_uri: str


def load(path: Path) -> ServiceAccount:
    """Parse a key file; every failure names the file, never its contents."""
    where = f"GOOGLE_APPLICATION_CREDENTIALS file {path}"
    try:
        text = path.read_text()
    except FileNotFoundError as err:
        raise StorageError(f"{where} does not exist") from err
    except OSError as err:
        raise StorageError(f"{where} is not readable JSON") from err
    return parse(text, where=where)


def parse(text: str, *, where: str) -> ServiceAccount:
    """Parse a key's JSON; `where` names its source in errors, which never quote it."""
    try:
        info = json.loads(text)
    except ValueError as err:
        raise StorageError(f"{where} is not readable JSON") from err
    kind = info.get("type") if isinstance(info, dict) else None
    if kind != "service_account":
        raise UnsupportedError(f"{where} has type {kind!r}; only 'service_account' is supported")
    try:
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
        email = str(info["client_email"])
    except (KeyError, ValueError, TypeError) as err:
        raise StorageError(f"{where} lacks a valid private_key/client_email") from err
    if not isinstance(key, rsa.RSAPrivateKey):
        raise StorageError(f"{where}: private_key is not an RSA key")
    token_uri = info.get("token_uri") or DEFAULT_TOKEN_URI
    return ServiceAccount(email=email, private_key=key, token_uri=token_uri)


def assertion(account: ServiceAccount, *, now: float) -> str:
    """The signed JWT for the jwt-bearer grant, valid for one hour."""
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "iss": account.email,
        "scope": SCOPE,
        "aud": account.token_uri,
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = account.private_key.sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{_b64(signature)}"


async def access_token(client: aiohttp.ClientSession, account: ServiceAccount) -> str:
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": assertion(account, now=time.time()),
    }
    shown = f"token endpoint {account.token_uri} for {account.email}"
    try:
        async with client.post(account.token_uri, data=form) as resp:
            if resp.status in (400, 401, 403):
                raise AccessDeniedError(
                    f"GCS authentication failed: {shown} refused the key (HTTP {resp.status}); "
                    "check GOOGLE_APPLICATION_CREDENTIALS"
                )
            transfer.check(resp.status, shown=shown)
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as err:
        raise TransientError(f"{shown}: {transfer.describe(err)}") from err
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        raise StorageError(f"{shown} answered without an access_token")
    return token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def metadata_token(client: aiohttp.ClientSession, *, host: str) -> str | None:
    """The metadata server's token for the pod's identity, or None off GCP."""
    url = f"http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
    try:
        async with client.get(
            url,
            headers={"Metadata-Flavor": "Google"},
            timeout=aiohttp.ClientTimeout(total=3),
        ) as resp:
            if resp.status != 200:
                return None
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    token = body.get("access_token") if isinstance(body, dict) else None
    return token if isinstance(token, str) else None
