"""Storage failing mid-download, against the fault store the chaos suite runs on the cluster
(tests/chaos/fault_store.py, here in a thread on loopback): the initializer retries within its
bounds, says why when it gives up, never leaves part of a model behind, and gets the model once
the store recovers (the kubelet's next run of the init container is the next `fetch`)."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from storage_archives import tar

from kserve_server.storage import fetch
from kserve_server.storage.errors import StorageError, TransientError
from kserve_server.storage.settings import StorageSettings

MODEL = bytes(range(256)) * 8_000  # 2 MB, incompressible enough that a cut lands mid-member
FAULT_STORE = Path(__file__).resolve().parents[2] / "chaos" / "fault_store.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fault_store", FAULT_STORE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Store:
    def __init__(self, root: Path) -> None:
        self.module = _module()
        self.root = root
        self.faults = self.module.Faults([])
        self.http = self.module.server(root, self.faults, host="127.0.0.1", port=0)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def script(self, faults: str) -> None:
        self.faults.replace(self.module.parse(faults))

    def served(self) -> list[str]:
        return [fault for _, fault in self.faults.report()["served"]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    root = tmp_path / "store" / "faulty"
    root.mkdir(parents=True)
    (root / "model.tar.gz").write_bytes(tar({"model.joblib": MODEL, "meta/info.json": b"{}"}))
    (root / "model.tar").write_bytes(tar({"model.joblib": MODEL, "z.json": b"{}"}, mode="w"))
    (root / "model.joblib").write_bytes(MODEL)
    made = Store(root.parent)
    thread = threading.Thread(target=made.http.serve_forever, daemon=True)
    thread.start()
    yield made
    made.http.shutdown()
    made.http.server_close()


@pytest.fixture
def mount(tmp_path: Path) -> Path:
    """/mnt/models as the pod has it: an emptyDir that exists before the initializer runs."""
    path = tmp_path / "mnt-models"
    path.mkdir()
    return path


def _entries(mount: Path) -> list[str]:
    return sorted(p.name for p in mount.iterdir())


def _whole(mount: Path) -> None:
    assert (mount / "model.joblib").read_bytes() == MODEL
    leftovers = [p.name for p in mount.iterdir() if p.name.startswith(".")]
    assert leftovers == []


async def test_5xx_past_the_retry_bound_fails_naming_it_then_recovers(
    store: Store, settings: StorageSettings, mount: Path
) -> None:
    store.script("503,503,503")
    with pytest.raises(TransientError, match=r"HTTP 503.*gave up after 3 attempts"):
        await fetch(f"{store.url}/faulty/model.tar.gz", mount, settings=settings)
    assert _entries(mount) == []  # nothing for the model server to load
    await fetch(f"{store.url}/faulty/model.tar.gz", mount, settings=settings)  # the kubelet's rerun
    _whole(mount)
    assert store.served() == ["503", "503", "503", "ok"]


async def test_5xx_within_the_bound_is_retried_in_one_run(
    store: Store, settings: StorageSettings, mount: Path
) -> None:
    store.script("500,502")
    await fetch(f"{store.url}/faulty/model.tar.gz", mount, settings=settings)
    _whole(mount)
    assert store.served() == ["500", "502", "ok"]


async def test_a_connection_cut_mid_body_is_fetched_again_whole(
    store: Store, settings: StorageSettings, mount: Path
) -> None:
    store.script("cut,cut")
    await fetch(f"{store.url}/faulty/model.joblib", mount, settings=settings)
    _whole(mount)
    assert store.served() == ["cut", "cut", "ok"]


async def test_a_stalled_connection_times_out_and_is_fetched_again(
    store: Store, settings: StorageSettings, mount: Path
) -> None:
    settings.read_timeout = 0.5
    store.script("stall:5")
    await fetch(f"{store.url}/faulty/model.tar.gz", mount, settings=settings)
    _whole(mount)
    assert store.served() == ["stall:5", "ok"]


@pytest.mark.parametrize("name", ["model.tar.gz", "model.tar"])
async def test_a_truncated_archive_is_refused_and_leaves_nothing(
    name: str, store: Store, settings: StorageSettings, mount: Path
) -> None:
    store.script("truncated")
    with pytest.raises(StorageError, match=rf"cannot unpack {name}"):
        await fetch(f"{store.url}/faulty/{name}", mount, settings=settings)
    assert _entries(mount) == []
    await fetch(f"{store.url}/faulty/{name}", mount, settings=settings)
    _whole(mount)


async def test_a_tar_cut_at_a_member_boundary_is_refused(
    store: Store, settings: StorageSettings, mount: Path, tmp_path: Path
) -> None:
    # tarfile alone takes a missing header as the end: model.joblib would arrive without z.json.
    whole = (store.root / "faulty" / "model.tar").read_bytes()
    first_member = 512 + -(-len(MODEL) // 512) * 512
    (store.root / "faulty" / "cut.tar").write_bytes(whole[:first_member])
    with pytest.raises(StorageError, match=r"cannot unpack cut.tar: .*truncated"):
        await fetch(f"{store.url}/faulty/cut.tar", mount, settings=settings)
    assert _entries(mount) == []


def test_the_store_reports_what_it_served(store: Store) -> None:
    import json
    import urllib.request

    store.script("503")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{store.url}/faulty/model.joblib")
    request = urllib.request.Request(f"{store.url}/_faults", data=b"cut, ok", method="PUT")
    with urllib.request.urlopen(request) as answer:
        report: dict[str, Any] = json.load(answer)
    assert report == {"served": [["/faulty/model.joblib", "503"]], "left": ["cut", "ok"]}
    (store.root / "plain.bin").write_bytes(b"whole")
    with urllib.request.urlopen(f"{store.url}/plain.bin") as answer:  # outside faulty/: no fault
        assert answer.read() == b"whole"
    assert store.faults.report()["left"] == ["cut", "ok"]
