"""XGBoost runtime: one `*.bst`, `*.json` or `*.ubj` Booster file; predictions as the booster gives
them (a multi:softmax model returns float class ids, FP32 in V2, as upstream)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.runtimes import base, inputs

log = logging.getLogger(__name__)


class XGBoostModel(base.ArrayModel):
    suffixes = (".bst", ".json", ".ubj")
    framework = "xgboost"
    platform = "xgboost"

    booster: Any = None

    def load(self) -> None:
        path = self.model_file()
        import xgboost

        try:
            # bytes, as upstream does: XGBoost sniffs JSON vs UBJSON instead of trusting ".bst"
            raw = bytearray(path.read_bytes())
            booster = xgboost.Booster(params={"nthread": self.nthread}, model_file=raw)
        except xgboost.core.XGBoostError as exc:
            raise ModelLoadError(f"cannot load XGBoost model {path.name}: {exc}") from exc
        self.booster = booster
        log.info("model %s: loaded %s (xgboost.Booster)", self.name, path)

    def unload(self) -> None:
        self.booster = None

    def run(self, x: inputs.ModelInput) -> np.ndarray[Any, Any]:
        import xgboost

        names = self.booster.feature_names
        if isinstance(x, inputs.Columns):
            data = x.to_frame(list(names) if names else None, missing_as_nan=True)
        else:
            data = np.asarray(x, dtype=np.float32)
            width = self.booster.num_features()
            if data.ndim != 2 or data.shape[1] != width:
                raise InvalidInput(
                    f"expected instances of {width} features, got shape {list(data.shape)}"
                )
        try:
            matrix = xgboost.DMatrix(data, nthread=self.nthread)
            return np.asarray(self.booster.predict(matrix))
        except xgboost.core.XGBoostError as exc:
            raise ValueError(str(exc).splitlines()[0]) from exc
