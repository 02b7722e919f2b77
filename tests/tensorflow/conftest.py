"""TensorFlow runtime tests: run by `make test-tensorflow` in hack/tensorflow-venv.sh's venv
(TensorFlow stays out of .venv). Models are made here: a Keras model behind a signature that
decodes image bytes, in TF Serving's layout, like upstream's flowers sample."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("tensorflow") is None:  # a failure, never a skip
    raise pytest.UsageError(
        "tests/tensorflow needs TensorFlow: run `make test-tensorflow` (its own venv)"
    )

import numpy as np

import tensorflow as tf
from kserve_server.settings import ModelSpec

COLORS = {"red": (250, 10, 10), "green": (10, 250, 10), "blue": (10, 10, 250)}


def png(color: str) -> bytes:
    """A small PNG image of one color."""
    pixels = np.zeros((8, 8, 3), dtype=np.uint8) + np.asarray(COLORS[color], dtype=np.uint8)
    return bytes(tf.io.encode_png(pixels).numpy())


class Flowers(tf.Module):
    """image_bytes (encoded images) + key → scores, prediction, key; and a numeric signature."""

    def __init__(self) -> None:
        super().__init__()
        import keras

        self.dense = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(3)])
        self.dense.layers[0].set_weights([np.eye(3, dtype=np.float32) * 4, np.zeros(3, "f4")])

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="image_bytes"),
            tf.TensorSpec([None], tf.string, name="key"),
        ]
    )
    def serve(self, image_bytes: Any, key: Any) -> dict[str, Any]:
        def mean_color(data: Any) -> Any:
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            return tf.reduce_mean(tf.cast(image, tf.float32), axis=[0, 1]) / 255.0

        means = tf.map_fn(mean_color, image_bytes, fn_output_signature=tf.float32)
        scores = tf.nn.softmax(self.dense(means))
        return {"scores": scores, "prediction": tf.argmax(scores, axis=1), "key": key}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def numbers(self, x: Any) -> dict[str, Any]:
        return {"y": self.dense(x)}


@pytest.fixture(scope="session")
def flowers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TF Serving's layout: <dir>/0001/saved_model.pb + variables/ (as upstream's sample)."""
    root = tmp_path_factory.mktemp("flowers")
    module = Flowers()
    tf.saved_model.save(
        module,
        str(root / "0001"),
        signatures={"serving_default": module.serve, "numbers": module.numbers},
    )
    return root


@pytest.fixture(scope="session")
def reference(flowers_dir: Path) -> Any:
    """TensorFlow's own answers: the loaded SavedModel's signatures."""
    return tf.saved_model.load(str(flowers_dir / "0001")).signatures


@dataclass(frozen=True)
class Served:
    http: str
    grpc: str


@pytest.fixture(scope="session")
def served(flowers_dir: Path, server_thread: Any) -> Iterator[Served]:
    """`--framework=tensorflow` on the flowers model, REST and gRPC, on a background thread."""
    models = [ModelSpec(name="flowers", model_dir=flowers_dir, framework="tensorflow")]
    with server_thread(models, grpc_port=0) as running:
        yield Served(http=f"http://127.0.0.1:{running.port}", grpc=f"127.0.0.1:{running.grpc_port}")
