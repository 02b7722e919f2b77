"""The TensorFlow runtime on a SavedModel made here: answers equal TensorFlow's own, in TF
Serving's REST shapes (row and columnar format, b64 strings, model status), V2 too, and bad
input is a 400 naming what is wrong."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tensorflow as tf
from conftest import png
from kserve_server import repository, runtimes
from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.inference import InferRequest, PredictRequest, Tensor
from kserve_server.settings import ModelSpec

IMAGES = [png("red"), png("blue")]
KEYS = ["   1", "   2"]


def b64(data: bytes) -> dict[str, str]:
    return {"b64": base64.b64encode(data).decode()}


def loaded(flowers_dir: Path) -> Any:
    model = runtimes.create(
        ModelSpec(name="flowers", model_dir=flowers_dir, framework="tensorflow")
    )
    model.load()
    return model


def own(reference: Any) -> dict[str, Any]:
    out = reference["serving_default"](image_bytes=tf.constant(IMAGES), key=tf.constant(KEYS))
    return {name: value.numpy() for name, value in out.items()}


def test_row_format_with_b64_images_equals_tensorflow(flowers_dir: Path, reference: Any) -> None:
    want = own(reference)
    rows = [{"image_bytes": b64(img), "key": key} for img, key in zip(IMAGES, KEYS, strict=True)]
    got = loaded(flowers_dir).predict(PredictRequest(instances=rows)).predictions
    assert [row["key"] for row in got] == KEYS
    assert [int(row["prediction"]) for row in got] == want["prediction"].tolist() == [0, 2]
    np.testing.assert_allclose([row["scores"] for row in got], want["scores"], rtol=1e-6)


def test_columnar_format_answers_outputs(flowers_dir: Path, reference: Any) -> None:
    want = own(reference)
    columns = {"image_bytes": [b64(img) for img in IMAGES], "key": KEYS}
    response = loaded(flowers_dir).predict(PredictRequest(instances=[], columnar=columns))
    assert response.columnar
    got = response.predictions
    assert got["key"] == KEYS
    np.testing.assert_allclose(got["scores"], want["scores"], rtol=1e-6)


def test_named_signature_and_single_input_rows(flowers_dir: Path, reference: Any) -> None:
    x = [[0.1, 0.2, 0.9], [0.5, 0.4, 0.1]]
    want = reference["numbers"](x=tf.constant(x))["y"].numpy()
    got = loaded(flowers_dir).predict(PredictRequest(instances=x, signature_name="numbers"))
    np.testing.assert_allclose(got.predictions, want, rtol=1e-6)


def test_v2_infer_and_metadata(flowers_dir: Path, reference: Any) -> None:
    model = loaded(flowers_dir)
    meta = model.metadata()
    assert meta.platform == "tensorflow_savedmodel"
    assert [(s.name, s.datatype, s.shape) for s in meta.inputs] == [
        ("image_bytes", "BYTES", [-1]),
        ("key", "BYTES", [-1]),
    ]
    images = np.empty(2, dtype=object)
    images[:] = IMAGES
    keys = np.asarray(KEYS, dtype=object)
    response = model.predict(
        InferRequest(
            inputs=[Tensor("image_bytes", "BYTES", [2], images), Tensor("key", "BYTES", [2], keys)]
        )
    )
    by_name = {t.name: t.data for t in response.outputs}
    assert by_name["prediction"].tolist() == own(reference)["prediction"].tolist()
    assert response.model_version == "1"


def test_status_is_tf_servings(flowers_dir: Path) -> None:
    assert loaded(flowers_dir).v1_status() == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            PredictRequest(instances=[[1.0, 2.0, 3.0]], signature_name="nope"),
            "signature_name 'nope' is not a signature of model flowers; "
            "it has ['numbers', 'serving_default']",
        ),
        (
            PredictRequest(instances=[{"image": b64(IMAGES[0]), "key": "1"}]),
            "unknown input 'image' for model flowers; its inputs are ['image_bytes', 'key']",
        ),
        (
            PredictRequest(instances=[{"image_bytes": 5, "key": "1"}]),
            "input 'image_bytes': not string",
        ),
        (
            PredictRequest(instances=[["a", "b", "c"]], signature_name="numbers"),
            "input 'x': not float32",
        ),
        (
            PredictRequest(instances=[[1.0, 2.0]], signature_name="numbers"),
            "input 'x': shape [1, 2] does not match the model's [-1, 3]",
        ),
    ],
)
def test_bad_input_is_named(flowers_dir: Path, request_: PredictRequest, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        loaded(flowers_dir).predict(request_)
    assert str(err.value).startswith(message)


def test_corrupt_saved_model_fails_to_load_with_tensorflows_reason(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"\x0agarbage that is no SavedModel")
    model = runtimes.create(ModelSpec(name="bad", model_dir=tmp_path, framework="tensorflow"))
    with pytest.raises(ModelLoadError, match="cannot load SavedModel"):
        model.load()


def test_triton_layout_savedmodel(flowers_dir: Path, tmp_path: Path) -> None:
    """kserve-tritonserver: <model>/<version>/model.savedmodel, backend from the files."""
    target = tmp_path / "flowers" / "1" / "model.savedmodel"
    target.parent.mkdir(parents=True)
    target.symlink_to(flowers_dir / "0001", target_is_directory=True)
    (spec,) = repository.discover(ModelSpec(name="isvc", model_dir=tmp_path, framework="triton"))
    assert spec.name == "flowers"
    model = runtimes.create(spec)
    model.load()
    assert model.metadata().platform == "tensorflow_savedmodel"
