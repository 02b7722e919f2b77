"""The predictor: a model (format + storage) or a deprecated framework shorthand, or custom
containers, on top of the shared component fields."""

import re
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from kserve_controller.api import k8s_fields, openapi, predictor_rules, storage
from kserve_controller.api.base import PRESERVE, Cel, InlineKubeModel, KubeModel
from kserve_controller.api.component import ComponentSpec, WorkerSpec

ProtocolVersion = Literal["v1", "v2", "grpc-v1", "grpc-v2"]

# Deprecated `predictor.<framework>` shorthands, in upstream's order; each means
# `predictor.model.modelFormat.name: <framework>`.
FRAMEWORKS = (
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "pmml",
    "lightgbm",
    "paddle",
)

QUANTITY = re.compile(openapi.QUANTITY_PATTERN)
STORAGE_URI_RULE = Cel(rule=storage.URI_CEL, message=storage.URI_MESSAGE)


def _storage_uri(value: str) -> str:
    if not storage.accepted(value):
        raise ValueError(STORAGE_URI_RULE.message)
    return value


StorageUri = Annotated[
    str, Field(min_length=1, max_length=4096), STORAGE_URI_RULE, AfterValidator(_storage_uri)
]
NO_PYTHONPATH = Cel(
    rule="!has(self.env) || self.env.all(e, e.name != 'PYTHONPATH')",
    message="env: PYTHONPATH must not be set: it would replace the model server's own path",
    field_path=".env",
)
# Upstream refuses a non-empty name only: its SDK's `create` always sends `name: ""`. size()
# costs O(1) in CEL's budget; comparing strings of unbounded length would exceed it.
NO_CONTAINER_NAME = Cel(
    rule="!has(self.name) || size(self.name) == 0",
    message="name: not allowed here; the model server container is always kserve-container",
    field_path=".name",
)
DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
# Upstream's KBSResourceIdRegexp, or empty.
KBS_RESOURCE_ID = r"^(kbs:///[a-zA-Z0-9_.-]+/[a-zA-Z0-9_.-]+/[a-zA-Z0-9_.-]+)?$"


class StorageSpec(KubeModel):
    """Storage described by a key of the `storage-config` Secret instead of a URI."""

    path: str | None = None
    schema_path: str | None = None
    parameters: dict[str, str] | None = None
    key: str | None = None


class StorageUriSpec(KubeModel):
    """One artifact of a multi-artifact download (`storageUris`)."""

    uri: StorageUri
    mount_path: (
        Annotated[
            str,
            Field(max_length=255, pattern=r"^/.*"),
            Cel(
                rule="self != '/' && !self.contains('..')",
                message="mountPath: must be an absolute path other than / without '..'",
            ),
        ]
        | None
    ) = None


_PVC = "s.uri.startsWith('pvc://') && has(s.mountPath)"

# Several artifacts: one claim per mount path. (Upstream also wants the downloads under one
# parent directory; no CEL rule for it fits the apiserver's cost budget.)
StorageUris = Annotated[
    list[StorageUriSpec],
    Field(min_length=1, max_length=16),
    Cel(
        rule=f"self.filter(s, {_PVC}).all(a, self.filter(s, {_PVC} && "
        "s.mountPath == a.mountPath).size() == 1)",
        message="storageUris: the mountPaths of pvc:// entries must be unique",
    ),
]


class ConfidentialSpec(KubeModel):
    enabled: bool | None = None
    resource_id: Annotated[str, Field(pattern=KBS_RESOURCE_ID)] | None = None
    """A Key Broker Service resource: kbs:///<repo>/<type>/<tag>."""


class PredictorExtensionSpec(InlineKubeModel):
    """A framework shorthand or `model`: storage + protocol, and an inlined Container."""

    inline_definition: ClassVar[str] = k8s_fields.CONTAINER_DEFINITION
    inline_fields: ClassVar[frozenset[str]] = k8s_fields.CONTAINER
    cel_rules: ClassVar[tuple[Cel, ...]] = (
        NO_PYTHONPATH,
        NO_CONTAINER_NAME,
        predictor_rules.confidential(),
    )

    storage_uri: StorageUri | None = None
    """Where the model is: gs://, s3://, https://, pvc://, hf:// ... or a local path."""
    runtime_version: str | None = None
    """Image tag of the serving runtime to use instead of its default."""
    protocol_version: ProtocolVersion | None = None
    """Inference protocol: v1 (default), v2 (Open Inference Protocol), grpc-v1, grpc-v2."""
    storage: StorageSpec | None = None
    """Model location as a key of the storage-config Secret, instead of storageUri."""
    confidential: ConfidentialSpec | None = None
    # The inlined Container's fields the controller reads; the rest stay in `model_extra`.
    args: list[str] | None = None
    env: Annotated[list[dict[str, Any]], Field(max_length=256)] | None = None
    resources: dict[str, Any] | None = None
    image: str | None = None

    @model_validator(mode="after")
    def _container_rules(self) -> Self:
        if any(e.get("name") == "PYTHONPATH" for e in self.env or []):
            raise ValueError(NO_PYTHONPATH.message)
        if (self.model_extra or {}).get("name"):
            raise ValueError(NO_CONTAINER_NAME.message)
        for kind in ("limits", "requests"):
            for resource, value in ((self.resources or {}).get(kind) or {}).items():
                if not QUANTITY.match(str(value)):
                    raise ValueError(f"resources.{kind}.{resource}: {value!r} is not a quantity")
        return self


