"""TensorFlow runtime: a SavedModel served as TF Serving serves it.

Layouts: TF Serving's `<dir>/<version>/saved_model.pb` (highest version), a bare SavedModel
directory, or Triton's `<model>/<version>/model.savedmodel`. Requests pick a signature
(`signature_name`, else `serving_default`). V1 follows TF Serving's REST API: row format
(`instances`: a value, or an object of named inputs, per row) → `predictions`; columnar format
(`inputs`) → `outputs`; `{"b64": ...}` for string data both ways (outputs named `*_bytes`).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.inference import (
    InferRequest,
    InferResponse,
    ModelMetadata,
    PredictRequest,
    PredictResponse,
    Request,
    Response,
    Tensor,
    TensorSpec,
)
from kserve_server.runtimes import base, triton
from kserve_server.settings import ModelSpec

log = logging.getLogger(__name__)

DEFAULT_SIGNATURE = "serving_default"
# TF dtype names → V2 datatypes
DATATYPES = {
    "float32": "FP32",
    "float64": "FP64",
    "float16": "FP16",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "bool": "BOOL",
    "string": "BYTES",
}


@dataclass(frozen=True)
class Port:
    name: str
    dtype: str  # TF's dtype name: float32, string ...
    shape: list[int]  # -1: any

    @property
    def datatype(self) -> str:
        return DATATYPES.get(self.dtype, self.dtype.upper())


@dataclass(frozen=True)
class Signature:
    function: Any
    inputs: dict[str, Port]
    outputs: dict[str, Port]


def saved_model_dir(model_dir: Path, config: triton.ModelConfig | None = None) -> Path:
    """The SavedModel directory to load, in TF Serving's, a bare or Triton's layout."""
    if (model_dir / "saved_model.pb").is_file():
        return model_dir
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory {model_dir} does not exist")
    if config is not None:
        return triton.model_file(model_dir, config, "tensorflow")
    for version in triton.versions(model_dir):
        for candidate in (version, version / "model.savedmodel"):
            if (candidate / "saved_model.pb").is_file():
                return candidate
    listing = sorted(p.name for p in model_dir.iterdir())[:10]
    raise ModelLoadError(
        f"no SavedModel in {model_dir} (saved_model.pb, or <version>/saved_model.pb); "
        f"it contains {listing}"
    )


class TFModel(base.Model):
    platform = "tensorflow_savedmodel"

    def __init__(
        self, name: str, model_dir: Path, *, config: triton.ModelConfig | None = None
    ) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.config = config
        self.version = "1"
        self.loaded: Any = None
        self.signatures: dict[str, Signature] = {}

    def load(self) -> None:
        path = saved_model_dir(self.model_dir, self.config)
        import tensorflow as tf

        try:
            loaded = tf.saved_model.load(str(path))
        except Exception as exc:  # TF raises many kinds (OSError, DecodeError, ValueError ...)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"cannot load SavedModel {path}: {first}") from exc
        signatures = {}
        for key, function in loaded.signatures.items():
            _, kwargs = function.structured_input_signature
            inputs = {name: _port(name, spec) for name, spec in sorted(kwargs.items())}
            outputs = {
                name: _port(name, spec) for name, spec in function.structured_outputs.items()
            }
            signatures[key] = Signature(function=function, inputs=inputs, outputs=outputs)
        if not signatures:
            raise ModelLoadError(f"SavedModel {path} has no serving signatures")
        self.loaded, self.signatures = loaded, signatures
        version = path.name if path.name.isdigit() else path.parent.name
        self.version = str(int(version)) if version.isdigit() else "1"
        log.info(
            "model %s: loaded SavedModel %s (signatures %s)", self.name, path, list(signatures)
        )

    def unload(self) -> None:
        self.loaded, self.signatures = None, {}

    def v1_status(self) -> dict[str, Any]:
        """`GET /v1/models/{name}` as TF Serving answers it."""
        return {
            "model_version_status": [
                {
                    "version": self.version,
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }

    def signature(self, name: str | None) -> Signature:
        key = name or DEFAULT_SIGNATURE
        found = self.signatures.get(key)
        if found is None:
            raise InvalidInput(
                f"signature_name '{key}' is not a signature of model {self.name}; "
                f"it has {sorted(self.signatures)}"
            )
        return found

    def metadata(self) -> ModelMetadata:
        if not self.signatures:
            return ModelMetadata(platform=self.platform)
        sig = self.signatures.get(DEFAULT_SIGNATURE) or next(iter(self.signatures.values()))
        return ModelMetadata(
            platform=self.platform,
            inputs=[TensorSpec(p.name, p.datatype, p.shape) for p in sig.inputs.values()],
            outputs=[TensorSpec(p.name, p.datatype, p.shape) for p in sig.outputs.values()],
        )

    def signature_defs(self) -> dict[str, Signature]:
        return dict(self.signatures)

    # inference
    def predict(self, request: Request) -> Response:
        if isinstance(request, PredictRequest):
            return self._predict_v1(request)
        return self._predict_v2(request)

    def _predict_v2(self, request: InferRequest) -> InferResponse:
        sig = self.signature(request.parameters.get("signature_name"))
        for tensor in request.inputs:
            port = sig.inputs.get(tensor.name)
            if port is not None and tensor.datatype and tensor.datatype != port.datatype:
                raise InvalidInput(
                    f"input '{tensor.name}': datatype {tensor.datatype} does not match "
                    f"the model's {port.datatype}"
                )
        feeds = {t.name: t.data for t in request.inputs}
        wanted = [o.name for o in request.outputs] if request.outputs is not None else None
        results = self.run(sig, feeds, wanted)
        return InferResponse(
            outputs=[
                Tensor(name=name, datatype="", shape=list(value.shape), data=value)
                for name, value in results.items()
            ],
            model_version=self.version,
        )

    def _predict_v1(self, request: PredictRequest) -> PredictResponse:
        sig = self.signature(request.signature_name)
        if request.columnar is not None:
            results = self.run(sig, _columns(request.columnar, sig), None)
            outputs = {name: _json_value(name, value) for name, value in results.items()}
            single = next(iter(outputs.values())) if len(outputs) == 1 else outputs
            return PredictResponse(predictions=single, columnar=True)
        instances = request.instances
        if not instances:
            raise InvalidInput('"instances" is empty')
        results = self.run(sig, _rows(instances, sig), None)
        rows = len(instances)
        for name, value in results.items():
            if value.ndim == 0 or value.shape[0] != rows:
                raise InvalidInput(
                    f"output '{name}' has shape {list(value.shape)}, not one row per instance: "
                    'send the columnar format ("inputs") instead'
                )
        if len(results) == 1:
            ((name, value),) = results.items()
            return PredictResponse(predictions=[_json_value(name, row) for row in value])
        return PredictResponse(
            predictions=[
                {name: _json_value(name, value[i]) for name, value in results.items()}
                for i in range(rows)
            ]
        )

    def run(
        self, sig: Signature, feeds: dict[str, Any], wanted: list[str] | None
    ) -> dict[str, np.ndarray[Any, Any]]:
        """Call the signature with named numpy values; outputs by name (`wanted`: a subset)."""
        import tensorflow as tf

        unknown = [name for name in feeds if name not in sig.inputs]
        if unknown:
            raise InvalidInput(
                f"unknown input '{unknown[0]}' for model {self.name}; "
                f"its inputs are {list(sig.inputs)}"
            )
        missing = [name for name in sig.inputs if name not in feeds]
        if missing:
            raise InvalidInput(
                f"missing input(s) {missing}; model {self.name} takes {list(sig.inputs)}"
            )
        for name in wanted or []:
            if name not in sig.outputs:
                raise InvalidInput(
                    f"unknown output '{name}' for model {self.name}; "
                    f"its outputs are {list(sig.outputs)}"
                )
        tensors = {}
        for name, value in feeds.items():
            port = sig.inputs[name]
            array = _array(port, value)
            if port.shape and (
                array.ndim != len(port.shape)
                or any(w not in (-1, g) for w, g in zip(port.shape, array.shape, strict=True))
            ):
                raise InvalidInput(
                    f"input '{name}': shape {list(array.shape)} does not match "
                    f"the model's {port.shape}"
                )
            tensors[name] = tf.constant(array, dtype=port.dtype)
        try:
            outputs = sig.function(**tensors)
        except tf.errors.InvalidArgumentError as exc:
            raise InvalidInput(exc.message.strip().splitlines()[0]) from None
        names = wanted if wanted is not None else list(sig.outputs)
        return {name: outputs[name].numpy() for name in names}


def _array(port: Port, value: Any) -> np.ndarray[Any, Any]:
    """A request value as the input's dtype; a value that does not fit is a 400 naming it."""
    try:
        if port.dtype == "string":
            array = np.asarray(value, dtype=object)
            bad = [v for v in array.reshape(-1).tolist() if not isinstance(v, str | bytes)]
            if bad:
                raise ValueError(f"{bad[0]!r} is not a string")
            return array
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"got {array.dtype.kind!r} data")
        wanted = np.dtype(port.dtype)
        if wanted.kind in "iu" and array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
            raise ValueError("got fractional numbers")
        return array.astype(wanted)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"input '{port.name}': not {port.dtype}: {exc}") from None


