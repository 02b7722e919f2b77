"""TorchServe's layout, as upstream's kserve-torchserve reads it from the storage URI:
`config/config.properties` + `model-store/<model>.mar`.

The properties' `model_snapshot` (or `load_models`, else every archive) names the models; each
`.mar` is a zip with `MAR-INF/MANIFEST.json`, unpacked with the storage initializer's checks (no
member outside the destination, size limits). An archive is served when its serialized file is
TorchScript or a torch.export program and TorchServe would run it through its base handler; a
custom `handler.py`, a built-in handler's own pre- and post-processing or an eager model's
`modelFile` are Python this runtime does not run: the model fails to load, naming it.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kserve_server.errors import ModelLoadError
from kserve_server.settings import ModelSpec
from kserve_server.storage import archive
from kserve_server.storage.errors import StorageError
from kserve_server.storage.limits import Limits

log = logging.getLogger(__name__)

MODEL_STORE = "model-store"
PROPERTIES = "config/config.properties"
MANIFEST = "MAR-INF/MANIFEST.json"
SUFFIX = ".mar"
# handlers whose inference is forward() on the request's tensors, as this runtime's
BASE_HANDLERS = ("", "base_handler", "ts.torch_handler.base_handler")


def is_layout(model_dir: Path) -> bool:
    return (model_dir / MODEL_STORE).is_dir()


def is_archive(path: Path) -> bool:
    """A `.mar` file, or an archive made with `--archive-format no-archive` (a directory)."""
    return (path.is_file() and path.suffix == SUFFIX) or (path / MANIFEST).is_file()


def read_properties(path: Path) -> dict[str, str]:
    """Java properties: `key=value` or `key: value`, `#`/`!` comments, `\\` continues a line."""
    props: dict[str, str] = {}
    pending = ""
    for raw in path.read_text(errors="replace").splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        if not line or line[0] in "#!":
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        key, value = (line[:cut], line[cut + 1 :]) if cut >= 0 else (line, "")
        props[key.strip()] = value.strip()
    return props


def archives(model_dir: Path) -> dict[str, Path]:
    """Model name → its archive in the store, as TorchServe registers them at start."""
    store = model_dir / MODEL_STORE
    path = model_dir / PROPERTIES
    props = read_properties(path) if path.is_file() else {}
    snapshot = props.get("model_snapshot")
    if snapshot:
        return _from_snapshot(snapshot, store)
    wanted = props.get("load_models", "all").strip()
    if wanted in ("", "all", "ALL"):
        found = {p.stem if p.is_file() else p.name: p for p in sorted(store.iterdir())}
        named = {name: p for name, p in found.items() if is_archive(p)}
    else:
        named = {}
        for entry in (e.strip() for e in wanted.split(",") if e.strip()):
            name, _, file = entry.rpartition("=")
            named[name or Path(file).stem] = _in_store(store, file)
    if not named:
        listing = sorted(p.name for p in store.iterdir())[:10]
        raise ModelLoadError(f"no model archive (*{SUFFIX}) in {store}; it contains {listing}")
    return named


def _from_snapshot(snapshot: str, store: Path) -> dict[str, Path]:
    try:
        models = json.loads(snapshot)["models"]
        named = {}
        for name, versions in models.items():
            chosen = [v for v in versions.values() if v.get("defaultVersion")] or list(
                versions.values()
            )
            named[name] = _in_store(store, str(chosen[-1]["marName"]))
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ModelLoadError(
            f"{PROPERTIES}: model_snapshot is not TorchServe's JSON "
            f'({{"models": {{name: {{version: {{"marName": ...}}}}}}}}): {exc}'
        ) from None
    return named


def _in_store(store: Path, file: str) -> Path:
    path = store / file
    if "/" in file or "\\" in file or file in ("", ".", ".."):
        raise ModelLoadError(f"{PROPERTIES}: {file!r} is not a file name in {MODEL_STORE}/")
    if not path.exists():
        raise ModelLoadError(f"{PROPERTIES} names {file}, which is not in {store}")
    return path


def specs(spec: ModelSpec) -> list[ModelSpec]:
    """The store's models, each with its archive as model_dir; a name a URL cannot hold fails."""
    found = []
    for name, path in archives(spec.model_dir).items():
        try:
            found.append(
                ModelSpec.model_validate({**spec.model_dump(), "name": name, "model_dir": path})
            )
        except ValueError:
            raise ModelLoadError(f"{name!r} (in {PROPERTIES}) is not a valid model name") from None
    log.info("TorchServe model store %s: serving %s", spec.model_dir, [s.name for s in found])
    return found


def unpack(path: Path) -> Path | None:
    """A `.mar` unpacked into a new temporary directory (the caller removes it); None for an
    archive that is a directory already."""
    if path.is_dir():
        return None
    into = Path(tempfile.mkdtemp(prefix=f"mar-{path.stem}-"))
    try:
        archive.unzip(path, into, limits=Limits())
    except StorageError as err:
        shutil.rmtree(into, ignore_errors=True)
        raise ModelLoadError(str(err)) from None
    return into


def served_file(root: Path, source: Path) -> Path:
    """The archive's serialized model file, once its manifest says nothing needs Python code."""
    manifest_path = root / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        model = manifest["model"]
        serialized = str(model.get("serializedFile") or "")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelLoadError(f"{source.name}: no readable {MANIFEST} ({exc})") from None
    handler = str(model.get("handler") or "")
    if handler not in BASE_HANDLERS:
        custom = handler.endswith(".py") or ":" in handler or (root / handler).exists()
        what = (
            f"the custom handler {handler!r}"
            if custom
            else f"TorchServe's built-in handler {handler!r} (its pre- and post-processing)"
        )
        raise ModelLoadError(
            f"{source.name}: {what} is Python this runtime does not run; it serves TorchScript "
            "and torch.export models on tensors (V1 instances, V2 inputs): archive the model "
            "with --handler base_handler, or serve it from a custom predictor image"
        )
    if model.get("modelFile"):
        raise ModelLoadError(
            f"{source.name}: an eager model (modelFile {model['modelFile']!r}) needs its Python "
            "class; archive a TorchScript (torch.jit.script) or torch.export (.pt2) file instead"
        )
    path = root / serialized
    if not serialized or "/" in serialized or "\\" in serialized or not path.is_file():
        raise ModelLoadError(
            f"{source.name}: serializedFile {serialized!r} is not a file at the archive's top"
        )
    return path
