"""A large V1 body parsed a slice at a time gives exactly what one orjson.loads gives, errors
included."""

from __future__ import annotations

import orjson
import pytest

from kserve_server.protocol import json_slices

ROWS = 300_000  # bodies of a few MiB: several slices each

BODIES = {
    "rows": orjson.dumps({"instances": [[6.81, 2.82, 4.83, 1.44]] * ROWS}),
    "objects with brackets and commas in strings": orjson.dumps(
        {"instances": [{"text": "a, [b] {c}", "n": i} for i in range(ROWS)], "parameters": {"x": 1}}
    ),
    "inputs, spaces": b' { "inputs" : [ '
    + b" , ".join(b"[1, 2, 3]" for _ in range(ROWS))
    + b' ] , "parameters": {"a": [1, 2]} } ',
    "escapes: parsed whole": orjson.dumps({"instances": ['say "hi", [x]'] * ROWS}),
    "other keys first: parsed whole": orjson.dumps(
        {"parameters": {}, "instances": [[1.25, 2.5]] * ROWS}
    ),
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_slices_parse_as_one_loads(name: str) -> None:
    body = BODIES[name]
    assert len(body) > 2 * json_slices.SLICE
    assert json_slices.loads(body) == orjson.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"instances": [' + b"1," * 1_500_000 + b"]}",  # a trailing comma
        b'{"instances": [,' + b"1," * 1_500_000 + b"1]}",
        b'{"instances": [' + b"1," * 1_500_000 + b"1",  # never closed
        b'{"instances": [' + b"1," * 1_500_000 + b"1]} x",
        b'{"instances": [' + b"1," * 1_500_000 + b'1], "instances": []}',  # orjson: last wins
    ],
)
def test_a_bad_or_odd_body_gives_what_one_loads_gives(body: bytes) -> None:
    try:
        expected = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        with pytest.raises(orjson.JSONDecodeError) as caught:
            json_slices.loads(body)
        assert str(caught.value) == str(exc)
    else:
        assert json_slices.loads(body) == expected
