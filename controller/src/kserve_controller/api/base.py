"""Shared pieces of every CRD model: camelCase wire names, and markers the CRD generator reads.

Kubernetes' own types embedded in our CRDs (containers, tolerations, affinity ...) stay plain
dicts here: their schema comes from the apiserver's OpenAPI (see `K8s`), and the controller's
builders pass them through untouched.
"""

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel


@dataclass(frozen=True)
class K8s:
    """Marks a value whose CRD schema is the named definition of the apiserver's OpenAPI."""

    definition: str


@dataclass(frozen=True)
class Cel:
    """A CEL rule (x-kubernetes-validations) on a field's or a model's CRD schema.

    `message` should name the field; `field_path` (relative, e.g. ".minReplicas") makes the
    apiserver report the error at that field.
    """

    rule: str
    message: str
    field_path: str | None = None


@dataclass(frozen=True)
class Nested:
    """OpenAPI keywords for a node inside a field's schema, e.g. a bound a CEL rule needs on
    `items.properties.env` of Kubernetes' container list."""

    path: tuple[str, ...]
    keywords: tuple[tuple[str, Any], ...]


# eq=False: hashed by identity, so keyword values may be dicts (a type hint hashes its markers).
@dataclass(frozen=True, eq=False)
class Schema:
    """Extra OpenAPI keywords for a field's CRD schema (enum-free rules, CEL, list types)."""

    extra: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, **keywords: Any) -> "Schema":
        return cls(tuple(keywords.items()))


class KubeModel(BaseModel):
    """A CRD object part: camelCase on the wire, snake_case in Python, unknown fields refused.

    Refusing unknown fields matters for YAML that never passed an apiserver (`make serve`): a typo
    is an error there too, as it is for `kubectl apply`.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        protected_namespaces=(),
        # A docstring under a field becomes its CRD description (`kubectl explain`).
        use_attribute_docstrings=True,
    )

    # CEL rules attached to this object's schema by the CRD generator.
    cel_rules: ClassVar[tuple[Cel, ...]] = ()

    def wire(self) -> dict[str, Any]:
        """The object as the apiserver stores it: camelCase keys, unset fields left out."""
        return self.model_dump(mode="json", exclude_none=True)


class InlineKubeModel(KubeModel):
    """A model that inlines a Kubernetes type (Go struct embedding), e.g. PodSpec or Container.

    The inlined type's fields are accepted as extra keys (kept as plain data in `model_extra`)
    when they belong to `inline_fields`; anything else is refused like in `KubeModel`.
    """

    model_config = ConfigDict(extra="allow")

    # OpenAPI definition whose properties this model inlines, and their names.
    inline_definition: ClassVar[str] = ""
    inline_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _known_inline_fields(self) -> "InlineKubeModel":
        unknown = sorted(set(self.model_extra or {}) - self.inline_fields)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        return self

    def inline(self) -> dict[str, Any]:
        """The inlined Kubernetes type's fields that were set (plain data, camelCase)."""
        declared = self.model_dump(mode="json", exclude_none=True, include=self._inline_declared())
        return {**declared, **(self.model_extra or {})}

    def _inline_declared(self) -> set[str]:
        # Fields declared on the model for convenience that are really the inlined type's.
        return {
            name
            for name, info in type(self).model_fields.items()
            if (info.alias or name) in self.inline_fields
        }


# A free-form object the apiserver keeps as given (for parts we do not model).
PRESERVE = Schema.of(**{"x-kubernetes-preserve-unknown-fields": True, "type": "object"})

# Kubernetes types used in more than one model.
Container = Annotated[dict[str, Any], K8s("io.k8s.api.core.v1.Container")]
Volume = Annotated[dict[str, Any], K8s("io.k8s.api.core.v1.Volume")]
Toleration = Annotated[dict[str, Any], K8s("io.k8s.api.core.v1.Toleration")]
Affinity = Annotated[dict[str, Any], K8s("io.k8s.api.core.v1.Affinity")]
EnvVar = Annotated[dict[str, Any], K8s("io.k8s.api.core.v1.EnvVar")]
ResourceRequirements = Annotated[dict[str, Any], K8s("io.k8s.api.core.v1.ResourceRequirements")]
LocalObjectReference = Annotated[dict[str, Any], K8s("io.k8s.api.core.v1.LocalObjectReference")]
PodResourceClaim = Annotated[dict[str, Any], K8s("io.k8s.api.core.v1.PodResourceClaim")]
DeploymentStrategy = Annotated[dict[str, Any], K8s("io.k8s.api.apps.v1.DeploymentStrategy")]
HPABehavior = Annotated[
    dict[str, Any], K8s("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerBehavior")
]
Quantity = Annotated[str | int | float, K8s("io.k8s.apimachinery.pkg.api.resource.Quantity")]
ObjectMetaDict = Annotated[dict[str, Any], K8s("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")]
