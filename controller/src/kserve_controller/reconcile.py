"""One pass for one InferenceService: read, build, apply what differs, write status.

Every decision lives in a pure module (spec, runtimes, build, diff, status); this module only
reads, writes and says what it did. Nothing is written when the cluster already matches.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import ValidationError

from kserve_controller import build, diff, runtimes, spec, status
from kserve_controller.api.inferenceservice import InferenceServiceSpec
from kserve_controller.build import (
    credentials,
    ingress,
    names,
    storage_initializer,
    storage_spec,
)
from kserve_controller.config import ControllerConfig
from kserve_controller.errors import InvalidSpec
from kserve_controller.kube.client import Kube
from kserve_controller.kube.errors import Forbidden
from kserve_controller.kube.events import Recorder
from kserve_controller.kube.watch import Watch

Obj = dict[str, Any]
log = logging.getLogger(__name__)

ISVC = "InferenceService"
SPOKEN = {
    "Deployment": "deployment",
    "Service": "service",
    "HorizontalPodAutoscaler": "horizontal pod autoscaler",
    "Ingress": "ingress",
}


class ObjectKey(NamedTuple):
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Context:
    """What a pass needs; the manager swaps `config` when the ConfigMap changes."""

    kube: Kube
    recorder: Recorder
    config: ControllerConfig
    namespace: str = "kserve"  # the controller's own (where the CA bundle source lives)
    # Caches fed by the manager's watches; without them every read is a GET.
    serving_runtimes: Watch | None = None
    cluster_runtimes: Watch | None = None
    caches: dict[str, Watch] = field(default_factory=dict)  # kind -> watch (one namespace set)
    now: Callable[[], str] = utcnow
    on_write: Callable[[str, str], None] = field(default=lambda verb, kind: None)
    # What we last applied per object: (digest of the desired object, resourceVersion after).
    # If nobody touched the object since, it is as we want it even when the apiserver
    # dropped or rewrote a field we set (a disabled feature gate, say): no write loop.
    applied: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)
    credentials_forbidden: bool = False  # said once: RBAC refuses service accounts or Secrets


async def reconcile(key: ObjectKey, *, ctx: Context) -> float | None:
    raw = await _get(ctx, ISVC, key.namespace, key.name)
    if raw is None or raw["metadata"].get("deletionTimestamp"):
        _forget(ctx, key)
        return None  # deleted: owned objects go by garbage collection
    config = ctx.config
    try:
        isvc = _read(raw, config)
        runtime = await _runtime(isvc, ctx)
        sources = {
            part.component: found
            for part in spec.components(isvc)
            if (found := await _credential_sources(ctx, part, raw)) is not None
        }
        desired = build.all_objects(isvc, runtime=runtime, config=config, sources=sources)
    except InvalidSpec as err:
        if await _write_status(ctx, raw, status.invalid(_read_loose(raw), err, now=ctx.now())):
            log.warning(
                "InferenceService %s in namespace %s cannot be served: %s: %s",
                key.name,
                key.namespace,
                err.reason,
                err.message,
            )
        await ctx.recorder.event(raw, kind="Warning", reason=err.reason, message=err.message)
        return err.retry_after
    await _copy_ca_bundle(ctx, isvc)
    observed = await _observe(ctx, isvc, desired)
    waiting = status.ingress_waits_for(
        isvc,
        deployment=observed.get(("Deployment", names.predictor(isvc))),
        others={p: observed.get(("Deployment", names.component(isvc, p))) for p in isvc.extras},
        config=config,
    )
    # Until the components are ready the Ingress is neither created nor updated (upstream).
    wanted = [o for o in desired.objects if waiting is None or o["kind"] != "Ingress"]
    changed = [o for o in wanted if _differs(ctx, o, observed.get(_ref(o)), isvc)]
    stale = [r for r in desired.unwanted if _owned(observed.get(r), isvc)]
    level = logging.INFO if changed or stale else logging.DEBUG
    log.log(level, "Reconciling inference service %s in namespace %s", key.name, key.namespace)
    done = [
        f"{'Created' if observed.get(_ref(o)) is None else 'Updated'} {' '.join(_ref(o))}"
        for o in changed
    ]
    # The objects do not depend on each other: apply them together (logged in order).
    applied = await asyncio.gather(*(_apply(ctx, o, before=observed.get(_ref(o))) for o in changed))
    observed.update({_ref(o): a for o, a in zip(changed, applied, strict=True)})
    for kind, name in stale:
        await _delete(ctx, kind, name, namespace=key.namespace)
        observed[(kind, name)] = None
        done.append(f"Deleted {kind} {name}")
    if done:  # one Event per pass that changed something, for `kubectl describe isvc`
        reason = "Created" if all(d.startswith("Created") for d in done) else "Updated"
        await ctx.recorder.event(raw, kind="Normal", reason=reason, message="; ".join(done))
    new = status.compute(
        isvc,
        deployment=observed.get(("Deployment", names.predictor(isvc))),
        others={p: observed.get(("Deployment", names.component(isvc, p))) for p in isvc.extras},
        ingress_obj=observed.get(("Ingress", isvc.name)),
        entry_service=observed.get(("Service", ingress.entry(isvc))),
        pods=await _pods(ctx, isvc),
        runtime=runtime,
        config=config,
        now=ctx.now(),
    )
    await _write_status(ctx, raw, new)
    return None


def _read(raw: Obj, config: ControllerConfig) -> spec.Isvc:
    try:
        InferenceServiceSpec.model_validate(raw.get("spec") or {})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidSpec("InvalidPredictorSpec", f"spec.{where}: {first['msg']}") from err
    isvc = spec.parse(raw)
    spec.check_supported(isvc, raw, config=config)
    return isvc


def _read_loose(raw: Obj) -> spec.Isvc:
    """Enough of a broken InferenceService to write its status."""
    meta = raw["metadata"]
    return spec.Isvc(
        name=meta["name"],
        namespace=meta["namespace"],
        uid=meta.get("uid", ""),
        generation=int(meta.get("generation") or 0),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        predictor={},
        model=None,
        status=dict(raw.get("status") or {}),
    )


async def _runtime(isvc: spec.Isvc, ctx: Context) -> runtimes.Runtime | None:
    if isvc.model is None:
        return None  # custom containers need no runtime
    if ctx.serving_runtimes is not None and ctx.cluster_runtimes is not None:
        namespaced = ctx.serving_runtimes.objects(isvc.namespace)
        cluster = ctx.cluster_runtimes.objects()
    else:
        namespaced, cluster = await asyncio.gather(
            ctx.kube.items("ServingRuntime", isvc.namespace),
            ctx.kube.items("ClusterServingRuntime"),
        )
    return runtimes.select(isvc.model, namespaced=namespaced, cluster=cluster)


async def _credential_sources(
    ctx: Context, isvc: spec.Isvc, raw: Obj
) -> credentials.Sources | None:
    """The service account (watch cache) and the Secrets it names (GET: never cached)."""
    if not storage_initializer.injects(isvc):
        return None
    cfg = ctx.config.credentials
    if isvc.storage_spec is not None:
        name = storage_spec.secret_name(isvc, config=cfg)
        try:
            secret = await ctx.kube.get("Secret", isvc.namespace, name)
        except Forbidden as err:
            _credentials_forbidden(ctx, err)
            secret = None
        return credentials.Sources(storage_config=secret)
    sa_name = credentials.service_account_name(isvc)
    try:
        account = await _get(ctx, "ServiceAccount", isvc.namespace, sa_name)
        wanted = credentials.secret_names(isvc, account, config=cfg)
        found = await asyncio.gather(*(ctx.kube.get("Secret", isvc.namespace, n) for n in wanted))
    except Forbidden as err:
        # An older chart's ClusterRole: serve without credentials rather than not at all.
        _credentials_forbidden(ctx, err)
        return None
    secrets = {n: s for n, s in zip(wanted, found, strict=True) if s is not None}
    for name in (n for n in wanted if n not in secrets):
        await _missing_secret(ctx, isvc, raw, name=name, account=sa_name)
    return credentials.Sources(service_account=account, secrets=secrets)


def _credentials_forbidden(ctx: Context, err: Forbidden) -> None:
    if not ctx.credentials_forbidden:
        ctx.credentials_forbidden = True
        log.error(
            "RBAC: cannot read storage credentials (%s); model downloads run without "
            "them. Upgrade the kserve chart: its ClusterRole grants get, list, watch on "
            "serviceaccounts and get on secrets",
            err.message,
        )


async def _missing_secret(
    ctx: Context, isvc: spec.Isvc, raw: Obj, *, name: str, account: str
) -> None:
    annotation = ctx.config.credentials.storage_secret_name_annotation
    if credentials.named_secret(isvc, config=ctx.config.credentials):
        why = f"named by annotation {annotation}"
    elif isvc.predictor.get("serviceAccountName"):
        why = f"listed by service account {account}"
    else:
        # The default service account often lists token Secrets long gone: not worth a warning.
        log.debug("Secret %s of service account %s not found", name, account)
        return
    message = (
        f"Secret {name} {why} not found in namespace {isvc.namespace}: "
        "the storage initializer runs without its credentials"
    )
    if await ctx.recorder.event(raw, kind="Warning", reason="SecretNotFound", message=message):
        log.warning("InferenceService %s: %s", isvc.name, message)


async def _copy_ca_bundle(ctx: Context, isvc: spec.Isvc) -> None:
    source_name = ctx.config.storage_initializer.ca_bundle_config_map_name
    if not source_name or not storage_initializer.injects(isvc):
        return
    source = await ctx.kube.get("ConfigMap", ctx.namespace, source_name)
    if source is None:
        log.warning("CA bundle ConfigMap %s not found in namespace %s", source_name, ctx.namespace)
        return
    copy = storage_initializer.ca_bundle_copy(source, namespace=isvc.namespace)
    name = copy["metadata"]["name"]
    if diff.matches(copy, await ctx.kube.get("ConfigMap", isvc.namespace, name)):
        return
    log.info("Copying CA bundle %s to %s in namespace %s", source_name, name, isvc.namespace)
    await ctx.kube.apply(copy)
    ctx.on_write("apply", "ConfigMap")


def _ref(obj: Obj) -> tuple[str, str]:
    return (obj["kind"], obj["metadata"]["name"])


async def _get(ctx: Context, kind: str, namespace: str, name: str) -> Obj | None:
    cache = ctx.caches.get(kind)
    if cache is not None:
        return cache.get(namespace, name)
    return await ctx.kube.get(kind, namespace, name)


async def _observe(ctx: Context, isvc: spec.Isvc, desired: build.Desired) -> dict[Any, Obj | None]:
    refs = [_ref(o) for o in desired.objects] + list(desired.unwanted)
    found = await asyncio.gather(*(_get(ctx, k, isvc.namespace, n) for k, n in refs))
    return dict(zip(refs, found, strict=True))


def _remember(ctx: Context, obj: Obj) -> None:
    cache = ctx.caches.get(obj.get("kind", ""))
    if cache is not None:
        cache.remember(obj)


def _owned(obj: Obj | None, isvc: spec.Isvc) -> bool:
    refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
    return any(r.get("uid") == isvc.uid for r in refs)


def _forget(ctx: Context, key: ObjectKey) -> None:
    for slot in [s for s in ctx.applied if s[1] == key.namespace]:
        if slot[2] == key.name or slot[2].startswith(f"{key.name}-"):
            del ctx.applied[slot]


def _digest(obj: Obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _version(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("resourceVersion", ""))


def _slot(obj: Obj) -> tuple[str, str, str]:
    return (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])


def _differs(ctx: Context, desired: Obj, observed: Obj | None, isvc: spec.Isvc) -> bool:
    if observed is None or not _owned(observed, isvc):
        return True
    if ctx.applied.get(_slot(desired)) == (_digest(desired), _version(observed)):
        return False
    # Owner references are checked above; other owners may be listed beside us.
    meta = {k: v for k, v in desired["metadata"].items() if k != "ownerReferences"}
    mine = {**desired, "metadata": meta}
    return not diff.matches(mine, observed)


async def _apply(ctx: Context, obj: Obj, *, before: Obj | None) -> Obj:
    kind, name, namespace = obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"]
    spoken = SPOKEN.get(kind, kind)
    if before is None:
        log.info("Creating %s %s in namespace %s", spoken, name, namespace)
    else:
        changed = diff.differences(obj, before)
        log.info("Updating %s %s in namespace %s: %s", spoken, name, namespace, _brief(changed))
    applied = await ctx.kube.apply(obj)
    applied.setdefault("kind", kind)
    ctx.applied[_slot(obj)] = (_digest(obj), _version(applied))
    _remember(ctx, applied)
    ctx.on_write("apply", kind)
    return applied


async def _delete(ctx: Context, kind: str, name: str, *, namespace: str) -> None:
    log.info("Deleting %s %s in namespace %s: no longer wanted", SPOKEN[kind], name, namespace)
    await ctx.kube.delete(kind, namespace, name)
    ctx.on_write("delete", kind)


def _brief(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return f"{shown} and {len(paths) - 3} more" if len(paths) > 3 else shown or "metadata"


async def _pods(ctx: Context, isvc: spec.Isvc) -> list[Obj]:
    labels = {"app": names.app(isvc)}
    pods = ctx.caches.get("Pod")
    if pods is not None:
        return pods.objects(isvc.namespace, labels=labels)
    return await ctx.kube.items("Pod", isvc.namespace, label_selector=f"app={names.app(isvc)}")


async def _write_status(ctx: Context, raw: Obj, new: Obj) -> bool:
    old = raw.get("status") or {}
    if new == old:
        return False
    meta = raw["metadata"]
    updated = await ctx.kube.apply_status(ISVC, meta["namespace"], meta["name"], new)
    updated.setdefault("kind", ISVC)
    _remember(ctx, updated)
    ctx.on_write("status", ISVC)
    was, now_ready = status.is_ready(old), status.is_ready(new)
    where = f"{meta['name']} in namespace {meta['namespace']}"
    if now_ready and not was:
        log.info("InferenceService %s is Ready at %s", where, new.get("url"))
        message = f"InferenceService [{meta['name']}] is Ready"
        await ctx.recorder.event(
            raw, kind="Normal", reason="InferenceServiceReady", message=message
        )
    elif was and not now_ready:
        why = ", ".join(status.not_ready_reasons(new))
        log.warning("InferenceService %s is no longer Ready: %s", where, why)
        message = f"InferenceService [{meta['name']}] is no longer Ready because of: {why}"
        await ctx.recorder.event(
            raw, kind="Warning", reason="InferenceServiceNotReady", message=message
        )
    else:
        ready = status.condition(new, status.READY) or {}
        log.debug("Status of %s: Ready=%s %s", where, ready.get("status"), ready.get("reason", ""))
    return True
