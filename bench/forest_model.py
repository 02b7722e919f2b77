"""Writes the batching cell's heavier model (run with our .venv's python): a 300-tree random
forest on iris, where a call's fixed cost (300 trees walked per call) dwarfs a row's."""

import argparse
import pathlib

import joblib
from sklearn import datasets, ensemble


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()
    iris = datasets.load_iris()
    model = ensemble.RandomForestClassifier(n_estimators=300, random_state=7, n_jobs=1)
    model.fit(iris.data, iris.target)
    args.out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.out / "model.joblib")


if __name__ == "__main__":
    main()
