"""XGBoost and LightGBM runtimes on boosters trained on iris here; the framework is given, not
guessed, because both write model.bst."""

from __future__ import annotations

import warnings
from pathlib import Path

import lightgbm
import numpy as np
import pytest
import xgboost
from sklearn import datasets

from kserve_server import runtimes
from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.inference import InferRequest, PredictRequest, Tensor
from kserve_server.settings import ModelSpec

ROW = [6.8, 2.8, 4.8, 1.4]
NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def xgb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, y = datasets.load_iris(return_X_y=True)
    matrix = xgboost.DMatrix(x, label=y)
    booster = xgboost.train({"objective": "multi:softmax", "num_class": 3}, matrix, 10)
    path = tmp_path_factory.mktemp("xgb")
    with warnings.catch_warnings(action="ignore"):  # "UBJSON as default" for .bst: intended
        booster.save_model(str(path / "model.bst"))
    return path


@pytest.fixture(scope="module")
def lgb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, y = datasets.load_iris(return_X_y=True)
    data = lightgbm.Dataset(x, label=y, feature_name=NAMES)
    params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "min_data_in_leaf": 5}
    booster = lightgbm.train(params, data, 20)
    path = tmp_path_factory.mktemp("lgb")
    booster.save_model(str(path / "model.bst"))
    return path


def load(name: str, path: Path, framework: str) -> runtimes.ArrayModel:
    model = runtimes.create(ModelSpec(name=name, model_dir=path, framework=framework))  # type: ignore[arg-type]
    model.load()
    return model


def test_xgboost_v1_and_v2(xgb_dir: Path) -> None:
    model = load("xgb", xgb_dir, "xgboost")
    assert np.asarray(model.predict(PredictRequest([ROW])).predictions).tolist() == [1.0]  # type: ignore[union-attr]
    request = InferRequest(inputs=[Tensor("input-0", "FP32", [1, 4], np.asarray([ROW], "f4"))])
    output = model.predict(request).outputs[0]  # type: ignore[union-attr]
    assert output.data.dtype == np.float32
    assert output.data.tolist() == [1.0]


def test_xgboost_bad_width_is_400(xgb_dir: Path) -> None:
    with pytest.raises(InvalidInput):
        load("xgb", xgb_dir, "xgboost").predict(PredictRequest([[1.0, 2.0]]))


def test_lightgbm_probabilities_and_named_columns(lgb_dir: Path) -> None:
    model = load("lgb", lgb_dir, "lightgbm")
    probabilities = np.asarray(model.predict(PredictRequest([ROW])).predictions)  # type: ignore[union-attr]
    assert probabilities.shape == (1, 3)
    assert int(probabilities.argmax()) == 1
    named = PredictRequest([dict(zip(reversed(NAMES), reversed(ROW), strict=True))])
    by_name = np.asarray(model.predict(named).predictions)  # type: ignore[union-attr]
    assert np.allclose(by_name, probabilities)


def test_lightgbm_missing_features_are_nan_like_upstream(lgb_dir: Path) -> None:
    # upstream e2e iris_input_v5.json: a feature absent from every row still predicts
    row = dict(zip(NAMES[:3], ROW[:3], strict=True))
    probabilities = load("lgb", lgb_dir, "lightgbm").predict(PredictRequest([row])).predictions  # type: ignore[union-attr]
    assert np.asarray(probabilities).shape == (1, 3)


def test_lightgbm_single_key_rows_like_upstream(lgb_dir: Path) -> None:
    # upstream e2e iris_input_v4.json: a list of one-column objects, one row each
    rows = PredictRequest([{name: [value]} for name, value in zip(NAMES, ROW, strict=True)])
    predictions = load("lgb", lgb_dir, "lightgbm").predict(rows).predictions  # type: ignore[union-attr]
    assert np.asarray(predictions).shape == (4, 3)


def test_lightgbm_text_in_a_numeric_column_is_400(lgb_dir: Path) -> None:
    row = {**dict(zip(NAMES, ROW, strict=True)), "petal_width": "wide"}
    with pytest.raises(InvalidInput):
        load("lgb", lgb_dir, "lightgbm").predict(PredictRequest([row]))


def test_framework_decides_not_the_extension(xgb_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="LightGBM"):
        load("wrong", xgb_dir, "lightgbm")
