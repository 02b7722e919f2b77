"""The GJSON subset: the examples upstream documents, and clear errors for the rest."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_server.router import gjson

DOC: dict[str, Any] = {
    "source": "client",
    "instances": [{"intval": 5, "strval": "my-red-server"}, {"intval": 12, "strval": "blue"}],
    "predictions": ["dog", "cat"],
    "flag": True,
    "a.b": {"c": 1},
    "nested": {"deep": {"value": None}},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("source", True),
        ("nested.deep.value", True),  # null exists
        ("nested.deep.other", False),
        ("predictions.1", True),
        ("predictions.2", False),
        ("predictions.#", True),
        ("source.#", False),
        ("a\\.b.c", True),
        ("sour*", True),
        ("sourc?", True),
        ("nope*", False),
        ("[@this].#(source==client)", True),  # upstream's object matching example
        ("[@this].#(source==server)", False),
        ('[@this].#(source=="client")', True),
        ("instances.#(intval>10)", True),  # upstream's array matching example
        ("instances.#(intval>20)", False),
        ("instances.#(strval%*red-server*)", True),  # upstream's pattern matching example
        ("instances.#(strval%*green*)", False),
        ("instances.#(strval!%*red*)", True),
        ("instances.#(intval>=12)#", True),
        ("instances.#(intval)", True),
        ("instances.#(missing)", False),
        ('predictions.#(=="cat")', True),
        ("[@this].#(flag==true)", True),
        ("[@this].#(flag==false)", False),
        ('[@this].#(predictions.0=="dog")', True),
        ("@this.source", True),
    ],
)
def test_paths(path: str, expected: bool) -> None:
    assert gjson.exists(gjson.compile(path), DOC) is expected


def test_get_returns_values() -> None:
    assert gjson.get(gjson.compile("instances.1.intval"), DOC) == 12
    assert gjson.get(gjson.compile("predictions.#"), DOC) == 2
    assert gjson.get(gjson.compile("instances.#(intval>1)#"), DOC) == DOC["instances"]
    assert gjson.get(gjson.compile("instances.#(intval>11).strval"), DOC) == "blue"


def test_numbers_compare_as_numbers_not_text() -> None:
    assert gjson.exists(gjson.compile("instances.#(intval>9)"), DOC)  # "12" < "9" as text


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("a|b", "|"),
        ("@reverse", "@"),
        ("{a,b}", "{"),
        ("[a,b]", "["),
        ("a.#(b.#(c==1))", "nested"),
        ("a.#(b==1", "unbalanced"),
        ("a..b", "empty key"),
    ],
)
def test_unsupported_syntax_is_refused_naming_it(path: str, named: str) -> None:
    with pytest.raises(
        gjson.PathSyntaxError, match=r"nested|unbalanced|empty key|unsupported"
    ) as e:
        gjson.compile(path)
    assert named in str(e.value)
