"""TorchServe's layout without torch: which models a store serves under which names, which
archives are refused before torch is touched (custom handlers, eager models, escaping names),
and the Triton-compatible runtime pointing PyTorch models to kserve-torchserve."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from kserve_server import repository
from kserve_server.errors import ModelLoadError
from kserve_server.runtimes import pytorch, torchserve, triton
from kserve_server.settings import ModelSpec
from kserve_server.storage import archive
from kserve_server.storage.errors import UnsafePathError
from kserve_server.storage.limits import Limits


def mar(path: Path, **model: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = {"runtime": "python", "model": {"modelName": path.stem, **model}}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("MAR-INF/MANIFEST.json", json.dumps(manifest))
        zf.writestr("model.pt", b"not read here")
    return path


def snapshot(**models: dict[str, Any]) -> str:
    return json.dumps({"name": "startup.cfg", "modelCount": len(models), "models": models})


def store(root: Path, properties: str | None, *mars: str) -> Path:
    for name in mars:
        mar(root / "model-store" / name, serializedFile="model.pt", handler="base_handler")
    (root / "model-store").mkdir(parents=True, exist_ok=True)
    if properties is not None:
        (root / "config").mkdir()
        (root / "config" / "config.properties").write_text(properties)
    return root


def discover(root: Path) -> dict[str, Path]:
    specs = repository.discover(ModelSpec(name="isvc", model_dir=root, framework="pytorch"))
    return {spec.name: spec.model_dir for spec in specs}


def test_properties_read_as_java_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "config.properties"
    path.write_text(
        "# comment\n! also a comment\ninference_address=http://0.0.0.0:8085\n"
        'enable_metrics_api: true\nmodel_snapshot={"a": \\\n   1}\n\nbare\n'
    )
    assert torchserve.read_properties(path) == {
        "inference_address": "http://0.0.0.0:8085",
        "enable_metrics_api": "true",
        "model_snapshot": '{"a": 1}',
        "bare": "",
    }


def test_the_snapshot_names_the_models_and_picks_the_default_version(tmp_path: Path) -> None:
    versions = {
        "1.0": {"marName": "old.mar"},
        "2.0": {"marName": "mnist.mar", "defaultVersion": True},
    }
    root = store(tmp_path, f"model_snapshot={snapshot(mnist=versions)}\n", "mnist.mar", "old.mar")
    assert discover(root) == {"mnist": root / "model-store" / "mnist.mar"}


def test_load_models_or_every_archive_when_no_snapshot(tmp_path: Path) -> None:
    listed = store(
        tmp_path / "a", "load_models=digits=mnist.mar,bert.mar\n", "mnist.mar", "bert.mar", "x.mar"
    )
    assert discover(listed) == {
        "digits": listed / "model-store" / "mnist.mar",
        "bert": listed / "model-store" / "bert.mar",
    }
    every = store(tmp_path / "b", None, "mnist.mar", "bert.mar")
    (every / "model-store" / "notes.txt").write_text("not a model")
    assert discover(every) == {
        "bert": every / "model-store" / "bert.mar",
        "mnist": every / "model-store" / "mnist.mar",
    }


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        (
            "model_snapshot={not json\n",
            "config/config.properties: model_snapshot is not TorchServe's JSON",
        ),
        (
            f"model_snapshot={snapshot(mnist={'1.0': {'marName': 'gone.mar'}})}\n",
            "config/config.properties names gone.mar, which is not in",
        ),
        ("load_models=../../etc/passwd\n", "'../../etc/passwd' is not a file name in model-store/"),
        (
            f"model_snapshot={snapshot(**{'a b': {'1.0': {'marName': 'mnist.mar'}}})}\n",
            "'a b' (in config/config.properties) is not a valid model name",
        ),
        ("load_models=all\n", None),
    ],
)
def test_a_store_it_cannot_read_fails_the_model_with_the_reason(
    tmp_path: Path, properties: str, reason: str | None
) -> None:
    root = store(tmp_path, properties, *([] if reason is None else ["mnist.mar"]))
    [spec] = repository.discover(ModelSpec(name="isvc", model_dir=root, framework="pytorch"))
    assert spec.name == "isvc"  # the model the user named fails, saying why
    model = pytorch.create(spec)
    with pytest.raises(ModelLoadError) as caught:
        model.load()
    assert (reason or "no model archive (*.mar) in") in str(caught.value)


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (
            {"serializedFile": "model.pt", "handler": "handler.py"},
            "mnist.mar: the custom handler 'handler.py' is Python this runtime does not run",
        ),
        (
            {"serializedFile": "model.pt", "handler": "my_module:handle"},
            "mnist.mar: the custom handler 'my_module:handle' is Python",
        ),
        (
            {"serializedFile": "model.pt", "handler": "text_classifier"},
            "mnist.mar: TorchServe's built-in handler 'text_classifier' (its pre- and post-",
        ),
        (
            {"serializedFile": "model.pt", "handler": "base_handler", "modelFile": "net.py"},
            "mnist.mar: an eager model (modelFile 'net.py') needs its Python class",
        ),
        (
            {"serializedFile": "../model.pt", "handler": "base_handler"},
            "mnist.mar: serializedFile '../model.pt' is not a file at the archive's top",
        ),
    ],
)
def test_archives_needing_python_are_refused_naming_why(
    tmp_path: Path, model: dict[str, str], reason: str
) -> None:
    path = mar(tmp_path / "store" / "mnist.mar", **model)
    unpacked = torchserve.unpack(path)
    assert unpacked is not None
    with pytest.raises(ModelLoadError) as caught:
        torchserve.served_file(unpacked, path)
    assert str(caught.value).startswith(reason)


def test_a_mar_is_unzipped_safely_and_left_in_place(tmp_path: Path) -> None:
    good = mar(tmp_path / "good.mar", serializedFile="model.pt")
    archive.unzip(good, tmp_path / "out", limits=Limits())
    assert good.is_file()
    assert (tmp_path / "out" / "MAR-INF" / "MANIFEST.json").is_file()
    bad = tmp_path / "bad.mar"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../escaped.pt", b"x")
    with pytest.raises(UnsafePathError, match=r"\.\./escaped\.pt"):
        archive.unzip(bad, tmp_path / "out2", limits=Limits())
    assert not (tmp_path / "escaped.pt").exists()


def test_triton_points_pytorch_models_to_kserve_torchserve(tmp_path: Path) -> None:
    (tmp_path / "cifar" / "1").mkdir(parents=True)
    (tmp_path / "cifar" / "1" / "model.pt").write_bytes(b"torchscript")
    (tmp_path / "cifar" / "config.pbtxt").write_text(
        'name: "cifar"\nplatform: "pytorch_libtorch"\n'
    )
    spec = ModelSpec(name="cifar", model_dir=tmp_path / "cifar", framework="triton")
    model = triton.create(spec)
    with pytest.raises(ModelLoadError) as caught:
        model.load()
    assert str(caught.value) == (
        "backend 'pytorch' of model cifar is not served here; this Triton-compatible runtime "
        "serves ['onnxruntime', 'tensorflow']; PyTorch models are served by the "
        "ClusterServingRuntime kserve-torchserve (modelFormat pytorch, selected by default)"
    )
