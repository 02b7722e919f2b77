"""A configured CA bundle is trusted in addition to the system store, never instead of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from kserve_server.storage import trust
from kserve_server.storage.errors import StorageError


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "cabundle.crt"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def system() -> Path:
    found = trust.system_bundle()
    if found is None:
        pytest.fail("this test needs a system CA bundle (Debian: apt-get install ca-certificates)")
    return found


def test_the_context_trusts_the_bundle_and_the_system_store(bundle: Path, system: Path) -> None:
    ctx = trust.context(bundle)
    subjects = [dict(x[0] for x in ca["subject"]) for ca in ctx.get_ca_certs()]
    assert any("trustme" in s.get("organizationName", "") for s in subjects)
    assert len(subjects) > 10  # the system's public roots are still there


def test_the_combined_file_starts_with_the_system_store(
    bundle: Path, system: Path, tmp_path: Path
) -> None:
    combined = trust.combined_file(bundle, into=tmp_path).read_text()
    assert combined.startswith(system.read_text())
    assert combined.endswith(bundle.read_text())


def test_a_missing_or_garbage_bundle_is_named(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"nope\.crt"):
        trust.context(tmp_path / "nope.crt")
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("not a certificate")
    with pytest.raises(StorageError, match=r"garbage\.crt holds no readable PEM"):
        trust.context(garbage)
