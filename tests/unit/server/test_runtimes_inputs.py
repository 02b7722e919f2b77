"""V1 instances → the array a model gets: converted a slice of rows at a time (so the event loop
runs between slices), with the same result as one np.asarray."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kserve_server.errors import InvalidInput
from kserve_server.runtimes import inputs


@pytest.mark.parametrize(
    "rows",
    [
        [[1, 2], [3, 4], [5, 6.5], [7, 8]],  # ints, then a float: all float
        [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]],
        [True, False, 3],
        [0.5, 1, 2, 3, 4],
    ],
)
def test_slices_give_what_one_asarray_gives(
    rows: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inputs, "ROWS_PER_STEP", 2)
    array = inputs.from_instances(rows)
    assert isinstance(array, np.ndarray)
    expected = np.asarray(rows)
    assert array.dtype == expected.dtype
    assert array.tolist() == expected.tolist()


def test_strings_in_a_later_slice_keep_each_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "ROWS_PER_STEP", 2)
    array = inputs.from_instances([[1, 2], [3, 4], [5, "x"]])
    assert isinstance(array, np.ndarray)
    assert array.dtype == object and array.tolist() == [[1, 2], [3, 4], [5, "x"]]


def test_ragged_rows_in_a_later_slice_are_400(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "ROWS_PER_STEP", 2)
    with pytest.raises(InvalidInput, match="not a rectangular array"):
        inputs.from_instances([[1, 2], [3, 4], [5]])
