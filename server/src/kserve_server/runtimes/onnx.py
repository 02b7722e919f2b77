"""ONNX runtime on onnxruntime (CPU): one `.onnx` file, or one model of a Triton repository.

The model's own input and output names, datatypes and shapes are served (metadata) and enforced
(a wrong name, datatype or shape is a 400 naming the input); a config.pbtxt beside the model
must agree with the graph. V1 `instances` feed the single input, or, as objects, named inputs.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.inference import (
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

# onnxruntime's type strings → (V2 datatype, numpy dtype)
TYPES: dict[str, tuple[str, Any]] = {
    "tensor(float)": ("FP32", np.float32),
    "tensor(double)": ("FP64", np.float64),
    "tensor(float16)": ("FP16", np.float16),
    "tensor(int8)": ("INT8", np.int8),
    "tensor(int16)": ("INT16", np.int16),
    "tensor(int32)": ("INT32", np.int32),
    "tensor(int64)": ("INT64", np.int64),
    "tensor(uint8)": ("UINT8", np.uint8),
    "tensor(uint16)": ("UINT16", np.uint16),
    "tensor(uint32)": ("UINT32", np.uint32),
    "tensor(uint64)": ("UINT64", np.uint64),
    "tensor(bool)": ("BOOL", np.bool_),
    "tensor(string)": ("BYTES", object),
}


@dataclass(frozen=True)
class Port:
    """A graph input or output: V2 datatype (empty: not a tensor), shape with -1 for free dims."""

    name: str
    datatype: str
    shape: list[int]
    dtype: Any

    @classmethod
    def of(cls, node: Any) -> Port:
        datatype, dtype = TYPES.get(node.type, ("", None))
        shape = [d if isinstance(d, int) and d >= 0 else -1 for d in (node.shape or [])]
        return cls(name=node.name, datatype=datatype, shape=shape, dtype=dtype)

    @functools.cached_property
    def fixed(self) -> list[tuple[int, int]]:
        """(axis, size) of the dimensions the model fixes: the per-request shape check."""
        return [(axis, size) for axis, size in enumerate(self.shape) if size >= 0]

    def spec(self) -> TensorSpec:
        return TensorSpec(self.name, self.datatype, list(self.shape))


class OnnxModel(base.Model):
    platform = "onnxruntime_onnx"
    suffixes = (".onnx",)

    def __init__(
        self,
        name: str,
        model_dir: Path,
        *,
        config: triton.ModelConfig | None = None,
        threads: int = 1,
    ) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.config = config
        self.threads = threads
        self.session: Any = None
        self.inputs: list[Port] = []
        self.outputs: list[Port] = []
        self._inputs: dict[str, Port] = {}
        self._tensor_outputs: list[str] = []
        self._datatypes: dict[str, str] = {}  # output name → V2 datatype (onnxruntime's type)

    def model_file(self) -> Path:
        if self.model_dir.is_dir() and (self.config is not None or triton.versions(self.model_dir)):
            return triton.model_file(self.model_dir, self.config, "onnxruntime")
        return base.find_model_file(self.model_dir, suffixes=self.suffixes, framework="onnx")

    def load(self) -> None:
        if self.config is None and self.model_dir.is_dir():
            self.config = triton.read_config(self.model_dir)
        path = self.model_file()
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: warnings about unused initializers are noise
        try:
            session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own pybind error types
            raise ModelLoadError(f"cannot load ONNX model {path.name}: {exc}") from exc
        self.inputs = [Port.of(node) for node in session.get_inputs()]
        self.outputs = [Port.of(node) for node in session.get_outputs()]
        if self.config is not None:
            self._check_config(self.config)
        self._inputs = {port.name: port for port in self.inputs}
        self._tensor_outputs = [port.name for port in self.outputs if port.datatype]
        self._datatypes = {port.name: port.datatype for port in self.outputs}
        self.session = session
        log.info(
            "model %s: loaded %s (inputs %s, outputs %s)",
            self.name,
            path,
            [p.name for p in self.inputs],
            [p.name for p in self.outputs],
        )

    def _check_config(self, config: triton.ModelConfig) -> None:
        """config.pbtxt must name the graph's tensors with their datatypes; its dims then win."""
        for wanted, ports in ((config.inputs, self.inputs), (config.outputs, self.outputs)):
            by_name = {port.name: port for port in ports}
            for tensor in wanted:
                port = by_name.get(tensor.name)
                if port is None:
                    raise ModelLoadError(
                        f"config.pbtxt names '{tensor.name}', which the model does not have; "
                        f"it has {sorted(by_name)}"
                    )
                if tensor.datatype and port.datatype and tensor.datatype != port.datatype:
                    raise ModelLoadError(
                        f"config.pbtxt gives '{tensor.name}' datatype {tensor.datatype}, "
                        f"the model has {port.datatype}"
                    )
                shape = config.shape(tensor)
                if port.shape and len(shape) != len(port.shape):
                    raise ModelLoadError(
                        f"config.pbtxt gives '{tensor.name}' shape {shape}, "
                        f"the model has {port.shape}"
                    )
                by_name[tensor.name] = Port(tensor.name, port.datatype, shape, port.dtype)
            ports[:] = [by_name[port.name] for port in ports]

    def unload(self) -> None:
        self.session = None

    def metadata(self) -> ModelMetadata:
        return ModelMetadata(
            platform=self.platform,
            inputs=[p.spec() for p in self.inputs],
            outputs=[p.spec() for p in self.outputs if p.datatype],
        )

    def predict(self, request: Request) -> Response:
        if isinstance(request, PredictRequest):
            return self._predict_v1(request)
        feeds = {}
        for tensor in request.inputs:
            port = self._inputs.get(tensor.name)
            if port is None:
                raise InvalidInput(
                    f"unknown input '{tensor.name}' for model {self.name}; "
                    f"its inputs are {list(self._inputs)}"
                )
            if tensor.datatype and tensor.datatype != port.datatype:
                raise InvalidInput(
                    f"input '{tensor.name}': datatype {tensor.datatype} does not match "
                    f"the model's {port.datatype}"
                )
            feeds[tensor.name] = self._array(port, tensor.data)
        names = self._tensor_outputs
        if request.outputs is not None:
            names = [o.name for o in request.outputs]
            for name in names:  # as v2.select_outputs says it (asked for none, onnxruntime
                if not self._datatypes.get(name):  # would run them all)
                    raise InvalidInput(
                        f"Unexpected inference output '{name}' for model '{self.name}'"
                    )
        results = self._run(names, feeds)
        outputs = []
        for name, value in zip(names, results, strict=True):  # a loop: no comprehension's frame
            outputs.append(Tensor(name, self._datatypes[name], list(value.shape), value))
        return InferResponse(outputs)

    def _predict_v1(self, request: PredictRequest) -> PredictResponse:
        instances = request.instances
        if not instances:
            raise InvalidInput('"instances" is empty')
        if isinstance(instances[0], dict):
            feeds = {}
            for port in self.inputs:
                try:
                    values = [row[port.name] for row in instances]
                except (KeyError, TypeError):
                    raise InvalidInput(
                        f"every instance must name input '{port.name}'; "
                        f"model {self.name} takes {list(self._inputs)}"
                    ) from None
                feeds[port.name] = self._array(port, _as_array(values, port))
        elif len(self.inputs) == 1:
            port = self.inputs[0]
            feeds = {port.name: self._array(port, _as_array(instances, port))}
        else:
            raise InvalidInput(
                f"model {self.name} takes several inputs {list(self._inputs)}: send one object "
                "per instance naming them"
            )
        names = [port.name for port in self.outputs]
        results = self._run(names, feeds)
        if len(results) == 1:
            return PredictResponse(predictions=results[0])
        rows = len(instances)
        return PredictResponse(
            predictions=[
                {name: _row(value, index) for name, value in zip(names, results, strict=True)}
                for index in range(rows)
            ]
        )

    def _array(self, port: Port, data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The input as the graph takes it: its dtype, a shape that fits the model's."""
        if port.shape:
            shape = data.shape
            if len(shape) != len(port.shape):
                raise _shape_mismatch(port, shape)
            for axis, size in port.fixed:
                if shape[axis] != size:
                    raise _shape_mismatch(port, shape)
        if port.datatype == "BYTES":
            flat = [
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                for v in data.reshape(-1).tolist()
            ]
            strings = np.empty(len(flat), dtype=object)
            strings[:] = flat
            return strings.reshape(data.shape)
        if data.dtype != port.dtype:
            try:
                data = data.astype(port.dtype)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"input '{port.name}': not {port.datatype}: {exc}") from None
        return data

    def _run(self, names: list[str], feeds: dict[str, np.ndarray[Any, Any]]) -> list[Any]:
        missing = (
            [] if len(feeds) == len(self._inputs) else [n for n in self._inputs if n not in feeds]
        )
        if missing:
            raise InvalidInput(
                f"missing input(s) {missing}; model {self.name} takes {list(self._inputs)}"
            )
        try:
            return list(self.session.run(names, feeds))
        except Exception as exc:
            # onnxruntime's InvalidArgument: the data does not fit the graph (a client error)
            if type(exc).__name__ == "InvalidArgument":
                raise InvalidInput(str(exc).removeprefix("[ONNXRuntimeError] : 2 : ")) from None
            raise


def _shape_mismatch(port: Port, shape: tuple[int, ...]) -> InvalidInput:
    return InvalidInput(
        f"input '{port.name}': shape {list(shape)} does not match the model's {port.shape}"
    )


def _as_array(values: list[Any], port: Port) -> np.ndarray[Any, Any]:
    try:
        if port.datatype == "BYTES":
            return np.asarray(values, dtype=object)
        return np.asarray(values, dtype=port.dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"input '{port.name}': not {port.datatype or 'a tensor'}: {exc}"
        ) from None


def _row(value: Any, index: int) -> Any:
    return value[index] if isinstance(value, np.ndarray | list) and len(value) > index else value


def create(spec: ModelSpec) -> OnnxModel:
    """`--framework=onnx`: a single .onnx file, or a Triton layout model directory."""
    return OnnxModel(spec.name, spec.model_dir, threads=spec.nthread)
