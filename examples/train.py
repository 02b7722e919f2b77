"""Train the two tutorial models from data in this repo and scikit-learn (no downloads).

    python examples/train.py --out DIR

writes DIR/sklearn-iris/model.joblib (an SVC on scikit-learn's bundled iris data, like upstream's
gs://kfserving-examples/models/sklearn/1.0/model) and DIR/intent-classifier/intent_model.pkl (a
CountVectorizer + MultinomialNB pipeline on examples/data/intents.csv, like the tutorial's).
"""

from __future__ import annotations

import argparse
import csv
import pickle
from pathlib import Path

import joblib
from sklearn import datasets, svm
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline

INTENTS = Path(__file__).resolve().parent / "data" / "intents.csv"


def train_iris(out: Path) -> Path:
    iris = datasets.load_iris()
    model = svm.SVC(gamma="scale")
    model.fit(iris.data, iris.target)
    path = out / "sklearn-iris" / "model.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path)
    return path


def train_intent(out: Path) -> Path:
    with INTENTS.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    pipeline = Pipeline([("vectorizer", CountVectorizer()), ("classifier", MultinomialNB())])
    pipeline.fit([row["text"] for row in rows], [row["intent"] for row in rows])
    path = out / "intent-classifier" / "intent_model.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(pipeline, handle)  # the tutorial's model is a plain pickle
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the model folders")
    args = parser.parse_args()
    for path in (train_iris(args.out), train_intent(args.out)):
        print(path)


if __name__ == "__main__":
    main()
