"""CEL rules of a predictor that upstream's validating webhook enforces in Go, for the CRD.

Each names the field it is about. They sit on the predictor (not on one framework's spec) when
they look at more than one of its fields, and are cheap in CEL's cost budget: the predictor's
schema appears twice (spec.predictor, spec.canary[].predictor).
"""

from kserve_controller.api.base import Cel
from kserve_controller.api.component import WORKER_ENV

# Frameworks whose upstream Validate() checks `storage` against storageUri.
STORAGE_SPEC_FRAMEWORKS = ("huggingface", "onnx", "pmml", "tensorflow", "pytorch")
# Upstream's SupportedStorageSpecURIPrefixList.
STORAGE_SPEC_SCHEMES = ("s3", "hdfs", "webhdfs")
GPU = "nvidia.com/gpu"


def multi_node() -> tuple[Cel, ...]:
    """A workerSpec beside `model`: sizes in the workerSpec, a pvc:// or oci:// model."""
    return (
        Cel(
            rule="!has(self.workerSpec) || !has(self.model) || !has(self.model.env) || "
            "self.model.env.all(e, "
            + " && ".join(f"e.name != '{name}'" for name in WORKER_ENV)
            + ")",
            message=f"model.env: {' and '.join(WORKER_ENV)} must not be set with a workerSpec: "
            "its pipelineParallelSize and tensorParallelSize say them",
            field_path=".model.env",
        ),
        Cel(
            rule="!has(self.workerSpec) || !has(self.model) || has(self.model.storageUri)",
            message="model.storageUri: required with a workerSpec (multi-node)",
            field_path=".model",
        ),
        Cel(
            rule="!has(self.workerSpec) || !has(self.model) || !has(self.model.storageUri) || "
            "self.model.storageUri.startsWith('pvc://') || "
            "self.model.storageUri.startsWith('oci://')",
            message="model.storageUri: multi-node (workerSpec) serves only pvc:// and oci:// "
            "models",
            field_path=".model.storageUri",
        ),
    )


def collocated_transformer() -> Cel:
    return Cel(
        rule="!has(self.containers) || self.containers.all(c, c.name != "
        "'transformer-container' || !has(c.env) || c.env.all(e, e.name != 'STORAGE_URI'))",
        message="containers: the transformer-container must not set STORAGE_URI",
        field_path=".containers",
    )


def custom_protocol() -> Cel:
    """A custom predictor's PROTOCOL env is v1 or v2, as upstream's CustomPredictor checks."""
    return Cel(
        rule="has(self.model) || !has(self.containers) || size(self.containers) == 0 || "
        "!has(self.containers[0].env) || self.containers[0].env.all(e, e.name != 'PROTOCOL' "
        "|| (has(e.value) && (e.value == 'v1' || e.value == 'v2')))",
        message="containers[0].env: PROTOCOL must be v1 or v2",
        field_path=".containers",
    )


def _framework(name: str, *, holds: str, message: str, field: str) -> Cel:
    """A rule on one framework's spec: `holds` ({s} stands for the spec) or it is absent."""
    spec = f"self.{name}"
    return Cel(
        rule=f"!has({spec}) || " + holds.format(s=spec),
        message=f"{name}.{message}",
        field_path=f".{name}.{field}",
    )


def onnx_extension() -> Cel:
    return _framework(
        "onnx",
        holds="!has({s}.storageUri) || !{s}.storageUri.matches('[.][^./]*$') || "
        "{s}.storageUri.endsWith('.onnx')",
        message="storageUri: a file must have the extension .onnx",
        field="storageUri",
    )


def gpu_runtime(framework: str) -> Cel:
    """A GPU in limits needs the runtime's -gpu image tag (upstream's validateGPU)."""
    return _framework(
        framework,
        holds="!has({s}.runtimeVersion) || !has({s}.resources) || !has({s}.resources.limits) "
        f"|| !('{GPU}' in {{s}}.resources.limits) || {{s}}.runtimeVersion.contains('-gpu')",
        message=f"runtimeVersion: must be a -gpu version when {GPU} is requested",
        field="runtimeVersion",
    )


def storage_spec(framework: str) -> Cel:
    """`storage` with a storageUri of an s3-like scheme, or a `type` parameter of one."""
    prefixes = " || ".join(f"{{s}}.storageUri.startsWith('{x}://')" for x in STORAGE_SPEC_SCHEMES)
    types = ", ".join(f"'{x}'" for x in STORAGE_SPEC_SCHEMES)
    return _framework(
        framework,
        holds=f"!has({{s}}.storage) || (has({{s}}.storageUri) ? ({prefixes}) : "
        "(!has({s}.storage.parameters) || !('type' in {s}.storage.parameters) || "
        f"{{s}}.storage.parameters['type'] in [{types}]))",
        message="storage: with storage, storageUri and parameters.type must be one of "
        + ", ".join(STORAGE_SPEC_SCHEMES),
        field="storage",
    )


def confidential() -> Cel:
    """Confidential serving decrypts what the initializer downloads: it needs a storageUri."""
    return Cel(
        rule="!has(self.confidential) || !has(self.confidential.enabled) || "
        "!self.confidential.enabled || has(self.storageUri)",
        message="confidential: model serving requires storageUri to be set",
        field_path=".confidential",
    )


def all_rules() -> tuple[Cel, ...]:
    return (
        *multi_node(),
        collocated_transformer(),
        custom_protocol(),
        onnx_extension(),
        gpu_runtime("tensorflow"),
        gpu_runtime("pytorch"),
        *(storage_spec(f) for f in STORAGE_SPEC_FRAMEWORKS),
    )
