"""The dev control plane's certificates: each chains to its CA, names what clients dial, is
usable only for what it is for, and TLS (OpenSSL, as kube-apiserver's Go TLS would) accepts
them end to end."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devcluster import pki

NODE = "kserve-py-node"
NODE_IP = "10.250.0.1"
API_SERVICE_IP = "10.96.0.1"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pki") / "pki"
    certs = pki.apiserver_certs(ips=["127.0.0.1", NODE_IP, API_SERVICE_IP])
    pki.write_all(path, [*certs, *pki.cluster_certs(node_name=NODE, node_ip=NODE_IP)])
    return path


def _cert(pki_dir: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((pki_dir / f"{name}.crt").read_bytes())


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[Any]:
    return cert.extensions.get_extension_for_class(kind)


def _sans(cert: x509.Certificate) -> set[str]:
    names = _ext(cert, x509.SubjectAlternativeName).value
    return {str(n) for n in names.get_values_for_type(x509.DNSName)} | {
        str(ip) for ip in names.get_values_for_type(x509.IPAddress)
    }


LEAVES = [
    spec.name
    for spec in [*pki.apiserver_certs(ips=[]), *pki.cluster_certs(node_name=NODE, node_ip=NODE_IP)]
]


@pytest.mark.parametrize("name", LEAVES)
def test_each_leaf_is_signed_by_its_ca_and_is_no_ca(pki_dir: Path, name: str) -> None:
    issuer = "front-proxy-ca" if name == "front-proxy-client" else "ca"
    cert, ca = _cert(pki_dir, name), _cert(pki_dir, issuer)
    cert.verify_directly_issued_by(ca)
    constraints = _ext(cert, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = _ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign


@pytest.mark.parametrize("name", ["ca", "front-proxy-ca"])
def test_the_cas_are_self_signed_and_may_sign_only_leaves(pki_dir: Path, name: str) -> None:
    ca = _cert(pki_dir, name)
    ca.verify_directly_issued_by(ca)
    constraints = _ext(ca, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert _ext(ca, x509.KeyUsage).value.key_cert_sign


def test_the_front_proxy_client_is_not_trusted_by_the_cluster_ca(pki_dir: Path) -> None:
    with pytest.raises(ValueError):  # a cluster-CA client must not pose as the proxy, and back
        _cert(pki_dir, "front-proxy-client").verify_directly_issued_by(_cert(pki_dir, "ca"))


@pytest.mark.parametrize(
    ("name", "usages"),
    [
        ("apiserver", {ExtendedKeyUsageOID.SERVER_AUTH}),
        ("admin", {ExtendedKeyUsageOID.CLIENT_AUTH}),
        ("kubelet", {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}),
        ("metrics-server", {ExtendedKeyUsageOID.SERVER_AUTH}),
        ("front-proxy-client", {ExtendedKeyUsageOID.CLIENT_AUTH}),
    ],
)
def test_extended_key_usage_is_what_the_cert_is_for(
    pki_dir: Path, name: str, usages: set[x509.ObjectIdentifier]
) -> None:
    assert set(_ext(_cert(pki_dir, name), x509.ExtendedKeyUsage).value) == usages


def test_the_apiserver_is_named_as_pods_nodes_and_the_host_dial_it(pki_dir: Path) -> None:
    assert _sans(_cert(pki_dir, "apiserver")) >= {
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        "127.0.0.1",
        NODE_IP,
        API_SERVICE_IP,
    }


def test_the_kubelet_is_its_node_and_metrics_server_its_service(pki_dir: Path) -> None:
    kubelet = _cert(pki_dir, "kubelet")
    assert _sans(kubelet) == {NODE, NODE_IP}
    assert kubelet.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        f"system:node:{NODE}"
    )
    assert kubelet.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "system:nodes"
    )
    assert _sans(_cert(pki_dir, "metrics-server")) == {"metrics-server.kube-system.svc"}


def test_admin_is_in_system_masters(pki_dir: Path) -> None:
    org = _cert(pki_dir, "admin").subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert [a.value for a in org] == ["system:masters"]


def test_private_keys_are_readable_by_the_owner_only(pki_dir: Path) -> None:
    keys = sorted(pki_dir.glob("*.key"))
    assert {k.stem for k in keys} >= {"ca", "front-proxy-ca", "sa", *LEAVES}
    assert {oct(k.stat().st_mode & 0o777) for k in keys} == {"0o600"}
    assert oct(pki_dir.stat().st_mode & 0o777) == "0o700"


def test_the_service_account_public_key_matches_its_signing_key(pki_dir: Path) -> None:
    key = serialization.load_pem_private_key((pki_dir / "sa.key").read_bytes(), None)
    public = serialization.load_pem_public_key((pki_dir / "sa.pub").read_bytes())
    assert key.public_key() == public


def test_leaf_without_a_purpose_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="neither server nor client"):
        pki.write_all(tmp_path / "pki", [pki.Cert("odd", "odd")])


# --- TLS end to end, in memory ---------------------------------------------------------------


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, hostname: str) -> None:
    s_in, s_out, c_in, c_out = (ssl.MemoryBIO() for _ in range(4))
    srv = server.wrap_bio(s_in, s_out, server_side=True)
    cli = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    done = {"srv": False, "cli": False}
    for _ in range(10):
        for name, end in (("cli", cli), ("srv", srv)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not finish")


def _server(pki_dir: Path, name: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki_dir / "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(str(pki_dir / f"{name}.crt"), str(pki_dir / f"{name}.key"))
    return ctx


def _client(pki_dir: Path, name: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki_dir / "ca.crt"))
    ctx.load_cert_chain(str(pki_dir / f"{name}.crt"), str(pki_dir / f"{name}.key"))
    return ctx


@pytest.mark.parametrize("host", ["kubernetes.default.svc", "localhost", NODE_IP])
def test_tls_admin_reaches_the_apiserver_by_each_name(pki_dir: Path, host: str) -> None:
    _handshake(_server(pki_dir, "apiserver"), _client(pki_dir, "admin"), host)


def test_tls_a_name_not_in_the_cert_is_refused(pki_dir: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _handshake(_server(pki_dir, "apiserver"), _client(pki_dir, "admin"), "example.com")


def test_tls_a_server_only_cert_cannot_be_a_client(pki_dir: Path) -> None:
    with pytest.raises(ssl.SSLError):
        _handshake(_server(pki_dir, "apiserver"), _client(pki_dir, "metrics-server"), "localhost")
