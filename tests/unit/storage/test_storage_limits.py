"""The unpack budget: ratio, byte and member caps, each refusal naming the variable to raise."""

from __future__ import annotations

import io

import pydantic
import pytest

from kserve_server.storage.errors import UnpackLimitError
from kserve_server.storage.limits import CHUNK, GIB, Budget, Limits
from kserve_server.storage.settings import StorageSettings

MIB = 1 << 20


def test_defaults_allow_a_real_model_and_stop_a_bomb() -> None:
    weights = Budget("llm.tar", size=200 * GIB, limits=Limits())
    assert weights.allowed == 256 * GIB  # a big honest archive: only the byte cap applies
    tiny = Budget("bomb.zip", size=10_000, limits=Limits())
    assert tiny.allowed == GIB  # 10 kB may expand to the floor, not to 10 GB


def test_the_ratio_sets_the_allowance_above_the_floor() -> None:
    budget = Budget("m.tar.gz", size=5 * MIB, limits=Limits(max_ratio=10, ratio_floor=MIB))
    assert budget.allowed == 50 * MIB
    budget.charge(50 * MIB)
    with pytest.raises(UnpackLimitError) as caught:
        budget.charge(1)
    message = str(caught.value)
    assert message.startswith("refusing to unpack m.tar.gz: it expands past 50.0 MiB")
    assert "10 times its 5.0 MiB" in message and "STORAGE_UNPACK_MAX_RATIO" in message


def test_the_byte_cap_is_named_when_it_binds() -> None:
    budget = Budget("m.tar", size=100 * MIB, limits=Limits(max_bytes=150 * MIB))
    with pytest.raises(UnpackLimitError, match=r"past 150\.0 MiB; raise STORAGE_UNPACK_MAX_BYTES"):
        budget.charge(150 * MIB + 1)
    assert budget.written == 0  # a refused charge is not counted


def test_a_declared_total_over_the_allowance_is_refused_before_writing() -> None:
    budget = Budget("m.zip", size=1000, limits=Limits(ratio_floor=MIB))
    budget.expect(MIB)
    with pytest.raises(UnpackLimitError, match="STORAGE_UNPACK_MAX_RATIO"):
        budget.expect(MIB + 1)


def test_members_past_the_cap_are_refused() -> None:
    budget = Budget("m.tar", size=1, limits=Limits(max_members=3))
    budget.add_members(2)
    budget.add_members()
    with pytest.raises(UnpackLimitError, match=r"more than 3 members.*STORAGE_UNPACK_MAX_MEMBERS"):
        budget.add_members()


def test_copy_stops_before_the_first_chunk_over_budget() -> None:
    budget = Budget("m.zip", size=1, limits=Limits(ratio_floor=2 * CHUNK + CHUNK // 2))
    out = io.BytesIO()
    with pytest.raises(UnpackLimitError):
        budget.copy(io.BytesIO(bytes(10 * CHUNK)), out)
    assert len(out.getvalue()) == 2 * CHUNK  # never a byte past the allowance on disk
    assert budget.written == 2 * CHUNK


def test_copy_of_a_stream_within_budget_is_whole() -> None:
    budget = Budget("m.zip", size=1, limits=Limits(ratio_floor=3 * CHUNK))
    out = io.BytesIO()
    budget.copy(io.BytesIO(b"w" * (3 * CHUNK)), out)
    assert out.getvalue() == b"w" * (3 * CHUNK)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("512Gi", 512 * GIB), ("2GiB", 2 * GIB), ("1.5 GB", 1_500_000_000), ("1048576", MIB)],
)
def test_byte_settings_read_kubernetes_and_plain_sizes(
    value: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_UNPACK_MAX_BYTES", value)
    monkeypatch.setenv("STORAGE_UNPACK_RATIO_FLOOR", value)
    limits = StorageSettings().unpack_limits()
    assert limits.max_bytes == expected and limits.ratio_floor == expected


def test_settings_default_to_the_limits_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BYTES", "RATIO", "MEMBERS"):
        monkeypatch.delenv(f"STORAGE_UNPACK_MAX_{name}", raising=False)
    monkeypatch.delenv("STORAGE_UNPACK_RATIO_FLOOR", raising=False)
    assert StorageSettings().unpack_limits() == Limits()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STORAGE_UNPACK_MAX_BYTES", "lots"),
        ("STORAGE_UNPACK_MAX_RATIO", "0.5"),
        ("STORAGE_UNPACK_MAX_MEMBERS", "0"),
    ],
)
def test_a_bad_limit_is_refused_naming_the_variable(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(pydantic.ValidationError, match=name):
        StorageSettings()
