"""Upstream KServe's sklearn server, thinly: a `kserve.Model` that loads the joblib and predicts.

This is what upstream's sklearnserver does (it is not published on PyPI); run by the benchmark
with the upstream venv's python, never imported by our code.
"""

import argparse
import pathlib
from typing import Any

import joblib
import kserve
from kserve import model_server
from kserve.errors import InferenceError
from kserve.utils.utils import get_predict_input, get_predict_response


class SKLearnIris(kserve.Model):  # type: ignore[misc]
    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = model_dir

    def load(self) -> bool:
        (path,) = pathlib.Path(self.model_dir).glob("*.joblib")
        self._model = joblib.load(path)
        self.ready = True
        return self.ready

    def predict(self, payload: Any, headers: Any = None) -> Any:
        try:
            result = self._model.predict(get_predict_input(payload))
            return get_predict_response(payload, result, self.name)
        except Exception as exc:
            raise InferenceError(str(exc)) from exc


def main() -> None:
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_dir", required=True)
    args, _ = parser.parse_known_args()
    model = SKLearnIris(args.model_name, args.model_dir)
    model.load()
    kserve.ModelServer().start([model])


if __name__ == "__main__":
    main()
