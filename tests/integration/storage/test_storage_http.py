"""http(s):// against real aiohttp servers on loopback (one with a certificate from a test CA)."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest
from storage_archives import tar, with_lying_sizes, zip_
from storage_servers import FileServer

from kserve_server.storage import fetch
from kserve_server.storage.errors import (
    AccessDeniedError,
    NotFoundError,
    StorageError,
    TransientError,
    UnpackLimitError,
    UnsafePathError,
)
from kserve_server.storage.settings import StorageSettings

MODEL = b"\x80\x04pickled-model" * 1000
MIB = 1 << 20


async def test_downloads_a_file_served_as_any_content_type(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    http_server.files["/files/intent_model.pkl"] = MODEL  # served as text/html, as GitHub might
    dest = tmp_path / "models"
    await fetch(f"{http_server.url}/files/intent_model.pkl", dest, settings=settings)
    assert (dest / "intent_model.pkl").read_bytes() == MODEL
    assert [p.name for p in dest.iterdir()] == ["intent_model.pkl"]


async def test_follows_redirects_like_github_release_assets(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    http_server.files["/files/v1.0/intent_model.pkl"] = MODEL
    await fetch(
        f"{http_server.url}/redirect/v1.0/intent_model.pkl", tmp_path / "m", settings=settings
    )
    assert (tmp_path / "m" / "intent_model.pkl").read_bytes() == MODEL
    assert http_server.hits["/redirect/v1.0/intent_model.pkl"] == 1


@pytest.mark.parametrize("name", ["model.tar.gz", "model.tgz", "model.tar"])
async def test_unpacks_tar_archives(
    name: str, http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    mode = "w" if name.endswith(".tar") else "w:gz"
    http_server.files[f"/files/{name}"] = tar(
        {"model.joblib": MODEL, "sub/meta.json": b"{}"}, mode=mode
    )
    dest = tmp_path / "m"
    await fetch(f"{http_server.url}/files/{name}", dest, settings=settings)
    assert (dest / "model.joblib").read_bytes() == MODEL
    assert (dest / "sub" / "meta.json").read_bytes() == b"{}"
    assert not (dest / name).exists()


async def test_unpacks_a_zip_named_in_the_query(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    http_server.files["/files/download"] = zip_({"model.pth": MODEL})
    uri = f"{http_server.url}/files/download?path=/2021/model.zip"
    await fetch(uri, tmp_path / "m", settings=settings)
    assert (tmp_path / "m" / "model.pth").read_bytes() == MODEL


async def test_rejects_a_zip_slip_archive_and_leaves_nothing(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    http_server.files["/files/evil.zip"] = zip_({"ok.txt": b"ok", "../../escaped.txt": b"pwned"})
    dest = tmp_path / "deep" / "m"
    with pytest.raises(UnsafePathError, match=r"\.\./\.\./escaped\.txt"):
        await fetch(f"{http_server.url}/files/evil.zip", dest, settings=settings)
    assert not dest.exists()
    assert _all_files(tmp_path) == []  # nothing escaped, no staging dir left behind


async def test_rejects_a_tar_whose_symlink_escapes(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    evil = tar({"model.joblib": MODEL}, symlinks={"creds": "../../../../etc/passwd"})
    http_server.files["/files/evil.tar.gz"] = evil
    with pytest.raises(UnsafePathError, match=r"creds.*outside"):
        await fetch(f"{http_server.url}/files/evil.tar.gz", tmp_path / "m", settings=settings)
    assert not (tmp_path / "m").exists()


async def test_a_zip_bomb_is_refused_naming_the_limit_and_leaves_nothing(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    bomb = zip_({"model.pth": bytes(64 * MIB)}, compression=zipfile.ZIP_DEFLATED)
    assert len(bomb) < 128 * 1024  # a 64 KiB download claiming 64 MiB
    http_server.files["/files/model.zip"] = bomb
    settings.unpack_ratio_floor = MIB  # the default floor (1 GiB) would take a while to write
    dest = tmp_path / "m"
    with pytest.raises(UnpackLimitError) as caught:
        await fetch(f"{http_server.url}/files/model.zip", dest, settings=settings)
    assert str(caught.value).startswith("refusing to unpack model.zip: it expands past")
    assert "raise STORAGE_UNPACK_MAX_RATIO" in str(caught.value)
    assert not dest.exists()
    assert _all_files(tmp_path) == []


async def test_a_tar_gz_over_the_byte_cap_is_refused_and_leaves_nothing(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    small, big = random.Random(0).randbytes(MIB), random.Random(1).randbytes(3 * MIB)
    http_server.files["/files/model.tar.gz"] = tar({"a/small.bin": small, "b/big.bin": big})
    settings.unpack_max_bytes = 2 * MIB  # incompressible: the ratio is no concern, the cap is
    dest = tmp_path / "models"
    dest.mkdir()  # a mount point, as /mnt/models is: what is in it stays, nothing is added
    (dest / "earlier.txt").write_bytes(b"kept")
    with pytest.raises(UnpackLimitError, match=r"past 2\.0 MiB; raise STORAGE_UNPACK_MAX_BYTES"):
        await fetch(f"{http_server.url}/files/model.tar.gz", dest, settings=settings)
    assert _all_files(tmp_path) == [dest / "earlier.txt"]  # small.bin was unpacked, then removed


async def test_a_zip_whose_header_understates_a_bomb_is_refused(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    honest = zip_({"model.pth": bytes(64 * MIB)}, compression=zipfile.ZIP_DEFLATED)
    http_server.files["/files/model.zip"] = with_lying_sizes(honest, claimed=1024)
    settings.unpack_ratio_floor = MIB
    dest = tmp_path / "m"
    with pytest.raises(StorageError, match=r"cannot unpack model\.zip") as caught:
        await fetch(f"{http_server.url}/files/model.zip", dest, settings=settings)
    assert "model.pth" in str(caught.value)  # the member whose bytes disagree with its header
    assert not dest.exists()
    assert _all_files(tmp_path) == []


async def test_404_fails_at_once_naming_the_uri(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    uri = f"{http_server.url}/files/missing.pkl"
    with pytest.raises(NotFoundError, match=r"missing.pkl.*404"):
        await fetch(uri, tmp_path / "m", settings=settings)
    assert http_server.hits["/files/missing.pkl"] == 1


async def test_403_fails_at_once_without_the_credentials(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    uri = f"http://user:hunter2@{http_server.url[7:]}/forbidden/m.pkl?X-Amz-Signature=s3cr3t"
    with pytest.raises(AccessDeniedError) as caught:
        await fetch(uri, tmp_path / "m", settings=settings)
    assert "403" in str(caught.value) and "/forbidden/m.pkl" in str(caught.value)
    assert "hunter2" not in str(caught.value) and "s3cr3t" not in str(caught.value)
    assert http_server.hits["/forbidden/m.pkl"] == 1


async def test_retries_5xx_then_succeeds(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    http_server.files["/files/model.pkl"] = MODEL
    await fetch(f"{http_server.url}/flaky/model.pkl", tmp_path / "m", settings=settings)
    assert (tmp_path / "m" / "model.pkl").read_bytes() == MODEL
    assert http_server.hits["/flaky/model.pkl"] == 3


async def test_gives_up_after_bounded_retries(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    with pytest.raises(TransientError, match=r"500.*gave up after 3 attempts"):
        await fetch(f"{http_server.url}/broken/model.pkl", tmp_path / "m", settings=settings)
    assert http_server.hits["/broken/model.pkl"] == 3
    assert not (tmp_path / "m").exists()


async def test_a_dropped_connection_is_retried_and_the_file_is_whole(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    big = bytes(range(256)) * 40_000  # 10 MB: the cut lands mid-body
    http_server.files["/files/big.bin"] = big
    await fetch(f"{http_server.url}/dropped/big.bin", tmp_path / "m", settings=settings)
    assert (tmp_path / "m" / "big.bin").read_bytes() == big
    assert http_server.hits["/dropped/big.bin"] == 2


async def test_a_dropped_download_resumes_where_it_stopped(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    big = bytes(range(256)) * 40_000
    http_server.files["/files/big.bin"] = big
    await fetch(f"{http_server.url}/resumable/big.bin", tmp_path / "m", settings=settings)
    assert (tmp_path / "m" / "big.bin").read_bytes() == big
    asked = http_server.seen_headers["/resumable/big.bin"]
    assert asked["If-Range"] == '"v1"'
    assert int(asked["Range"].removeprefix("bytes=").rstrip("-")) > 0


async def test_an_object_replaced_mid_download_is_fetched_whole_again(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    big = bytes(range(256)) * 40_000
    http_server.files["/files/big.bin"] = big
    await fetch(f"{http_server.url}/changing/big.bin", tmp_path / "m", settings=settings)
    assert (tmp_path / "m" / "big.bin").read_bytes() == big
    assert http_server.hits["/changing/big.bin"] == 2


async def test_a_stalled_server_times_out_and_is_retried(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    http_server.files["/files/model.pkl"] = MODEL
    settings.read_timeout = 0.5
    await fetch(f"{http_server.url}/slow/model.pkl", tmp_path / "m", settings=settings)
    assert (tmp_path / "m" / "model.pkl").read_bytes() == MODEL
    assert http_server.hits["/slow/model.pkl"] == 2


async def test_sends_headers_from_the_hostname_env_setting(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    http_server.files["/files/model.pkl"] = MODEL
    settings.http_headers = {"127.0.0.1": {"X-Api-Key": "k1"}}
    await fetch(f"{http_server.url}/files/model.pkl", tmp_path / "m", settings=settings)
    assert http_server.seen_headers["/files/model.pkl"]["X-Api-Key"] == "k1"


async def test_https_with_the_ca_bundle_setting(
    https_server: FileServer, ca_file: Path, settings: StorageSettings, tmp_path: Path
) -> None:
    https_server.files["/files/model.pkl"] = MODEL
    settings.ca_bundle = ca_file
    await fetch(f"{https_server.url}/redirect/model.pkl", tmp_path / "m", settings=settings)
    assert (tmp_path / "m" / "model.pkl").read_bytes() == MODEL


async def test_https_without_the_ca_fails_with_a_hint_and_no_retry(
    https_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    https_server.files["/files/model.pkl"] = MODEL
    with pytest.raises(StorageError, match=r"TLS verification failed.*SSL_CERT_FILE"):
        await fetch(f"{https_server.url}/files/model.pkl", tmp_path / "m", settings=settings)


async def test_a_url_without_a_file_name_is_refused(
    http_server: FileServer, settings: StorageSettings, tmp_path: Path
) -> None:
    with pytest.raises(StorageError, match=r"no file name"):
        await fetch(f"{http_server.url}/files/", tmp_path / "m", settings=settings)


async def test_an_unreachable_host_fails_after_retries(
    settings: StorageSettings, tmp_path: Path
) -> None:
    from storage_servers import free_port

    with pytest.raises(TransientError, match=r"gave up"):
        await fetch(f"http://127.0.0.1:{free_port()}/m.pkl", tmp_path / "m", settings=settings)


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]
