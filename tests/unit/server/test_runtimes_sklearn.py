"""The sklearn runtime on tiny models trained here: files, text, named columns, predict_proba."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn import datasets, linear_model
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.inference import InferRequest, PredictRequest, Tensor
from kserve_server.runtimes import base
from kserve_server.runtimes.sklearn import SKLearnModel


@pytest.fixture(scope="module")
def iris_svc() -> linear_model.LogisticRegression:
    x, y = datasets.load_iris(return_X_y=True)
    return linear_model.LogisticRegression(max_iter=1000).fit(x, y)


@pytest.fixture(scope="module")
def houses(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ColumnTransformer over a string and a number column, fitted on a DataFrame."""
    frame = pd.DataFrame(
        {"city": ["Oslo", "Rome", "Oslo", "Lima"], "rooms": [2, 3, 4, 5], "age": [30, 40, 1, 9]}
    )
    pipeline = Pipeline(
        [
            (
                "cols",
                ColumnTransformer(
                    [("city", OneHotEncoder(handle_unknown="ignore"), ["city"])],
                    remainder="passthrough",
                ),
            ),
            ("reg", LinearRegression()),
        ]
    )
    pipeline.fit(frame, [100.0, 150.0, 210.0, 240.0])
    path = tmp_path_factory.mktemp("houses")
    joblib.dump(pipeline, path / "model.joblib")
    return path


def loaded(path: Path, **kwargs: bool) -> SKLearnModel:
    model = SKLearnModel("m", path, **kwargs)
    model.load()
    return model


@pytest.mark.parametrize("suffix", [".joblib", ".pkl", ".pickle"])
def test_each_file_suffix_loads(
    tmp_path: Path, iris_svc: linear_model.LogisticRegression, suffix: str
) -> None:
    with (tmp_path / f"model{suffix}").open("wb") as handle:
        pickle.dump(iris_svc, handle)
    response = loaded(tmp_path).predict(PredictRequest([[6.8, 2.8, 4.8, 1.4]]))
    assert np.asarray(response.predictions).tolist() == [1]  # type: ignore[union-attr]


def test_no_model_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hi")
    with pytest.raises(ModelLoadError, match=r"no sklearn model file \(\*.joblib, \*.pkl"):
        loaded(tmp_path)


def test_several_model_files_are_refused(
    tmp_path: Path, iris_svc: linear_model.LogisticRegression
) -> None:
    joblib.dump(iris_svc, tmp_path / "a.joblib")
    joblib.dump(iris_svc, tmp_path / "b.pkl")
    with pytest.raises(ModelLoadError, match="More than one model file"):
        loaded(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        loaded(tmp_path / "nope")


def test_one_nested_model_file_is_found(
    tmp_path: Path, iris_svc: linear_model.LogisticRegression
) -> None:
    # kserve#3200: the storage initializer once left /mnt/models/model/model.pkl
    (tmp_path / "model").mkdir()
    joblib.dump(iris_svc, tmp_path / "model" / "model.pkl")
    assert base.find_model_file(tmp_path, suffixes=(".pkl",), framework="sklearn").parent.name == (
        "model"
    )


def test_not_a_model(tmp_path: Path) -> None:
    joblib.dump({"weights": [1, 2]}, tmp_path / "model.joblib")
    with pytest.raises(ModelLoadError, match="holds a dict, not a model"):
        loaded(tmp_path)


def test_predict_proba_when_asked(
    tmp_path: Path, iris_svc: linear_model.LogisticRegression
) -> None:
    joblib.dump(iris_svc, tmp_path / "model.joblib")
    response = loaded(tmp_path, predict_proba=True).predict(PredictRequest([[6.8, 2.8, 4.8, 1.4]]))
    probabilities = np.asarray(response.predictions)  # type: ignore[union-attr]
    assert probabilities.shape == (1, 3)
    assert int(probabilities.argmax()) == 1


def test_named_columns_from_v1_objects(houses: Path) -> None:
    model = loaded(houses)
    rows = PredictRequest(
        [{"city": "Oslo", "rooms": 2, "age": 30}, {"rooms": 5, "city": "Lima", "age": 9}]
    )
    predictions = np.asarray(model.predict(rows).predictions)  # type: ignore[union-attr]
    assert predictions.round(1).tolist() == [100.0, 240.0]


def test_named_columns_column_oriented_like_upstream(houses: Path) -> None:
    model = loaded(houses)
    request = PredictRequest([{"city": ["Oslo", "Rome"], "rooms": [2, 3], "age": [30, 40]}])
    assert np.asarray(model.predict(request).predictions).round(1).tolist() == [100.0, 150.0]  # type: ignore[union-attr]


def test_missing_column_is_400_naming_it(houses: Path) -> None:
    with pytest.raises(InvalidInput, match=r"missing column\(s\) \['age'\]"):
        loaded(houses).predict(PredictRequest([{"city": "Oslo", "rooms": 2}]))


def test_v2_pandas_content_type(houses: Path) -> None:
    def column(name: str, datatype: str, values: list[object]) -> Tensor:
        array = np.asarray(values, dtype=object if datatype == "BYTES" else None)
        return Tensor(name, datatype, [len(values)], array)

    request = InferRequest(
        inputs=[
            column("city", "BYTES", [b"Oslo", "Rome"]),
            column("rooms", "INT64", [2, 3]),
            column("age", "INT64", [30, 40]),
        ],
        parameters={"content_type": "pd"},
    )
    response = loaded(houses).predict(request)
    assert response.outputs[0].data.round(1).tolist() == [100.0, 150.0]  # type: ignore[union-attr]


def test_positional_rows_for_a_dataframe_model(houses: Path) -> None:
    response = loaded(houses).predict(PredictRequest([["Oslo", 2, 30]]))
    assert np.asarray(response.predictions).round(1).tolist() == [100.0]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "message"), [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")]
)
def test_non_finite_input_keeps_sklearns_own_error(
    tmp_path: Path, iris_svc: linear_model.LogisticRegression, value: float, message: str
) -> None:
    joblib.dump(iris_svc, tmp_path / "model.joblib")
    model = loaded(tmp_path)
    rows = np.array([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, value, 1.6]])
    request = InferRequest(inputs=[Tensor("input-0", "FP64", [2, 4], rows)])
    with pytest.raises(InvalidInput, match=message):
        model.predict(request)
    finite = InferRequest(inputs=[Tensor("input-0", "FP64", [1, 4], rows[:1])])
    assert model.predict(finite).outputs[0].data.tolist() == [1]  # type: ignore[union-attr]
    assert sklearn.get_config()["assume_finite"] is False  # this thread's config restored