def _port(name: str, spec: Any) -> Port:
    shape = [-1 if d is None else int(d) for d in spec.shape] if spec.shape.rank is not None else []
    return Port(name=name, dtype=spec.dtype.name, shape=shape)


def _unwrap(value: Any) -> Any:
    """TF Serving's JSON: `{"b64": "..."}` is bytes, anywhere in a value."""
    if isinstance(value, dict) and set(value) == {"b64"}:
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError):
            raise InvalidInput('a "b64" value is not valid base64') from None
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def _rows(instances: list[Any], sig: Signature) -> dict[str, Any]:
    """Row format: one value per instance for a single-input signature, else objects."""
    first = instances[0]
    named = isinstance(first, dict) and set(first) != {"b64"}
    if not named:
        if len(sig.inputs) != 1:
            raise InvalidInput(
                f"this signature takes inputs {list(sig.inputs)}: send one object per instance "
                "naming them"
            )
        return {next(iter(sig.inputs)): [_unwrap(row) for row in instances]}
    columns: dict[str, list[Any]] = {}
    for index, row in enumerate(instances):
        if not isinstance(row, dict) or set(row) != set(first):
            raise InvalidInput(f"instance {index} does not name the same inputs as instance 0")
        for name, value in row.items():
            columns.setdefault(name, []).append(_unwrap(value))
    return columns


