"""`kserve-local serve` refuses what it cannot serve with one line and exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kserve_local", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_yaml_error_is_one_line_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "isvc.yaml"
    path.write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m}\n"
        "spec:\n  predictor:\n    model:\n      storageUri: gs://b/m\n"
    )
    done = run("serve", str(path), "--port", "0")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"kserve-local: error: {path}: spec.predictor.model.modelFormat: Field required"
    )


def test_an_unmapped_pvc_says_how_to_map_it(tmp_path: Path) -> None:
    path = tmp_path / "isvc.yaml"
    path.write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m}\n"
        "spec:\n  predictor:\n    model:\n      modelFormat: {name: sklearn}\n"
        "      storageUri: pvc://claim/models/m\n"
    )
    done = run("serve", str(path), "--port", "0", "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "--storage-map pvc://claim/models/m=/path/on/this/machine" in done.stderr


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    done = run("serve", str(tmp_path / "x.yaml"))
    assert done.returncode == 2
    assert done.stderr.strip().endswith("x.yaml: cannot read: No such file or directory")


def test_a_bad_storage_map_is_named() -> None:
    tutorial = Path(__file__).resolve().parents[3] / "examples" / "inference-service.yml"
    done = run("serve", str(tutorial), "--storage-map", "gs://only-a-source")
    assert done.returncode == 2
    assert done.stderr.strip().endswith("'gs://only-a-source': expected FROM=TO")


def test_a_transformer_gets_one_warning_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "isvc.yaml"
    path.write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m}\n"
        "spec:\n  predictor:\n    model:\n      modelFormat: {name: sklearn}\n"
        "      storageUri: pvc://claim/models/m\n"
        "  transformer:\n    containers:\n      - {name: kserve-container, image: t:1}\n"
    )
    # The unmapped pvc stops it right after the manifests are read: no server starts.
    done = run("serve", str(path), "--port", "0", "--cache-dir", str(tmp_path / "cache"))
    warnings = [line for line in done.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, done.stderr
    assert "spec.transformer is not run locally, only the predictor is served" in warnings[0]
