"""LightGBM runtime: one `*.bst` or `*.txt` Booster file; dict instances are aligned to the
booster's feature names; multiclass models return per-class probabilities (FP64), as upstream."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from kserve_server.errors import ModelLoadError
from kserve_server.runtimes import base, inputs

log = logging.getLogger(__name__)


class LightGBMModel(base.ArrayModel):
    suffixes = (".bst", ".txt")
    framework = "lightgbm"
    platform = "lightgbm"

    booster: Any = None

    def load(self) -> None:
        path = self.model_file()
        import lightgbm

        try:
            booster = lightgbm.Booster(model_file=str(path))  # threads are set per predict
        except lightgbm.basic.LightGBMError as exc:
            raise ModelLoadError(f"cannot load LightGBM model {path.name}: {exc}") from exc
        self.booster = booster
        log.info("model %s: loaded %s (lightgbm.Booster)", self.name, path)

    def unload(self) -> None:
        self.booster = None

    def run(self, x: inputs.ModelInput) -> np.ndarray[Any, Any]:
        import lightgbm

        if isinstance(x, inputs.Columns):
            data = x.to_frame(list(self.booster.feature_name()), missing_as_nan=True)
        else:
            data = np.asarray(x, dtype=np.float64)
        try:
            return np.asarray(self.booster.predict(data, num_threads=self.nthread))
        except lightgbm.basic.LightGBMError as exc:
            raise ValueError(str(exc)) from exc
