"""The reads and writes around a model download: storage credentials and the CA bundle copy;
and the credentials of the payload logger's storage, read the same way.

Credentials come from the component's ServiceAccount (a watch cache, or GET when RBAC forbids
the watch) and the Secrets it names (always GET: Secrets are never watched or cached), or
from the `storage-config` Secret for a storage spec. A ClusterRole from an older chart may
forbid both: the model is then fetched without credentials, and the log says once why.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kserve_controller import diff, spec
from kserve_controller.build import credentials, storage_initializer, storage_spec
from kserve_controller.engine import Context
from kserve_controller.kube.errors import Forbidden
from kserve_controller.spec import Component, Isvc

Obj = dict[str, Any]
log = logging.getLogger(__name__)


class StorageIO:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.forbidden = False  # said once: RBAC refuses service accounts or Secrets

    async def sources(self, isvc: Component, raw: Obj) -> credentials.Sources | None:
        """The service account and the Secrets it names, for one component."""
        if not storage_initializer.injects(isvc):
            return None
        kube, cfg = self.ctx.kube, self.ctx.config.credentials
        if isvc.storage_spec is not None:
            name = storage_spec.secret_name(isvc, config=cfg)
            try:
                secret = await kube.get("Secret", isvc.namespace, name)
            except Forbidden as err:
                self._forbidden(err)
                secret = None
            return credentials.Sources(storage_config=secret)
        sa_name = credentials.service_account_name(isvc)
        return await self._account(isvc, raw, sa_name, user="the storage initializer")

    async def logger_sources(self, isvc: Component, raw: Obj) -> credentials.Sources | None:
        """The logger storage's service account and the Secrets it names, for one component."""
        sa_name = isvc.logger_storage_account
        if sa_name is None:
            return None
        return await self._account(isvc, raw, sa_name, user="the payload logger")

    async def _account(
        self, isvc: Component, raw: Obj, sa_name: str, *, user: str
    ) -> credentials.Sources | None:
        kube, cfg = self.ctx.kube, self.ctx.config.credentials
        try:
            account = await self.ctx.reads.get("ServiceAccount", isvc.namespace, sa_name)
            wanted = credentials.secret_names(isvc, account, config=cfg)
            found = await asyncio.gather(*(kube.get("Secret", isvc.namespace, n) for n in wanted))
        except Forbidden as err:
            # An older chart's ClusterRole: serve without credentials rather than not at all.
            self._forbidden(err)
            return None
        secrets = {n: s for n, s in zip(wanted, found, strict=True) if s is not None}
        for name in (n for n in wanted if n not in secrets):
            await self._missing_secret(isvc, raw, name=name, account=sa_name, user=user)
        return credentials.Sources(service_account=account, secrets=secrets)

    def _forbidden(self, err: Forbidden) -> None:
        if not self.forbidden:
            self.forbidden = True
            log.error(
                "RBAC: cannot read storage credentials (%s); model downloads run without "
                "them. Upgrade the kserve chart: its ClusterRole grants get, list, watch on "
                "serviceaccounts and get on secrets",
                err.message,
            )

    async def _missing_secret(
        self, isvc: Component, raw: Obj, *, name: str, account: str, user: str
    ) -> None:
        cfg = self.ctx.config.credentials
        if credentials.named_secret(isvc, config=cfg):
            why = f"named by annotation {cfg.storage_secret_name_annotation}"
        elif isvc.spec.service_account_name or account != credentials.DEFAULT_SERVICE_ACCOUNT:
            why = f"listed by service account {account}"
        else:
            # The default service account often lists token Secrets long gone: no warning.
            log.debug("Secret %s of service account %s not found", name, account)
            return
        message = (
            f"Secret {name} {why} not found in namespace {isvc.namespace}: "
            f"{user} runs without its credentials"
        )
        recorder = self.ctx.recorder
        if await recorder.event(raw, kind="Warning", reason="SecretNotFound", message=message):
            log.warning("InferenceService %s: %s", isvc.name, message)

    async def copy_ca_bundle(self, isvc: Isvc) -> None:
        """The configured CA bundle ConfigMap, copied into the InferenceService's namespace."""
        ctx = self.ctx
        source_name = ctx.config.storage_initializer.ca_bundle_config_map_name
        if not source_name or not storage_initializer.injects(spec.predictor(isvc)):
            return
        source = await ctx.kube.get("ConfigMap", ctx.namespace, source_name)
        if source is None:
            log.warning(
                "CA bundle ConfigMap %s not found in namespace %s", source_name, ctx.namespace
            )
            return
        copy = storage_initializer.ca_bundle_copy(source, namespace=isvc.namespace)
        name = copy["metadata"]["name"]
        if diff.matches(copy, await ctx.kube.get("ConfigMap", isvc.namespace, name)):
            return
        log.info("Copying CA bundle %s to %s in namespace %s", source_name, name, isvc.namespace)
        await ctx.kube.apply(copy)
        ctx.on_write("apply", "ConfigMap")
