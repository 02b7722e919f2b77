"""The integration tests' kube-apiserver: hack/devcluster's loopback control plane (real etcd +
kube-apiserver from `make tools`, as controller-runtime's envtest gives Go projects) plus the
client helpers tests use."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes.client
import yaml

from devcluster import controlplane
from devcluster.controlplane import SA_ISSUER, ToolMissingError

__all__ = ["GATEWAY_API_CRDS", "KEDA_CRDS", "ApiServer", "ToolMissingError", "running"]

# The Gateway API's standard-channel CRDs at the pinned version (`make tools`, hack/tools.sh).
GATEWAY_API_CRDS = controlplane.BIN / "gateway-api-crds"
# KEDA's CRDs (ScaledObject, TriggerAuthentication, ...) at the pinned version (`make tools`).
KEDA_CRDS = controlplane.BIN / "keda-crds"


class ApiServer(controlplane.ControlPlane):
    """One etcd + kube-apiserver pair on loopback, with admin and token clients."""

    _client: kubernetes.client.ApiClient | None = None

    @property
    def client(self) -> kubernetes.client.ApiClient:
        """A `kubernetes` ApiClient with admin rights (one per session)."""
        if self._client is None:
            self._client = self.api_client()
        return self._client

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        super().stop()

    # --- clients ---------------------------------------------------------------------------

    def api_client(self, *, token: str | None = None) -> kubernetes.client.ApiClient:
        """A new `kubernetes` ApiClient: admin, or the identity of `token` when given."""
        config = kubernetes.client.Configuration(host=self.url)
        self._configure(config, token=token)
        return kubernetes.client.ApiClient(config)

    def asyncio_configuration(self, *, token: str | None = None) -> Any:
        """A `kubernetes_asyncio.client.Configuration` for this server: admin, or `token`'s
        identity. Use it as `kubernetes_asyncio.client.ApiClient(configuration=...)`."""
        from kubernetes_asyncio import client as aclient

        config = aclient.Configuration(host=self.url)
        self._configure(config, token=token)
        return config

    def service_account_token(
        self, namespace: str, name: str, *, expiration_seconds: int = 3600
    ) -> str:
        """Mints a bound token for an existing ServiceAccount (TokenRequest API)."""
        core = kubernetes.client.CoreV1Api(self.client)
        request = kubernetes.client.AuthenticationV1TokenRequest(
            spec=kubernetes.client.V1TokenRequestSpec(
                audiences=[SA_ISSUER], expiration_seconds=expiration_seconds
            )
        )
        resp = core.create_namespaced_service_account_token(name, namespace, request)
        return str(resp.status.token)

    def _configure(self, config: Any, *, token: str | None) -> None:
        config.ssl_ca_cert = str(self.ca_file)
        if token:
            config.api_key = {"authorization": token}
            config.api_key_prefix = {"authorization": "Bearer"}
        else:
            config.cert_file = str(self.admin_cert)
            config.key_file = str(self.admin_key)

    # --- CRDs ------------------------------------------------------------------------------

    def install_gateway_api_crds(self, *, timeout: float = 60.0) -> list[str]:
        """Creates the Gateway API CRDs (idempotent) and waits until they are established;
        returns their names. Tests that need HTTPRoutes or Gateways call it; others run on an
        apiserver without them, as on a cluster that has no Gateway API."""
        return self.install_crds(GATEWAY_API_CRDS, timeout=timeout)

    def install_keda_crds(self, *, timeout: float = 60.0) -> list[str]:
        """Creates KEDA's CRDs (idempotent) and waits until they are established; returns their
        names. Tests that need ScaledObjects call it; others run without them, as on a cluster
        where KEDA is not installed."""
        return self.install_crds(KEDA_CRDS, timeout=timeout)

    def install_crds(self, directory: Path, *, timeout: float = 60.0) -> list[str]:
        """Creates every CRD in `directory`'s *.yaml files (idempotent) and waits until they
        are established; returns their names."""
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise ToolMissingError(f"no CRDs in {directory}: run `make tools`")
        ext = kubernetes.client.ApiextensionsV1Api(self.client)
        names = []
        for path in files:
            body = yaml.safe_load(path.read_text())
            names.append(body["metadata"]["name"])
            try:
                ext.create_custom_resource_definition(body)
            except kubernetes.client.ApiException as err:
                if err.status != 409:
                    raise
        deadline = time.monotonic() + timeout
        for name in names:
            while not _established(ext.read_custom_resource_definition(name)):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"CRD {name} not established after {timeout}s")
                time.sleep(0.1)
        return names

    def delete_crd(self, name: str, *, timeout: float = 60.0) -> None:
        """Deletes a CRD (and so every object of its kind) and waits until it is gone."""
        ext = kubernetes.client.ApiextensionsV1Api(self.client)
        try:
            ext.delete_custom_resource_definition(name)
        except kubernetes.client.ApiException as err:
            if err.status != 404:
                raise
        deadline = time.monotonic() + timeout
        while True:
            try:
                ext.read_custom_resource_definition(name)
            except kubernetes.client.ApiException as err:
                if err.status == 404:
                    return
                raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} still present after {timeout}s")
            time.sleep(0.1)


def _established(crd: Any) -> bool:
    return any(
        c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])
    )


@contextlib.contextmanager
def running(*, watch_cache: bool = True, audit_log: Path | None = None) -> Iterator[ApiServer]:
    """Starts etcd + kube-apiserver; always stops both and removes their data on exit.
    `audit_log`: where the controller's requests are recorded (devcluster/audit.py)."""
    with controlplane.running_as(ApiServer, watch_cache=watch_cache, audit_log=audit_log) as server:
        yield server
