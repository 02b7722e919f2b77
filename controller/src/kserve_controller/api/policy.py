"""InferenceService rules upstream's webhook derives from annotations, as a
ValidatingAdmissionPolicy: a CRD's own CEL rules see only metadata.name, a policy's see the
whole object. Pure: documents out; the CRD generator writes them next to the CRDs.

"Standard" here is what this controller runs: the annotation absent, Standard or RawDeployment.
The HPA and KEDA rules apply there with that autoscaler class, the Knative (KPA) rules only with
an explicit Serverless/Knative annotation (which this controller reports NotSupported anyway).
"""

from typing import Any

from kserve_controller.api import inferenceservice

NAME = f"{inferenceservice.PLURAL}.{inferenceservice.GROUP}"
MODE = "serving.kserve.io/deploymentMode"
CLASS = "serving.kserve.io/autoscalerClass"
CLASSES = ("hpa", "external", "keda", "none")
HPA_METRICS = ("cpu", "memory")
KPA_METRICS = ("concurrency", "rps")
COMPONENTS = ("predictor", "transformer", "explainer")


def _annotation(key: str) -> str:
    return (
        f"has(object.metadata.annotations) && '{key}' in object.metadata.annotations ? "
        f"object.metadata.annotations['{key}'] : ''"
    )


VARIABLES = (
    ("mode", _annotation(MODE)),
    ("autoscaler", _annotation(CLASS)),
    ("standard", "variables.mode in ['', 'Standard', 'RawDeployment']"),
    ("hpa", "variables.standard && variables.autoscaler == 'hpa'"),
    ("keda", "variables.standard && variables.autoscaler == 'keda'"),
    ("kpa", "variables.mode in ['Serverless', 'Knative']"),
)


def _per_component(condition: str, holds: str, message: str) -> list[tuple[str, str]]:
    """One rule per component: when `condition`, `holds` ({c} is the component) must hold."""
    out = []
    for name in COMPONENTS:
        c = f"object.spec.{name}"
        out.append(
            (
                f"!has({c}) || !({condition}) || ({holds.format(c=c)})",
                f"spec.{name}.{message}",
            )
        )
    return out


def _keda_metrics(holds: str, message: str) -> list[tuple[str, str]]:
    """A rule on each autoScaling metric `m` of each component, with the KEDA autoscaler."""
    return _per_component(
        "variables.keda",
        "!has({c}.autoScaling) || !has({c}.autoScaling.metrics) || "
        "{c}.autoScaling.metrics.all(m, " + holds + ")",
        message,
    )


def _targets(kind: str, block: str) -> str:
    """Upstream's validateScaleTarget on `m.<block>.target` of metrics of type `kind`."""
    t = f"m.{block}.target"
    kind_of = f"(has({t}.type) ? {t}.type : '')"  # optional: an absent key is an eval error
    return (
        f"m.type != '{kind}' || !has(m.{block}) || ("
        f"({kind_of} != 'Utilization' || (has({t}.averageUtilization) && "
        f"{t}.averageUtilization >= 1 && {t}.averageUtilization <= 100)) && "
        f"({kind_of} != 'AverageValue' || has({t}.averageValue)) && "
        f"({kind_of} != 'Value' || has({t}.value)))"
    )


def validations() -> list[tuple[str, str]]:
    """(CEL expression, message naming the field) for every rule of the policy."""
    classes = ", ".join(f"'{c}'" for c in CLASSES)
    rules = [
        (
            f"variables.autoscaler == '' || variables.autoscaler in [{classes}]",
            f"metadata.annotations[{CLASS}]: must be one of {', '.join(CLASSES)}",
        ),
        (
            "!has(object.spec.predictor.workerSpec) || !has(object.spec.predictor.model) || "
            "variables.autoscaler == 'none'",
            f"metadata.annotations[{CLASS}]: multi-node (workerSpec) needs the 'none' "
            "autoscaler class",
        ),
    ]
    hpa = ", ".join(f"'{m}'" for m in HPA_METRICS)
    rules += _per_component(
        "variables.hpa",
        f"!has({{c}}.scaleMetric) || {{c}}.scaleMetric in [{hpa}]",
        "scaleMetric: the hpa autoscaler supports cpu and memory",
    )
    rules += _per_component(
        "variables.hpa",
        "!has({c}.autoScaling) || !has({c}.autoScaling.metrics) || "
        "{c}.autoScaling.metrics.all(m, m.type == 'Resource')",
        "autoScaling.metrics: the hpa autoscaler supports Resource metrics only",
    )
    rules += _per_component(
        "variables.keda",
        "!has({c}.scaleMetric)",
        "scaleMetric: not supported with the keda autoscaler; use autoScaling.metrics",
    )
    rules += _keda_metrics(
        "m.type != 'Resource' || !has(m.resource) || m.resource.name != 'cpu' || "
        "(has(m.resource.target.type) && m.resource.target.type == 'Utilization')",
        "autoScaling.metrics: the cpu target type must be Utilization",
    )
    rules += _keda_metrics(
        "m.type != 'Resource' || !has(m.resource) || m.resource.name != 'memory' || "
        "(has(m.resource.target.type) && "
        "m.resource.target.type in ['AverageValue', 'Utilization'] && "
        "(m.resource.target.type != 'AverageValue' || !has(m.resource.target.averageValue) || "
        "quantity(string(m.resource.target.averageValue)).compareTo(quantity('1Mi')) >= 0))",
        "autoScaling.metrics: a memory target is Utilization or an AverageValue of at least 1Mi",
    )
    for kind, block in (("Resource", "resource"), ("External", "external"),
                        ("PodMetric", "podmetric")):  # fmt: skip
        rules += _keda_metrics(
            _targets(kind, block),
            f"autoScaling.metrics: a {kind} target needs averageUtilization (1-100), "
            "averageValue or value as its type says",
        )
    for kind, block in (("External", "external"), ("PodMetric", "podmetric")):
        rules += _keda_metrics(
            f"m.type != '{kind}' || !has(m.{block}) || (has(m.{block}.metric.query) && "
            f"size(m.{block}.metric.query) > 0 && has(m.{block}.target.value))",
            f"autoScaling.metrics: a {kind} metric needs a query and a target value",
        )
    kpa = ", ".join(f"'{m}'" for m in KPA_METRICS)
    rules += _per_component(
        "variables.kpa",
        f"!has({{c}}.scaleMetric) || {{c}}.scaleMetric in [{kpa}]",
        "scaleMetric: Knative's autoscaler supports concurrency and rps",
    )
    rules += _per_component(
        "variables.kpa",
        "!has({c}.deploymentStrategy)",
        "deploymentStrategy: customizing it is only supported in Standard (raw) mode",
    )
    return rules


def documents() -> dict[str, dict[str, Any]]:
    """File stem → the policy and its binding (Deny)."""
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": NAME},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [inferenceservice.GROUP],
                        "apiVersions": [inferenceservice.VERSION],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [inferenceservice.PLURAL],
                    }
                ]
            },
            "variables": [{"name": n, "expression": e} for n, e in VARIABLES],
            "validations": [
                {"expression": e, "message": m, "reason": "Invalid"} for e, m in validations()
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": NAME},
        "spec": {"policyName": NAME, "validationActions": ["Deny"]},
    }
    return {
        "validatingadmissionpolicy_inferenceservices": policy,
        "validatingadmissionpolicybinding_inferenceservices": binding,
    }
