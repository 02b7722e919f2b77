"""scikit-learn runtime: one `*.joblib`, `*.pkl` or `*.pickle` file, loaded with joblib.

Text models (a vectorizer first) take one string per instance; DataFrame-fitted pipelines take
named columns aligned to `feature_names_in_`; everything else takes a 2-D numeric array.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.inference import ModelMetadata, TensorSpec
from kserve_server.runtimes import base, inputs

log = logging.getLogger(__name__)


class SKLearnModel(base.ArrayModel):
    suffixes = (".joblib", ".pkl", ".pickle")
    framework = "sklearn"
    platform = "sklearn"

    estimator: Any = None
    text = False
    columns: list[str] | None = None
    n_features: int | None = None
    trust_finite = False  # predict may skip sklearn's finiteness check for finite inputs

    def load(self) -> None:
        path = self.model_file()
        import joblib

        try:
            estimator = joblib.load(path)
        except (ModuleNotFoundError, AttributeError, ImportError) as exc:
            raise ModelLoadError(
                f"cannot unpickle {path.name}: {exc} (was it saved with another scikit-learn?)"
            ) from exc
        if not hasattr(estimator, "predict"):
            raise ModelLoadError(f"{path.name} holds a {type(estimator).__name__}, not a model")
        self.estimator = estimator
        self.text = _first_step_is_vectorizer(estimator)
        names = getattr(estimator, "feature_names_in_", None)
        self.columns = [str(n) for n in names] if names is not None else None
        self.n_features = getattr(estimator, "n_features_in_", None)
        # a chain (Pipeline, stacking) may make non-finite values from finite ones: keep checks
        self.trust_finite = not any(hasattr(estimator, a) for a in ("steps", "final_estimator"))
        log.info(
            "model %s: loaded %s (%s)%s",
            self.name,
            path,
            type(estimator).__name__,
            ", text input" if self.text else "",
        )

    def unload(self) -> None:
        self.estimator = None

    def metadata(self) -> ModelMetadata:
        """V2 metadata from the fitted estimator: named columns, or one [-1, n] input."""
        if self.estimator is None:
            return ModelMetadata(platform=self.platform)
        if self.text:
            inputs = [TensorSpec("input-0", "BYTES", [-1])]
        elif self.columns is not None:
            inputs = [TensorSpec(name, "BYTES", [-1]) for name in self.columns]
        else:
            inputs = [TensorSpec("input-0", "FP64", [-1, self.n_features or -1])]
        classes = getattr(self.estimator, "classes_", None)
        kind = np.asarray(classes).dtype.kind if classes is not None else "f"
        if self.predict_proba and hasattr(self.estimator, "predict_proba"):
            output = TensorSpec(
                "output-0", "FP64", [-1, len(classes) if classes is not None else -1]
            )
        else:
            datatype = {"i": "INT64", "u": "INT64", "b": "BOOL", "U": "BYTES", "O": "BYTES"}
            output = TensorSpec("output-0", datatype.get(kind, "FP64"), [-1])
        return ModelMetadata(platform=self.platform, inputs=inputs, outputs=[output])

    def run(self, x: inputs.ModelInput) -> np.ndarray[Any, Any]:
        method = self.estimator.predict
        if self.predict_proba and hasattr(self.estimator, "predict_proba"):
            method = self.estimator.predict_proba
        if isinstance(x, inputs.Columns):
            if self.text:  # a DataFrame would hand the vectorizer its column names
                return np.asarray(method(_texts(x)))
            return np.asarray(method(x.to_frame(self.columns)))
        if isinstance(x, list):
            if not self.text:
                x = np.asarray(x, dtype=object).reshape(-1, 1)
            return np.asarray(method(x))
        if self.text:
            if x.dtype.kind in "OU" and x.ndim == 2 and x.shape[1] == 1:
                return np.asarray(method(x.reshape(-1).tolist()))
            raise InvalidInput(
                'this text model takes one string per instance: ["text", ...] or [["text"], ...]'
            )
        self._check_features(x)
        if self.columns is not None and x.ndim == 2:
            import pandas as pd

            return np.asarray(method(pd.DataFrame(x, columns=self.columns)))
        if self.trust_finite and _finite(x):
            import sklearn

            # sklearn's own finiteness check costs ~10x ours on a small predict; non-finite
            # input takes the normal path, so its error stays sklearn's own. set_config (this
            # thread's config) rather than config_context: a fifth of the cost per request
            previous = sklearn.get_config()["assume_finite"]
            sklearn.set_config(assume_finite=True)
            try:
                return np.asarray(method(x))
            finally:
                sklearn.set_config(assume_finite=previous)
        return np.asarray(method(x))

    def _check_features(self, x: np.ndarray[Any, Any]) -> None:
        if self.text or self.n_features is None:
            return
        if x.ndim != 2:
            raise InvalidInput(
                f"expected a list of instances with {self.n_features} features each, "
                f"got an array of shape {list(x.shape)}"
            )
        if x.shape[1] != self.n_features:
            raise InvalidInput(
                f"expected {self.n_features} features per instance, got {x.shape[1]}"
            )


def _texts(columns: inputs.Columns) -> list[str]:
    """Objects with one field (`[{"text": "..."}, ...]`): that field of each, one row each."""
    if len(columns.data) != 1:
        raise InvalidInput(
            "this text model takes one string per instance; the objects have fields "
            f"{sorted(columns.data)}, expected exactly one"
        )
    (values,) = columns.data.values()
    if not all(isinstance(value, str) for value in values):
        raise InvalidInput("this text model takes one string per instance")
    return values


def _finite(x: np.ndarray[Any, Any]) -> bool:
    kind = x.dtype.kind
    return kind in "biu" or (kind == "f" and bool(np.isfinite(x).all()))


def _first_step_is_vectorizer(estimator: Any) -> bool:
    steps = getattr(estimator, "steps", None)
    first = steps[0][1] if steps else estimator
    return hasattr(first, "build_analyzer")