def _columns(inputs: Any, sig: Signature) -> dict[str, Any]:
    """Columnar format: an object of named inputs, or the single input's value."""
    if isinstance(inputs, dict) and set(inputs) != {"b64"}:
        return {name: _unwrap(value) for name, value in inputs.items()}
    if len(sig.inputs) != 1:
        raise InvalidInput(f"this signature takes inputs {list(sig.inputs)}: name them")
    return {next(iter(sig.inputs)): _unwrap(inputs)}


def _json_value(name: str, value: Any) -> Any:
    """An output as TF Serving writes it: strings as text, or b64 objects for `*_bytes`."""
    array = np.asarray(value)
    if array.dtype.kind not in "OSU":
        return array
    if name.endswith("_bytes"):
        return _map(array.tolist(), lambda b: {"b64": base64.b64encode(b).decode("ascii")})
    return _map(
        array.tolist(), lambda b: b.decode("utf-8", "replace") if isinstance(b, bytes) else b
    )


def _map(value: Any, leaf: Any) -> Any:
    if isinstance(value, list):
        return [_map(item, leaf) for item in value]
    return leaf(value)


def create(spec: ModelSpec) -> TFModel:
    """`--framework=tensorflow`: a SavedModel in TF Serving's layout."""
    return TFModel(spec.name, spec.model_dir)
