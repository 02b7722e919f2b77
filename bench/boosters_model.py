"""Writes the start-up cell's XGBoost and LightGBM models (run with our .venv's python): boosters
trained on iris, `<out>/xgboost/model.json` and `<out>/lightgbm/model.bst`."""

import argparse
import pathlib

import lightgbm
import xgboost
from sklearn import datasets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()
    x, y = datasets.load_iris(return_X_y=True)
    (args.out / "xgboost").mkdir(parents=True, exist_ok=True)
    params = {"objective": "multi:softmax", "num_class": 3, "nthread": 1}
    xgboost.train(params, xgboost.DMatrix(x, label=y), 10).save_model(
        str(args.out / "xgboost" / "model.json")
    )
    (args.out / "lightgbm").mkdir(parents=True, exist_ok=True)
    params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "min_data_in_leaf": 5}
    booster = lightgbm.train({**params, "num_threads": 1}, lightgbm.Dataset(x, label=y), 20)
    booster.save_model(str(args.out / "lightgbm" / "model.bst"))


if __name__ == "__main__":
    main()
