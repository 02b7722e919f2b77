"""Throw-away certificates for the test kube-apiserver: a CA, the serving cert, an admin
client cert (group system:masters) and the ServiceAccount token signing key pair."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey
VALID_FOR = datetime.timedelta(days=1)


def _key() -> Key:
    # P-256: valid for TLS, client certs and ES256 token signing, and fast to generate.
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, *, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, key: Key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
    )


def _write_key(path: Path, key: Key) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _leaf(
    ca: tuple[x509.Name, Key], subject: x509.Name, *, server: bool
) -> tuple[x509.Certificate, Key]:
    key = _key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = _builder(subject, ca[0], key).add_extension(
        x509.ExtendedKeyUsage([usage]), critical=False
    )
    if server:
        names: list[x509.GeneralName] = [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes.default.svc"),
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca[1], hashes.SHA256()), key


def write_all(pki: Path) -> None:
    """Writes ca.crt, serving.{crt,key}, admin.{crt,key}, sa.{key,pub} into `pki`."""
    pki.mkdir(mode=0o700, parents=True)
    ca_key, ca_name = _key(), _name("kserve-py-test-ca")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write_cert(pki / "ca.crt", ca_cert)
    serving, serving_key = _leaf((ca_name, ca_key), _name("kube-apiserver"), server=True)
    _write_cert(pki / "serving.crt", serving)
    _write_key(pki / "serving.key", serving_key)
    admin, admin_key = _leaf(
        (ca_name, ca_key), _name("kserve-py-admin", org="system:masters"), server=False
    )
    _write_cert(pki / "admin.crt", admin)
    _write_key(pki / "admin.key", admin_key)
    sa_key = _key()
    _write_key(pki / "sa.key", sa_key)
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
