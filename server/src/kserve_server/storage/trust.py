"""Which CAs to trust: the system store plus a configured bundle, never the bundle alone.

The controller points SSL_CERT_FILE/REQUESTS_CA_BUNDLE at a cluster-wide CA bundle (for a
private MinIO, a proxy ...). Trusting only that bundle would break every public URI in the same
cluster (github.com, storage.googleapis.com), so it is added to the system store, as upstream's
initializer does by writing a combined file.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

from kserve_server.storage.errors import StorageError

# Where distributions keep the system bundle. OpenSSL's own default path is read through
# SSL_CERT_FILE, which may already name the custom bundle: so look here explicitly.
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora
    "/etc/ssl/cert.pem",  # macOS, BSDs
)


def system_bundle() -> Path | None:
    openssl_default = Path(ssl.get_default_verify_paths().openssl_cafile)
    for candidate in (*map(Path, SYSTEM_BUNDLES), openssl_default):
        if candidate.is_file():
            return candidate
    return None


def _checked(bundle: Path) -> Path:
    if not bundle.is_file():
        raise StorageError(f"CA bundle {bundle} (SSL_CERT_FILE/REQUESTS_CA_BUNDLE) not found")
    return bundle


def context(bundle: Path | None) -> ssl.SSLContext:
    """An SSL context trusting the system store and, when given, `bundle` too."""
    ctx = ssl.create_default_context()
    if bundle is None:
        return ctx
    system = system_bundle()
    if system is not None:
        ctx.load_verify_locations(cafile=str(system))
    try:
        ctx.load_verify_locations(cafile=str(_checked(bundle)))
    except ssl.SSLError as err:
        raise StorageError(f"CA bundle {bundle} holds no readable PEM certificate") from err
    return ctx


def combined_file(bundle: Path, *, into: Path | None = None) -> Path:
    """A PEM file of the system store followed by `bundle`, for clients that take one file."""
    system = system_bundle()
    text = (system.read_text() + "\n" if system else "") + _checked(bundle).read_text()
    directory = into or Path(tempfile.mkdtemp(prefix="kserve-ca-"))
    path = directory / "ca-bundle.pem"
    path.write_text(text)
    return path
