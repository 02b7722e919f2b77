"""`kserve-storage-initializer` as the init container runs it: exit code, one-line reason on
stderr and in the termination log, never a traceback."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from storage_archives import path_max_escape, tar
from storage_servers import FileServer


@dataclass
class Done:
    returncode: int
    stderr: str


async def run(*args: str, env: dict[str, str] | None = None) -> Done:
    """The command in a child process; async, so the test servers keep serving meanwhile."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kserve_server.storage",
        *args,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode is not None
    return Done(child.returncode, stderr.decode())


def read(path: Path) -> str:
    return path.read_text()


def names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


@pytest.fixture
def termination_log(tmp_path: Path) -> Path:
    path = tmp_path / "termination-log"
    path.touch()  # the kubelet creates it; we write only when it exists
    return path


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("modelscope://qwen/Qwen2", "ModelScope (modelscope://) downloads are not implemented yet"),
        ("oci://registry/model:1", "OCI model images (oci://) are not implemented yet"),
        ("hdfs://nn/models/m", "HDFS (hdfs://) is not implemented yet"),
        ("https://acct.blob.core.windows.net/c/m", "Azure storage (blob.core.windows.net)"),
        ("https://github.com/org/model.git", "git repositories (https://...git)"),
        ("ftp://host/model", "the ftp:// scheme is not one of gs, s3"),
    ],
)
async def test_unsupported_schemes_fail_with_one_line(
    uri: str, reason: str, termination_log: Path, tmp_path: Path
) -> None:
    done = await run(
        uri, str(tmp_path / "m"), env={"STORAGE_TERMINATION_LOG": str(termination_log)}
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"storage-initializer: error: cannot fetch {uri}: {reason}")
    )
    assert read(termination_log).startswith(f"cannot fetch {uri}: {reason}")


async def test_a_404_reason_reaches_the_termination_log(
    http_server: FileServer, termination_log: Path, tmp_path: Path
) -> None:
    uri = f"{http_server.url}/files/gone.pkl"
    done = await run(
        uri, str(tmp_path / "m"), env={"STORAGE_TERMINATION_LOG": str(termination_log)}
    )
    assert done.returncode == 1
    assert read(termination_log) == f"not found: {uri} (HTTP 404)"


async def test_no_termination_log_file_no_write(tmp_path: Path) -> None:
    absent = tmp_path / "absent-log"
    done = await run(
        "oci://a/b:1", str(tmp_path / "m"), env={"STORAGE_TERMINATION_LOG": str(absent)}
    )
    assert done.returncode == 1 and not absent.exists()


async def test_a_local_directory_is_copied_and_exits_zero(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "model.joblib").write_bytes(b"m")
    (source / "sub" / "x").write_bytes(b"x")
    done = await run(f"file://{source}", str(tmp_path / "dest"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dest" / "model.joblib").read_bytes() == b"m"
    assert (tmp_path / "dest" / "sub" / "x").read_bytes() == b"x"
    assert "ready in" in done.stderr


async def test_progress_lines_name_bytes_percent_and_rate(
    http_server: FileServer, tmp_path: Path
) -> None:
    http_server.files["/files/big.bin"] = bytes(range(256)) * 80_000  # 20 MB
    done = await run(
        f"{http_server.url}/files/big.bin",
        str(tmp_path / "m"),
        env={"STORAGE_PROGRESS_INTERVAL": "0.001"},
    )
    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stderr.splitlines() if " progress " in line]
    assert progress, done.stderr
    assert re.search(r"MiB of 19\.5 MiB \(\d+%\) at [\d.]+ [KMG]?i?B/s", progress[-1])
    assert re.search(r"downloaded .*big\.bin: 19\.5 MiB in", done.stderr)


async def test_two_pairs_in_one_run(http_server: FileServer, tmp_path: Path) -> None:
    http_server.files["/files/a.pkl"] = b"a"
    http_server.files["/files/b.pkl"] = b"b"
    done = await run(
        f"{http_server.url}/files/a.pkl",
        str(tmp_path / "a"),
        f"{http_server.url}/files/b.pkl",
        str(tmp_path / "b"),
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a" / "a.pkl").read_bytes() == b"a"
    assert (tmp_path / "b" / "b.pkl").read_bytes() == b"b"


async def test_pvc_is_a_no_op_that_says_why(tmp_path: Path) -> None:
    done = await run("pvc://models-claim/iris", str(tmp_path / "m"))
    assert done.returncode == 0
    assert "volume the controller mounts" in done.stderr


async def test_a_missing_local_path_is_named(tmp_path: Path) -> None:
    done = await run(str(tmp_path / "nope"), str(tmp_path / "m"))
    assert done.returncode == 1
    assert done.stderr.strip().endswith(f"local path {tmp_path / 'nope'} does not exist")


async def test_a_bad_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    done = await run("gs://b/m", str(tmp_path / "m"), env={"S3_VERIFY_SSL": "maybe"})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "S3_VERIFY_SSL" in done.stderr


async def test_a_bomb_fails_with_one_line_naming_the_limit(
    termination_log: Path, tmp_path: Path
) -> None:
    bomb = tmp_path / "model.tar.gz"
    bomb.write_bytes(tar({"model.joblib": bytes(64 << 20)}))  # 64 KiB that unpack to 64 MiB
    dest = tmp_path / "m"
    env = {"STORAGE_TERMINATION_LOG": str(termination_log), "STORAGE_UNPACK_RATIO_FLOOR": "1Mi"}
    done = await run(f"file://{bomb}", str(dest), env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    reason = read(termination_log)
    assert reason.startswith("refusing to unpack model.tar.gz: it expands past ")
    assert reason.endswith("raise STORAGE_UNPACK_MAX_RATIO if the model is real")
    assert done.stderr.strip().splitlines()[-1] == f"storage-initializer: error: {reason}"
    assert names(tmp_path) == ["model.tar.gz", "termination-log"]  # no m/, no staging dir


async def test_a_raised_limit_lets_the_same_archive_through(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(tar({"model.joblib": bytes(4 << 20)}))
    env = {"STORAGE_UNPACK_RATIO_FLOOR": "1Mi", "STORAGE_UNPACK_MAX_RATIO": "10000"}
    done = await run(str(archive), str(tmp_path / "m"), env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m" / "model.joblib").stat().st_size == 4 << 20


@pytest.mark.parametrize("scheme", ["file", "http"])
async def test_a_link_chain_past_path_max_cannot_write_outside(
    scheme: str, http_server: FileServer, termination_log: Path, tmp_path: Path
) -> None:
    # CVE-2025-4517: Python's own tar filter (before its fix) lets this write ../outside/pwned
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = path_max_escape(outside="outside")
    if scheme == "file":
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "model.tar.gz").write_bytes(evil)
        uri = f"file://{tmp_path / 'src' / 'model.tar.gz'}"
    else:
        http_server.files["/files/model.tar.gz"] = evil
        uri = f"{http_server.url}/files/model.tar.gz"
    env = {"STORAGE_TERMINATION_LOG": str(termination_log)}
    done = await run(uri, str(tmp_path / "m"), env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    reason = read(termination_log)
    assert reason.startswith("refusing to unpack model.tar.gz: member 'a/b/c/"), reason
    assert reason.endswith("leads to a path too long to check")
    assert list(outside.iterdir()) == []
    left = {"outside", "termination-log"} | ({"src"} if scheme == "file" else set())
    assert set(names(tmp_path)) == left  # no m/, no staging dir
