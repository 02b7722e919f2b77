"""PyTorch runtime: TorchScript archives (`model.pt`) and `torch.export` programs (`model.pt2`),
in a plain directory, Triton's `<model>/<version>/model.pt` layout or TorchServe's model store
(torchserve.py). torch is imported by load(), never at import time.

Nothing is unpickled: TorchScript loads with torch.jit.load and exported programs with
torch.export.load, so a file holding an eager model (torch.save of a module or a state_dict,
which needs its Python class and would run pickled code) is refused with a reason.

Inputs are matched to `forward`'s arguments by name (its schema, the exported program's
signature, or config.pbtxt's `INPUT__<i>` names); a request whose names do not all match but
whose count does is fed in order, as TorchServe's V2 envelope and Triton's PyTorch backend do.
Outputs are `output-<i>` (config.pbtxt's names when it gives them; a dict's keys).
"""

from __future__ import annotations

import logging
import shutil
import warnings
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
from kserve_server.runtimes import base, torchserve, triton
from kserve_server.settings import ModelSpec

log = logging.getLogger(__name__)

SUFFIXES = (".pt", ".pt2")
# torch dtype names (str(dtype) without "torch.") → V2 datatype; numpy's dtype has the same name
DATATYPES = {
    "float32": "FP32",
    "float64": "FP64",
    "float16": "FP16",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "uint8": "UINT8",
    "bool": "BOOL",
}
NUMPY = {datatype: np.dtype(name) for name, datatype in DATATYPES.items()}


@dataclass(frozen=True)
class Port:
    """An argument or result of forward: datatype "" and shape [] when the model does not say
    (a TorchScript argument is only `Tensor`); -1 for a free dimension."""

    name: str
    datatype: str = ""
    shape: tuple[int, ...] = ()

    def spec(self, default_datatype: str) -> TensorSpec:
        return TensorSpec(self.name, self.datatype or default_datatype, list(self.shape) or [-1])


