"""--storage-map: a storageUri served from elsewhere, the YAML untouched."""

from __future__ import annotations

import pytest

from kserve_local import storage_map


def test_parse_flags_and_env_lists() -> None:
    assert storage_map.parse(["gs://a=/x, s3://b=/y", "", "https://h/m.pkl=/z/m.pkl"]) == {
        "gs://a": "/x",
        "s3://b": "/y",
        "https://h/m.pkl": "/z/m.pkl",
    }


def test_a_malformed_entry_is_named() -> None:
    with pytest.raises(storage_map.StorageMapError, match="'gs://a': expected FROM=TO"):
        storage_map.parse(["gs://a"])


@pytest.mark.parametrize(
    ("uri", "mapped"),
    [
        ("gs://kfserving-examples/models/sklearn/1.0/model", "/m/iris"),
        ("gs://kfserving-examples/models/sklearn/1.0/model/sub", "/m/iris/sub"),
        ("gs://kfserving-examples/models/sklearn/1.0/model-2", "/m/all/sklearn/1.0/model-2"),
        ("gs://kfserving-examples/modelsX", "gs://kfserving-examples/modelsX"),
        ("gs://kfserving-examples/models/x", "/m/all/x"),
    ],
)
def test_apply_longest_prefix_on_path_boundaries(uri: str, mapped: str) -> None:
    mapping = {
        "gs://kfserving-examples/models": "/m/all",
        "gs://kfserving-examples/models/sklearn/1.0/model": "/m/iris",
    }
    assert storage_map.apply(uri, mapping) == mapped
