"""Triton's model repository layout: `<model>/config.pbtxt` + `<model>/<version>/<file>`.

Upstream's kserve-tritonserver serves ONNX and TensorFlow models this way; we read the same
layout and hand each model to the runtime of its backend. A backend we do not serve (TensorRT,
PyTorch, Triton's python backend) becomes a model that fails to load with a reason naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kserve_server.errors import ModelLoadError
from kserve_server.runtimes import pbtxt
from kserve_server.runtimes.base import Model
from kserve_server.settings import ModelSpec

CONFIG = "config.pbtxt"
# Triton's `platform` values → its backend names
PLATFORMS = {
    "onnxruntime_onnx": "onnxruntime",
    "tensorflow_savedmodel": "tensorflow",
    "tensorflow_graphdef": "tensorflow",
    "tensorrt_plan": "tensorrt",
    "pytorch_libtorch": "pytorch",
}
# each backend's default model file (or directory) in a version directory
DEFAULT_FILES = {
    "onnxruntime": "model.onnx",
    "tensorflow": "model.savedmodel",
    "tensorrt": "model.plan",
    "pytorch": "model.pt",
    "python": "model.py",
}
SERVED = ("onnxruntime", "tensorflow")


@dataclass(frozen=True)
class TensorConfig:
    name: str
    datatype: str  # V2 name: FP32, BYTES ...
    dims: list[int]


@dataclass(frozen=True)
class ModelConfig:
    """The parts of a config.pbtxt this server honours."""

    name: str = ""
    backend: str = ""
    max_batch_size: int = 0
    default_model_filename: str = ""
    inputs: list[TensorConfig] = field(default_factory=list)
    outputs: list[TensorConfig] = field(default_factory=list)

    def shape(self, tensor: TensorConfig) -> list[int]:
        """The full shape: with max_batch_size > 0, dims exclude the batch dimension."""
        return [-1, *tensor.dims] if self.max_batch_size > 0 else list(tensor.dims)


def read_config(model_dir: Path) -> ModelConfig | None:
    path = model_dir / CONFIG
    if not path.is_file():
        return None
    raw = pbtxt.parse(path.read_text(errors="replace"), source=str(path))
    backend = str(raw.get("backend") or PLATFORMS.get(str(raw.get("platform") or ""), ""))
    return ModelConfig(
        name=str(raw.get("name") or ""),
        backend=backend or str(raw.get("platform") or ""),
        max_batch_size=int(raw.get("max_batch_size") or 0),
        default_model_filename=str(raw.get("default_model_filename") or ""),
        inputs=[_tensor(t, path) for t in pbtxt.repeated(raw, "input")],
        outputs=[_tensor(t, path) for t in pbtxt.repeated(raw, "output")],
    )


def _tensor(raw: object, path: Path) -> TensorConfig:
    if not isinstance(raw, dict) or "name" not in raw:
        raise ModelLoadError(f"{path}: an input or output has no name")
    datatype = str(raw.get("data_type") or "")
    datatype = datatype.removeprefix("TYPE_")
    datatype = "BYTES" if datatype == "STRING" else datatype
    return TensorConfig(
        name=str(raw["name"]), datatype=datatype, dims=[int(d) for d in pbtxt.repeated(raw, "dims")]
    )


def versions(model_dir: Path) -> list[Path]:
    """Numeric version directories, highest first."""
    found = [d for d in model_dir.iterdir() if d.is_dir() and d.name.isdigit()]
    return sorted(found, key=lambda d: int(d.name), reverse=True)


def is_model_dir(path: Path) -> bool:
    return path.is_dir() and ((path / CONFIG).is_file() or bool(versions(path)))


def model_file(model_dir: Path, config: ModelConfig | None, backend: str) -> Path:
    """The file (or SavedModel directory) of the highest version that has one."""
    name = (config.default_model_filename if config else "") or DEFAULT_FILES.get(backend, "")
    candidates = versions(model_dir)
    for version in candidates:
        if (version / name).exists():
            return version / name
    shown = [d.name for d in candidates]
    raise ModelLoadError(f"no {name} in the version directories {shown} of {model_dir}")


def detect_backend(model_dir: Path) -> str:
    """The backend of a model without config.pbtxt (or without backend/platform in it); a bare
    `*.onnx` file or SavedModel (no version directory: upstream's flat samples) counts too."""
    if (model_dir / "saved_model.pb").is_file():
        return "tensorflow"
    if model_dir.is_dir() and any(p.suffix == ".onnx" for p in model_dir.iterdir()):
        return "onnxruntime"
    for version in versions(model_dir):
        for backend, name in DEFAULT_FILES.items():
            if (version / name).exists():
                return backend
        if (version / "saved_model.pb").is_file():
            return "tensorflow"
    raise ModelLoadError(
        f"{model_dir}: no config.pbtxt naming a backend and no model file in a version directory"
    )


def discover(spec: ModelSpec) -> list[ModelSpec]:
    """The models of a Triton repository: the directory itself when it is one model, else each
    sub-directory that is one, named by the directory (as Triton names them)."""
    root = spec.model_dir
    if not root.is_dir() or is_model_dir(root):
        return [spec]
    found = [d for d in sorted(root.iterdir()) if not d.name.startswith(".") and is_model_dir(d)]
    if not found:
        return [spec]
    return spec.per_directory(found)


class Unservable(Model):
    """A model whose backend this server does not run: it fails to load, saying so."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name)
        self.reason = reason

    def load(self) -> None:
        raise ModelLoadError(self.reason)

    def predict(self, request: object) -> object:  # type: ignore[override]
        raise ModelLoadError(self.reason)


def create(spec: ModelSpec) -> Model:
    """The runtime for one model of a Triton repository, chosen by its backend."""
    try:
        config = read_config(spec.model_dir) if spec.model_dir.is_dir() else None
        backend = (config.backend if config else "") or detect_backend(spec.model_dir)
    except ModelLoadError as err:
        return Unservable(spec.name, str(err))
    if backend == "onnxruntime":
        from kserve_server.runtimes import onnx

        return onnx.OnnxModel(spec.name, spec.model_dir, config=config, threads=spec.nthread)
    if backend == "tensorflow":
        from kserve_server.runtimes import tensorflow

        return tensorflow.TFModel(spec.name, spec.model_dir, config=config)
    reason = (
        f"backend {backend!r} of model {spec.name} is not served here; "
        f"this Triton-compatible runtime serves {list(SERVED)}"
    )
    if backend == "pytorch":  # upstream's kserve-tritonserver lists pytorch, not auto-selected
        reason += (
            "; PyTorch models are served by the ClusterServingRuntime kserve-torchserve "
            "(modelFormat pytorch, selected by default)"
        )
    return Unservable(spec.name, reason)