class TorchModel(base.Model):
    platform = "pytorch_libtorch"

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
        self.inputs: list[Port] = []
        self.outputs: list[Port] = []
        self._module: Any = None
        self._torch: Any = None
        self._device: Any = None
        self._float = "FP32"  # what V1 floats and undeclared float tensors become

    def model_file(self) -> Path:
        if self.model_dir.is_dir() and (self.config is not None or triton.versions(self.model_dir)):
            return triton.model_file(self.model_dir, self.config, "pytorch")
        return base.find_model_file(self.model_dir, suffixes=SUFFIXES, framework="pytorch")

    def load(self) -> None:
        if self.config is None and self.model_dir.is_dir():
            self.config = triton.read_config(self.model_dir)
        self.load_file(self.model_file())

    def load_file(self, path: Path) -> None:
        try:
            import torch
        except ImportError as exc:
            raise ModelLoadError(f"the pytorch runtime needs torch: {exc}") from exc
        torch.set_num_threads(self.threads)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if path.suffix == ".pt2":
            module, inputs, outputs = _load_exported(torch, path, device)
        else:
            module, inputs, outputs = _load_scripted(torch, path, device)
        floats = [p.dtype for p in module.parameters() if p.is_floating_point()]
        if floats:
            self._float = DATATYPES.get(str(floats[0]).removeprefix("torch."), "FP32")
        if self.config is not None:
            inputs, outputs = _from_config(self.config, inputs)
        self.inputs, self.outputs = inputs, outputs
        self._torch, self._device, self._module = torch, device, module
        log.info(
            "model %s: loaded %s on %s (inputs %s)",
            self.name,
            path,
            device,
            [p.name for p in inputs],
        )

    def unload(self) -> None:
        self._module = None

    def metadata(self) -> ModelMetadata:
        return ModelMetadata(
            platform=self.platform,
            inputs=[p.spec(self._float) for p in self.inputs],
            outputs=[p.spec(self._float) for p in self.outputs],
        )

    def predict(self, request: Request) -> Response:
        if isinstance(request, PredictRequest):
            return self._predict_v1(request)
        arrays = self._ordered(request.inputs)
        results = self._forward(arrays)
        if request.outputs is not None:
            wanted = [o.name for o in request.outputs]
            for name in wanted:
                if name not in results:
                    raise InvalidInput(
                        f"Unexpected inference output '{name}' for model '{self.name}'"
                    )
            results = {name: results[name] for name in wanted}
        outputs = []
        for name, value in results.items():  # datatype left empty: the codec derives it
            outputs.append(Tensor(name, "", list(value.shape), value))
        return InferResponse(outputs)

    def _ordered(self, tensors: list[Tensor]) -> list[np.ndarray[Any, Any]]:
        names = [p.name for p in self.inputs]
        if len(tensors) != len(self.inputs):
            raise InvalidInput(
                f"model {self.name} takes {len(names)} input(s) {names}; "
                f"the request has {len(tensors)}: {[t.name for t in tensors]}"
            )
        by_name = {t.name: t for t in tensors}
        if set(by_name) == set(names):
            tensors = [by_name[name] for name in names]
        arrays = []
        for port, tensor in zip(self.inputs, tensors, strict=True):
            if tensor.datatype == "BYTES":
                raise InvalidInput(f"input '{tensor.name}': BYTES cannot feed a torch model")
            if port.datatype and tensor.datatype and tensor.datatype != port.datatype:
                fed = "" if tensor.name == port.name else f" (fed to '{port.name}')"
                raise InvalidInput(
                    f"input '{tensor.name}': datatype {tensor.datatype} does not match "
                    f"the model's {port.datatype}{fed}"
                )
            arrays.append(self._fit(port, tensor.data))
        return arrays

    def _predict_v1(self, request: PredictRequest) -> PredictResponse:
        instances = request.instances
        if not instances:
            raise InvalidInput('"instances" is empty')
        if isinstance(instances[0], dict):
            columns = []
            for port in self.inputs:
                try:
                    columns.append([row[port.name] for row in instances])
                except (KeyError, TypeError):
                    raise InvalidInput(
                        f"every instance must name input '{port.name}'; "
                        f"model {self.name} takes {[p.name for p in self.inputs]}"
                    ) from None
        elif len(self.inputs) == 1:
            columns = [instances]
        else:
            raise InvalidInput(
                f"model {self.name} takes several inputs {[p.name for p in self.inputs]}: "
                "send one object per instance naming them"
            )
        arrays = [
            self._fit(port, _as_array(values, port))
            for port, values in zip(self.inputs, columns, strict=True)
        ]
        results = self._forward(arrays)
        if len(results) == 1:
            return PredictResponse(predictions=next(iter(results.values())))
        return PredictResponse(
            predictions=[
                {name: value[index] for name, value in results.items()}
                for index in range(len(instances))
            ]
        )

    def _fit(self, port: Port, data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The input as forward takes it: the declared dtype (floats: the weights' when none is
        declared), a shape that fits the declared one."""
        if data.dtype.kind in "OUS":
            raise InvalidInput(f"input '{port.name}': not numbers")
        if port.shape and (
            data.ndim != len(port.shape)
            or any(size >= 0 and data.shape[axis] != size for axis, size in enumerate(port.shape))
        ):
            raise InvalidInput(
                f"input '{port.name}': shape {list(data.shape)} does not match "
                f"the model's {list(port.shape)}"
            )
        want = NUMPY.get(port.datatype) or (NUMPY[self._float] if data.dtype.kind == "f" else None)
        if want is not None and data.dtype != want:
            if not np.can_cast(data.dtype, want, casting="same_kind"):
                raise InvalidInput(
                    f"input '{port.name}': {data.dtype} values do not fit the model's "
                    f"{port.datatype or self._float}"
                )
            data = data.astype(want)
        return data

    def _forward(self, arrays: list[np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
        torch = self._torch
        tensors = [
            torch.from_numpy(a if a.flags.writeable else a.copy()).to(self._device) for a in arrays
        ]
        try:
            with torch.inference_mode():
                result = self._module(*tensors)
        except torch.OutOfMemoryError:
            raise
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            # the model rejected the data (a shape or dtype it cannot take): a client error
            raise InvalidInput(f"model {self.name}: {_reason(exc)}") from None
        return self._named(result)

    def _named(self, result: Any) -> dict[str, np.ndarray[Any, Any]]:
        torch = self._torch
        if isinstance(result, dict):
            items = list(result.items())
        else:
            values = list(result) if isinstance(result, tuple | list) else [result]
            names = [p.name for p in self.outputs]
            if len(names) != len(values):
                names = [f"output-{index}" for index in range(len(values))]
            items = list(zip(names, values, strict=True))
        named = {}
        for name, value in items:
            tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
            named[str(name)] = tensor.detach().cpu().numpy()
        return named


class ArchiveModel(TorchModel):
    """One model of a TorchServe model store: its `.mar` unpacked into a temporary directory
    (the store may be read-only), served when it holds TorchScript without custom code."""

    def __init__(self, name: str, archive: Path, *, threads: int = 1) -> None:
        super().__init__(name, archive, threads=threads)
        self._unpacked: Path | None = None

    def load(self) -> None:
        self._unpacked = torchserve.unpack(self.model_dir)
        try:
            self.load_file(torchserve.served_file(self._unpacked or self.model_dir, self.model_dir))
        except BaseException:
            self.unload()
            raise

    def unload(self) -> None:
        super().unload()
        if self._unpacked is not None:
            shutil.rmtree(self._unpacked, ignore_errors=True)
            self._unpacked = None


def _load_scripted(torch: Any, path: Path, device: Any) -> tuple[Any, list[Port], list[Port]]:
    try:
        with warnings.catch_warnings():  # torch 2.15 deprecates TorchScript; its files are served
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(path), map_location=device)
    except Exception as exc:  # torch raises RuntimeError with its C++ trace for any bad file
        raise ModelLoadError(
            f"{path.name} is not a TorchScript archive ({_reason(exc, short=True)}); a model "
            "saved with "
            "torch.save needs its Python class and is not loaded: save it with "
            "torch.jit.script(model).save(...) or torch.export.save(...) (a .pt2 file)"
        ) from None
    module.eval()
    arguments = module.forward.schema.arguments[1:]  # [0] is self
    return module, [Port(a.name) for a in arguments], []


def _load_exported(torch: Any, path: Path, device: Any) -> tuple[Any, list[Port], list[Port]]:
    try:
        program = torch.export.load(str(path))
    except Exception as exc:
        raise ModelLoadError(
            f"{path.name} is not a torch.export program ({_reason(exc, short=True)})"
        ) from None
    values = {node.name: node.meta.get("val") for node in program.graph.nodes}
    inputs = [_port(name, values.get(name)) for name in program.graph_signature.user_inputs]
    names = list(program.graph_signature.user_outputs)
    spec = program.call_spec.out_spec  # the outputs' structure: a dict's keys name them
    keys = list(spec.context) if spec is not None and spec.type is dict else []
    labels = keys if len(keys) == len(names) else [f"output-{i}" for i in range(len(names))]
    outputs = [_port(label, values.get(name)) for label, name in zip(labels, names, strict=True)]
    return program.module().to(device), inputs, outputs


def _port(name: str, value: Any) -> Port:
    """A port from an exported program's fake tensor (symbolic dimensions are free: -1)."""
    if value is None or not hasattr(value, "dtype"):
        return Port(name)
    datatype = DATATYPES.get(str(value.dtype).removeprefix("torch."), "")
    shape = tuple(d if isinstance(d, int) else -1 for d in value.shape)
    return Port(name, datatype, shape)


def _from_config(config: triton.ModelConfig, found: list[Port]) -> tuple[list[Port], list[Port]]:
    """config.pbtxt's inputs and outputs (Triton's INPUT__0 ... OUTPUT__0 names), in order."""
    if config.inputs and len(config.inputs) != len(found):
        raise ModelLoadError(
            f"config.pbtxt names {len(config.inputs)} input(s), the model's forward takes "
            f"{len(found)}: {[p.name for p in found]}"
        )
    inputs = [Port(t.name, t.datatype, tuple(config.shape(t))) for t in config.inputs] or found
    outputs = [Port(t.name, t.datatype, tuple(config.shape(t))) for t in config.outputs]
    return inputs, outputs


def _as_array(values: list[Any], port: Port) -> np.ndarray[Any, Any]:
    try:
        return np.asarray(values, dtype=NUMPY.get(port.datatype))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"input '{port.name}': not a rectangular array of numbers: {exc}"
        ) from None