class ModelFormat(KubeModel):
    name: Annotated[str, Field(min_length=1)]
    version: str | None = None


class ModelSpec(PredictorExtensionSpec):
    """`predictor.model`: which format, optionally which runtime."""

    model_format: ModelFormat
    """The model's format (sklearn, xgboost, lightgbm ...) and optional version."""
    runtime: str | None = None
    """Name of the ServingRuntime or ClusterServingRuntime to use; chosen by format when unset."""


def _one_implementation_rule() -> Cel:
    present = ", ".join(f"has(self.{name})" for name in (*FRAMEWORKS, "model"))
    names = ", ".join((*FRAMEWORKS, "model"))
    return Cel(
        rule=f"[{present}].filter(x, x).size() == 1 || "
        f"([{present}].filter(x, x).size() == 0 && has(self.containers) "
        "&& size(self.containers) > 0)",
        message=f"exactly one of [{names}] (or custom containers) must be specified in predictor",
    )


def storage_uris_exclusive(storage_uri: str) -> Cel:
    """storageUris and the component's storageUri (`storage_uri`: a CEL test) exclude each other."""
    return Cel(
        rule=f"!has(self.storageUris) || !({storage_uri})",
        message="storageUris: cannot be used together with storageUri",
        field_path=".storageUris",
    )


def _storage_exclusive_rule() -> Cel:
    return storage_uris_exclusive(
        " || ".join(
            f"(has(self.{name}) && has(self.{name}.storageUri))" for name in (*FRAMEWORKS, "model")
        )
    )


class PredictorSpec(ComponentSpec):
    """`spec.predictor`."""

    cel_rules: ClassVar[tuple[Cel, ...]] = (
        *ComponentSpec.cel_rules,
        _one_implementation_rule(),
        _storage_exclusive_rule(),
        *predictor_rules.all_rules(),
    )

    name: Annotated[str, Field(max_length=63, pattern=DNS_LABEL)] | None = None
    """Names the workload <isvc>-<name>-predictor; required on canaries."""
    sklearn: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: sklearn."""
    xgboost: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: xgboost."""
    tensorflow: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: tensorflow."""
    pytorch: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: pytorch."""
    triton: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: triton."""
    onnx: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: onnx."""
    huggingface: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: huggingface."""
    pmml: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: pmml."""
    lightgbm: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: lightgbm."""
    paddle: PredictorExtensionSpec | None = None
    """Deprecated shorthand for model.modelFormat.name: paddle."""
    model: ModelSpec | None = None
    """The model to serve: format, storage, runtime, and container overrides."""
    storage_uris: StorageUris | None = None
    """Several artifacts, each downloaded to its own mountPath; excludes storageUri."""
    storage_container_name: str | None = None
    """ClusterStorageContainer that downloads the model, instead of matching by URI."""
    worker_spec: Annotated[WorkerSpec, PRESERVE] | None = None
    """Multi-node serving; accepted for compatibility, not served by this controller."""

    @model_validator(mode="after")
    def _one_implementation(self) -> Self:
        chosen = [name for name in (*FRAMEWORKS, "model") if getattr(self, name) is not None]
        if len(chosen) > 1 or (not chosen and not self.containers):
            raise ValueError(_one_implementation_rule().message)
        uris = [getattr(self, name).storage_uri for name in chosen]
        if self.storage_uris and any(uris):
            raise ValueError(_storage_exclusive_rule().message)
        return self

    def implementation(self) -> tuple[str, PredictorExtensionSpec] | None:
        """The model or shorthand in use, as (format name, spec); None for custom containers.

        `model` reports its modelFormat.name, a shorthand its framework name: the controller
        treats both alike (upstream's defaulting webhook rewrites shorthands into `model`).
        """
        if self.model is not None:
            return self.model.model_format.name, self.model
        for name in FRAMEWORKS:
            spec = getattr(self, name)
            if spec is not None:
                return name, spec
        return None
