"""Read InferenceService YAML as `kubectl apply -f` takes it; every error names file and field.

Validation is the controller's own: its pydantic CRD models (what the apiserver's schema would
refuse) and `spec.parse` (what the controller would refuse), so a file that serves here applies
there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

from kserve_controller import spec
from kserve_controller.api.inferenceservice import InferenceService
from kserve_controller.errors import InvalidSpec

API_VERSION = "serving.kserve.io/v1beta1"


class ManifestError(Exception):
    """A file that cannot be served as written; the message names the file and the field."""


@dataclass(frozen=True)
class Served:
    """One InferenceService to serve locally."""

    name: str
    namespace: str
    model: spec.Model
    source: str  # "file.yaml" or "file.yaml#2" for the second document
    # Components beside the predictor that the file has and no local server runs.
    not_run: tuple[str, ...] = ()

    def warning(self) -> str | None:
        """One line saying which components are not run, and what that means for requests."""
        if not self.not_run:
            return None
        parts = " and ".join(f"spec.{part}" for part in self.not_run)
        verb = "is" if len(self.not_run) == 1 else "are"
        effects = []
        if "transformer" in self.not_run:
            effects.append("requests go straight to the predictor, without pre/post-processing")
        if "explainer" in self.not_run:
            effects.append(":explain is not served")
        return (
            f"{self.source}: InferenceService {self.name!r}: {parts} {verb} not run locally, "
            f"only the predictor is served: {'; '.join(effects)}"
        )


def load(paths: list[Path]) -> list[Served]:
    found: list[Served] = []
    for path in paths:
        found += _load_file(path)
    seen: dict[str, str] = {}
    for item in found:
        if item.name in seen:  # /v1/models/<name> has no namespace: names must be unique
            raise ManifestError(
                f"{item.source}: InferenceService {item.name!r} is also defined in "
                f"{seen[item.name]}; one local server serves each name once"
            )
        seen[item.name] = item.source
    if not found:
        raise ManifestError(f"no InferenceService in {', '.join(map(str, paths))}")
    return found


def _load_file(path: Path) -> list[Served]:
    try:
        text = path.read_text()
    except OSError as err:
        raise ManifestError(f"{path}: cannot read: {err.strerror}") from err
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ManifestError(f"{where}: invalid YAML: {err.problem}") from err
    except yaml.YAMLError as err:
        raise ManifestError(f"{path}: invalid YAML: {err}") from err
    served = []
    for index, document in enumerate(documents, start=1):
        source = str(path) if len(documents) == 1 else f"{path}#{index}"
        item = _served(document, source=source)
        if item is not None:
            served.append(item)
    return served


def _served(document: Any, *, source: str) -> Served | None:
    if not isinstance(document, dict):
        raise ManifestError(f"{source}: a Kubernetes object (a YAML mapping) is expected")
    if document.get("kind") != "InferenceService":
        return None  # kubectl would apply a Namespace or Secret too; locally they mean nothing
    if document.get("apiVersion") != API_VERSION:
        raise ManifestError(
            f"{source}: apiVersion: {document.get('apiVersion')!r} is not served; use {API_VERSION}"
        )
    try:
        InferenceService.model_validate(document)
    except pydantic.ValidationError as err:
        raise ManifestError(f"{source}: {_describe(err)}") from err
    try:
        isvc = spec.parse(document)
    except InvalidSpec as err:
        raise ManifestError(f"{source}: {err.message}") from err
    if isvc.model is None:
        raise ManifestError(
            f"{source}: spec.predictor.containers (a custom container) cannot be served "
            "locally; use spec.predictor.model with a modelFormat and storageUri"
        )
    if not isvc.model.storage_uri:
        raise ManifestError(f"{source}: spec.predictor.model.storageUri: required to serve locally")
    return Served(
        name=isvc.name,
        namespace=isvc.namespace or "default",
        model=isvc.model,
        source=source,
        not_run=tuple(p for p in spec.EXTRA_COMPONENTS if p in isvc.extras),
    )


def _describe(err: pydantic.ValidationError) -> str:
    lines = []
    for item in err.errors():
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
        lines.append(f"{path or '(document)'}: {item['msg']}")
    return "; ".join(lines)