def _reason(exc: BaseException, *, short: bool = False) -> str:
    """torch's message in one line: TorchScript puts its own traceback before the error; with
    `short`, its first sentence (a load error goes on to guess at causes)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line for line in lines if "Error: " in line]
    line = errors[-1] if errors else (lines[0] if lines else type(exc).__name__)
    line = line.split("Error: ", 1)[-1] if errors else line
    return line.split(". ", 1)[0] if short else line


def discover(spec: ModelSpec) -> list[ModelSpec]:
    """TorchServe's layout: each archive of the model store under its own name; else Triton's
    repository layout, or the one model of a plain directory."""
    if torchserve.is_layout(spec.model_dir):
        try:
            return torchserve.specs(spec)
        except ModelLoadError:
            return [spec]  # create() gives the model that fails with the reason
    return triton.discover(spec)


def create(spec: ModelSpec) -> base.Model:
    """`--framework=pytorch`: a TorchScript or torch.export file, a Triton model directory, or
    an archive of a TorchServe model store."""
    if torchserve.is_layout(spec.model_dir):
        try:
            torchserve.specs(spec)
        except ModelLoadError as err:
            return triton.Unservable(spec.name, str(err))
    if torchserve.is_archive(spec.model_dir):
        return ArchiveModel(spec.name, spec.model_dir, threads=spec.nthread)
    return TorchModel(spec.name, spec.model_dir, threads=spec.nthread)
