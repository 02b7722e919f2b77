"""gs:// against a real GCS emulator (gcp-storage-emulator) on loopback."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from storage_archives import zip_
from storage_servers import GcsEmulator, GoogleAuthGate

from kserve_server.storage import fetch
from kserve_server.storage.errors import AccessDeniedError, NotFoundError, StorageError
from kserve_server.storage.settings import StorageSettings

MODEL = b"joblib-bytes" * 5000


@pytest.fixture
async def bucket(gcs_emulator: GcsEmulator) -> str:
    name = f"models-{uuid.uuid4().hex[:8]}"
    await gcs_emulator.bucket(name)
    return name


@pytest.fixture
def emulated(settings: StorageSettings, gcs_emulator: GcsEmulator) -> StorageSettings:
    settings.storage_emulator_host = gcs_emulator.host
    return settings


async def test_a_prefix_downloads_every_object_keeping_sub_dirs(
    gcs_emulator: GcsEmulator, bucket: str, emulated: StorageSettings, tmp_path: Path
) -> None:
    await gcs_emulator.put(bucket, "models/sklearn/1.0/model/model.joblib", MODEL)
    await gcs_emulator.put(bucket, "models/sklearn/1.0/model/sub/vocab.txt", b"a\nb")
    await gcs_emulator.put(bucket, "models/sklearn/1.0/model-other/x.bin", b"not me")
    dest = tmp_path / "mnt-models"
    await fetch(f"gs://{bucket}/models/sklearn/1.0/model", dest, settings=emulated)
    assert (dest / "model.joblib").read_bytes() == MODEL
    assert (dest / "sub" / "vocab.txt").read_bytes() == b"a\nb"
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == [
        "model.joblib",
        "sub/vocab.txt",
    ]


async def test_a_single_object_is_saved_under_its_base_name(
    gcs_emulator: GcsEmulator, bucket: str, emulated: StorageSettings, tmp_path: Path
) -> None:
    await gcs_emulator.put(bucket, "releases/v1/intent_model.pkl", MODEL)
    await fetch(f"gs://{bucket}/releases/v1/intent_model.pkl", tmp_path / "m", settings=emulated)
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["intent_model.pkl"]


async def test_a_lone_zip_is_unpacked(
    gcs_emulator: GcsEmulator, bucket: str, emulated: StorageSettings, tmp_path: Path
) -> None:
    await gcs_emulator.put(bucket, "zipped/model.zip", zip_({"model.joblib": MODEL}))
    await fetch(f"gs://{bucket}/zipped", tmp_path / "m", settings=emulated)
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["model.joblib"]


async def test_a_missing_prefix_fails_naming_the_uri(
    bucket: str, emulated: StorageSettings, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match=rf"gs://{bucket}/nothing/here"):
        await fetch(f"gs://{bucket}/nothing/here", tmp_path / "m", settings=emulated)
    assert not (tmp_path / "m").exists()


async def test_a_missing_bucket_fails(emulated: StorageSettings, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no-such-bucket"):
        await fetch("gs://no-such-bucket/model", tmp_path / "m", settings=emulated)


async def test_into_an_existing_mount_point_with_a_stale_partial_download(
    gcs_emulator: GcsEmulator, bucket: str, emulated: StorageSettings, tmp_path: Path
) -> None:
    """/mnt/models is an emptyDir: it exists; a killed earlier attempt left a staging dir."""
    await gcs_emulator.put(bucket, "m/model.joblib", MODEL)
    dest = tmp_path / "mnt"
    (dest / ".kserve-download-old").mkdir(parents=True)
    (dest / ".kserve-download-old" / "half.joblib").write_bytes(b"half")
    await fetch(f"gs://{bucket}/m", dest, settings=emulated)
    assert [p.name for p in dest.iterdir()] == ["model.joblib"]


@pytest.fixture
def gated(settings: StorageSettings, google_gate: GoogleAuthGate) -> StorageSettings:
    settings.storage_emulator_host = google_gate.url  # the gate forwards only with the token
    return settings


async def test_a_service_account_key_is_exchanged_for_a_bearer_token(
    gcs_emulator: GcsEmulator,
    google_gate: GoogleAuthGate,
    key_file: Path,
    bucket: str,
    gated: StorageSettings,
) -> None:
    settings, tmp_path = gated, key_file.parent
    await gcs_emulator.put(bucket, "private/model.joblib", MODEL)
    settings.google_application_credentials = key_file
    await fetch(f"gs://{bucket}/private", tmp_path / "m", settings=settings)
    assert (tmp_path / "m" / "model.joblib").read_bytes() == MODEL
    [claims] = google_gate.assertions
    assert claims["iss"] == "loader@test-project.iam.gserviceaccount.com"
    assert claims["scope"].endswith("devstorage.read_only")


async def test_without_the_key_the_gated_bucket_is_denied_at_once(
    gcs_emulator: GcsEmulator,
    google_gate: GoogleAuthGate,
    bucket: str,
    settings: StorageSettings,
    tmp_path: Path,
) -> None:
    await gcs_emulator.put(bucket, "private/model.joblib", MODEL)
    settings.storage_emulator_host = google_gate.url
    with pytest.raises(AccessDeniedError, match="401"):
        await fetch(f"gs://{bucket}/private", tmp_path / "m", settings=settings)


async def test_refused_anonymous_access_falls_back_to_the_metadata_server(
    gcs_emulator: GcsEmulator, google_gate: GoogleAuthGate, bucket: str, gated: StorageSettings
) -> None:
    """GKE workload identity: no key file, anonymous refused, the metadata server's token used."""
    await gcs_emulator.put(bucket, "private/model.joblib", MODEL)
    gated.gce_metadata_host = google_gate.url.removeprefix("http://")
    dest = gated.termination_log.parent / "m"
    await fetch(f"gs://{bucket}/private", dest, settings=gated)
    assert (dest / "model.joblib").read_bytes() == MODEL
    assert google_gate.metadata_calls == 1


async def test_a_public_bucket_never_asks_the_metadata_server(
    gcs_emulator: GcsEmulator, google_gate: GoogleAuthGate, bucket: str, emulated: StorageSettings
) -> None:
    await gcs_emulator.put(bucket, "public/model.joblib", MODEL)
    emulated.gce_metadata_host = google_gate.url.removeprefix("http://")
    await fetch(f"gs://{bucket}/public", emulated.termination_log.parent / "m", settings=emulated)
    assert google_gate.metadata_calls == 0


async def test_a_key_the_token_endpoint_rejects_fails_naming_the_account(
    google_gate: GoogleAuthGate, key_file: Path, settings: StorageSettings, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    google_gate.public_key = rsa.generate_private_key(65537, 2048).public_key()  # key rotated
    settings.storage_emulator_host = google_gate.url
    settings.google_application_credentials = key_file
    with pytest.raises(AccessDeniedError) as caught:
        await fetch("gs://any/model", tmp_path / "m", settings=settings)
    assert "loader@test-project.iam.gserviceaccount.com" in str(caught.value)
    assert "PRIVATE KEY" not in str(caught.value)


async def test_a_missing_key_file_is_named(settings: StorageSettings, tmp_path: Path) -> None:
    settings.google_application_credentials = tmp_path / "nope.json"
    with pytest.raises(StorageError, match=r"nope\.json does not exist"):
        await fetch("gs://any/model", tmp_path / "m", settings=settings)
