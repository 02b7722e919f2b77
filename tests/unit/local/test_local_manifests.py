"""InferenceService YAML read as kubectl apply takes it; errors name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kserve_local import manifests, runtimes

REPO = Path(__file__).resolve().parents[3]
TUTORIAL = [
    REPO / "examples" / "inference-service.yml",
    REPO / "examples" / "intent-classifier-kserve.yml",
]


def write(tmp_path: Path, text: str, name: str = "isvc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


ISVC = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {name}
spec:
  predictor:
    model:
      modelFormat:
        name: {fmt}
      storageUri: gs://bucket/{name}
"""


def test_the_tutorial_files_parse_and_pick_sklearn() -> None:
    served = manifests.load(TUTORIAL)
    assert [(s.name, s.namespace, s.model.storage_uri) for s in served] == [
        ("sklearn-iris", "ml", "gs://kfserving-examples/models/sklearn/1.0/model"),
        (
            "intent-classifier",
            "intent",
            "https://github.com/tagore8661/intent-classifier-mlops/releases/download/v1.0/intent_model.pkl",
        ),
    ]
    assert [runtimes.framework(s.model) for s in served] == ["sklearn", "sklearn"]


@pytest.mark.parametrize(
    ("fmt", "framework"),
    [
        ("xgboost", "xgboost"),
        ("lightgbm", "lightgbm"),
        ("tensorflow", "tensorflow"),
        ("onnx", "onnx"),
    ],
)
def test_model_format_picks_the_runtime(fmt: str, framework: str, tmp_path: Path) -> None:
    [served] = manifests.load([write(tmp_path, ISVC.format(name="m", fmt=fmt))])
    assert runtimes.framework(served.model) == framework


def test_a_format_no_runtime_serves_is_named(tmp_path: Path) -> None:
    [served] = manifests.load([write(tmp_path, ISVC.format(name="m", fmt="pmml"))])
    with pytest.raises(Exception, match="no runtime found to support model format pmml"):
        runtimes.framework(served.model)


def test_a_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: [InferenceService\nmetadata: {}\n")
    with pytest.raises(manifests.ManifestError, match=rf"^{path}:3:9: invalid YAML"):
        manifests.load([path])


def test_a_misspelt_field_is_named_by_its_path(tmp_path: Path) -> None:
    text = ISVC.format(name="m", fmt="sklearn").replace("storageUri", "storageURI")
    path = write(tmp_path, text)
    with pytest.raises(manifests.ManifestError) as caught:
        manifests.load([path])
    assert str(caught.value).startswith(f"{path}: spec.predictor.model")
    assert "storageURI" in str(caught.value)


def test_a_missing_format_name_is_named_by_its_path(tmp_path: Path) -> None:
    text = ISVC.format(name="m", fmt="sklearn").replace("name: sklearn", "version: '1'")
    with pytest.raises(
        manifests.ManifestError, match=r"spec\.predictor\.model\.modelFormat\.name: Field required"
    ):
        manifests.load([write(tmp_path, text)])


def test_an_invalid_name_is_refused_as_the_apiserver_would(tmp_path: Path) -> None:
    with pytest.raises(manifests.ManifestError, match=r"isvc\.yaml"):
        manifests.load([write(tmp_path, ISVC.format(name="Bad_Name", fmt="sklearn"))])


def test_other_kinds_are_skipped_and_documents_are_numbered(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ml}\n---\n"
        + ISVC.format(name="m", fmt="sklearn")
        + "---\n"
        + ISVC.format(name="n", fmt="sklearn").replace("modelFormat:", "modelFormt:")
    )
    path = write(tmp_path, text)
    with pytest.raises(manifests.ManifestError, match=rf"^{path}#3: spec\.predictor\.model"):
        manifests.load([path])


def test_the_same_name_twice_is_refused(tmp_path: Path) -> None:
    a = write(tmp_path, ISVC.format(name="m", fmt="sklearn"), "a.yaml")
    b = write(tmp_path, ISVC.format(name="m", fmt="xgboost"), "b.yaml")
    with pytest.raises(manifests.ManifestError, match=r"'m' is also defined in .*a\.yaml"):
        manifests.load([a, b])


def test_an_old_api_version_is_named(tmp_path: Path) -> None:
    text = ISVC.format(name="m", fmt="sklearn").replace("v1beta1", "v1alpha2")
    with pytest.raises(
        manifests.ManifestError, match=r"apiVersion: 'serving\.kserve\.io/v1alpha2'"
    ):
        manifests.load([write(tmp_path, text)])


def test_a_missing_file_and_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(manifests.ManifestError, match=r"nope\.yaml: cannot read"):
        manifests.load([tmp_path / "nope.yaml"])
    with pytest.raises(manifests.ManifestError, match="no InferenceService"):
        manifests.load([write(tmp_path, "")])


def test_a_custom_container_cannot_be_served_locally(tmp_path: Path) -> None:
    text = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: custom}
spec:
  predictor:
    containers:
      - name: kserve-container
        image: example/custom:1
"""
    with pytest.raises(manifests.ManifestError, match="custom container"):
        manifests.load([write(tmp_path, text)])


TRANSFORMER = """\
  transformer:
    containers:
      - name: kserve-container
        image: example.test/transformer:1.0
"""
EXPLAINER = """\
  explainer:
    containers:
      - name: kserve-container
        image: example.test/explainer:1.0
"""


def test_a_transformer_is_named_as_not_run(tmp_path: Path) -> None:
    path = write(tmp_path, ISVC.format(name="m", fmt="sklearn") + TRANSFORMER)
    (served,) = manifests.load([path])
    assert served.not_run == ("transformer",)
    assert served.warning() == (
        f"{path}: InferenceService 'm': spec.transformer is not run locally, only the "
        "predictor is served: requests go straight to the predictor, without "
        "pre/post-processing"
    )


def test_transformer_and_explainer_are_both_named(tmp_path: Path) -> None:
    path = write(tmp_path, ISVC.format(name="m", fmt="sklearn") + TRANSFORMER + EXPLAINER)
    (served,) = manifests.load([path])
    warning = served.warning()
    assert warning is not None
    assert "spec.transformer and spec.explainer are not run locally" in warning
    assert warning.endswith(":explain is not served")


def test_a_predictor_alone_warns_nothing(tmp_path: Path) -> None:
    (served,) = manifests.load([write(tmp_path, ISVC.format(name="m", fmt="sklearn"))])
    assert served.not_run == () and served.warning() is None
