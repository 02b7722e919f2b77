"""Throw-away certificates for a dev control plane: CAs, serving and client certificates, the
ServiceAccount signing key pair, written as PEM files named after each certificate.

ECDSA P-256 keys throughout: valid for TLS, client certificates and ES256 token signing, and
a dozen of them cost milliseconds where RSA keys cost seconds on a busy machine.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey
VALID_FOR = datetime.timedelta(days=30)
CA = "ca"
# The aggregation layer's own CA, as kubeadm does: a client certificate of the cluster CA must
# not be able to pose as the apiserver's proxy (which asserts any user in request headers).
FRONT_PROXY_CA = "front-proxy-ca"
API_SERVER_DNS = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "localhost",
)


@dataclass(frozen=True)
class Cert:
    """One leaf certificate: `<name>.crt` + `<name>.key`, signed by the CA `issuer`."""

    name: str
    common_name: str
    organization: str | None = None
    server: bool = False  # serverAuth, with the SANs below
    client: bool = False  # clientAuth: CN is the user, O the group
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    issuer: str = CA


def apiserver_certs(*, ips: Iterable[str]) -> list[Cert]:
    """What every control plane needs: the apiserver's serving cert and an admin client."""
    return [
        Cert("apiserver", "kube-apiserver", server=True, dns=API_SERVER_DNS, ips=tuple(ips)),
        Cert("admin", "kubernetes-admin", "system:masters", client=True),
    ]


def cluster_certs(*, node_name: str, node_ip: str) -> list[Cert]:
    """The rest of a one-node cluster: components, kubelet, aggregation, metrics-server, KEDA."""
    return [
        Cert(
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            "system:masters",
            client=True,
        ),
        Cert("controller-manager", "system:kube-controller-manager", client=True),
        Cert("scheduler", "system:kube-scheduler", client=True),
        # one certificate for the kubelet's server and for its client identity (Node authorizer)
        Cert(
            "kubelet",
            f"system:node:{node_name}",
            "system:nodes",
            server=True,
            client=True,
            dns=(node_name,),
            ips=(node_ip,),
        ),
        Cert("kube-proxy", "system:kube-proxy", client=True),
        Cert("front-proxy-client", "front-proxy-client", client=True, issuer=FRONT_PROXY_CA),
        # the APIService trusts our CA for metrics-server, never "insecureSkipTLSVerify"
        Cert(
            "metrics-server", "metrics-server", server=True, dns=("metrics-server.kube-system.svc",)
        ),
        # KEDA's one certificate, as its own cert manager makes it: the operator's gRPC metrics
        # service and the metrics API server serve it, and present it to each other (mTLS)
        Cert(
            "keda",
            "keda",
            server=True,
            client=True,
            dns=(
                "keda-operator.keda.svc",
                "keda-operator.keda.svc.cluster.local",
                "keda-metrics-apiserver.keda.svc",
            ),
        ),
    ]


def write_all(pki: Path, certs: Iterable[Cert]) -> None:
    """Writes each CA the certs name, each cert, and sa.key/sa.pub into a new directory."""
    certs = list(certs)
    pki.mkdir(mode=0o700, parents=True)
    cas: dict[str, tuple[x509.Certificate, Key]] = {}
    for name in dict.fromkeys([CA, *(c.issuer for c in certs)]):
        cas[name] = _self_signed(f"kserve-py-{name}")
        _write_cert(pki / f"{name}.crt", cas[name][0])
        _write_key(pki / f"{name}.key", cas[name][1])
    for spec in certs:
        cert, key = _leaf(spec, cas[spec.issuer])
        _write_cert(pki / f"{spec.name}.crt", cert)
        _write_key(pki / f"{spec.name}.key", key)
    sa_key = _key()
    _write_key(pki / "sa.key", sa_key)
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )


def _self_signed(common_name: str) -> tuple[x509.Certificate, Key]:
    key, name = _key(), _name(common_name)
    cert = (
        _builder(name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(spec: Cert, ca: tuple[x509.Certificate, Key]) -> tuple[x509.Certificate, Key]:
    if not (spec.server or spec.client):
        raise ValueError(f"certificate {spec.name}: neither server nor client")
    key = _key()
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] * spec.server
    usages += [ExtendedKeyUsageOID.CLIENT_AUTH] * spec.client
    ca_cert, ca_key = ca
    builder = (
        _builder(_name(spec.common_name, spec.organization), ca_cert.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write_key(path: Path, key: Key) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # created 0600: never readable by others, not even between write and chmod
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(pem)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
