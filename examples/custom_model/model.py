"""A custom model on kserve-py's model API: subclass Model, implement the hooks, serve it.

    python examples/custom_model/model.py --http_port 8080
    curl -s localhost:8080/v1/models/word-count:predict -d '{"instances": ["the cat sat", "hi"]}'
    # {"predictions":[{"words":2,"longest":"cat"},{"words":1,"longest":"hi"}]}

Hooks run in this order for every request: preprocess → predict → postprocess. Each is a plain
method; the server runs it on the event loop for small requests and in a worker thread for large
ones. `load()` runs once, in a worker thread, before the model reports ready. V1 requests arrive
as PredictRequest (`instances`), V2 requests as InferRequest (numpy tensors); answer each in kind.
Raise kserve_server.errors.InvalidInput for a 400; any other exception is a 500 with its message.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from kserve_server import server
from kserve_server.errors import InvalidInput
from kserve_server.inference import (
    InferResponse,
    PredictRequest,
    PredictResponse,
    Request,
    Response,
    Tensor,
)
from kserve_server.runtimes.base import Model
from kserve_server.settings import ServerSettings


class WordCount(Model):
    """Counts the words of each text (stop words aside) and names the longest one."""

    stop_words: frozenset[str] = frozenset()

    def load(self) -> None:
        # read files, build the estimator, warm caches ... here: a stop-word list
        self.stop_words = frozenset({"the", "a", "an"})

    def preprocess(self, request: Request) -> Request:
        # validate early: V1 instances must be strings; V2 takes one BYTES input
        if isinstance(request, PredictRequest):
            if not all(isinstance(text, str) for text in request.instances):
                raise InvalidInput("word-count takes one string per instance")
        elif request.inputs[0].datatype != "BYTES":
            raise InvalidInput("word-count takes a BYTES input")
        return request

    def predict(self, request: Request) -> Response:
        if isinstance(request, PredictRequest):
            counts = [self._count(text) for text in request.instances]
            return PredictResponse(predictions=[{"words": n, "longest": w} for n, w in counts])
        texts = [_text(item) for item in request.inputs[0].data.reshape(-1).tolist()]
        counts = [self._count(text) for text in texts]
        words = np.asarray([n for n, _ in counts], dtype=np.int64)
        longest = np.asarray([w for _, w in counts], dtype=object)
        return InferResponse(
            outputs=[
                Tensor("words", "INT64", list(words.shape), words),
                Tensor("longest", "BYTES", list(longest.shape), longest),
            ]
        )

    def postprocess(self, response: Response) -> Response:
        if isinstance(response, InferResponse):
            response.parameters = {"stop_words": len(self.stop_words)}
        return response

    def _count(self, text: str) -> tuple[int, str]:
        words = [word for word in text.split() if word.lower() not in self.stop_words]
        return len(words), max(words, key=len, default="")


def _text(item: object) -> str:
    return item.decode() if isinstance(item, bytes) else str(item)


def main() -> None:
    parser = argparse.ArgumentParser(description="serve the word-count custom model")
    parser.add_argument("--http_port", type=int, default=8080)
    args = parser.parse_args()
    sys.exit(server.run(ServerSettings(http_port=args.http_port), models=[WordCount("word-count")]))


if __name__ == "__main__":
    main()
