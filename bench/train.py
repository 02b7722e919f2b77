"""Trains the iris SVC every server in the benchmark serves (our .venv's scikit-learn)."""

import pathlib
import sys

import joblib
from sklearn import datasets, svm


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    iris = datasets.load_iris()
    model = svm.SVC(gamma="scale").fit(iris.data, iris.target)
    joblib.dump(model, out / "model.joblib")


if __name__ == "__main__":
    main()
