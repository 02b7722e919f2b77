"""hf://owner/model[:revision] from the Hugging Face Hub (or the mirror HF_ENDPOINT names).

Through huggingface_hub, the Hub's own client: it follows the LFS and Xet redirects and resumes
partial files. The revision is resolved to one commit first and every file is fetched at that
commit, so a push during the download cannot mix two versions of a model. Only the files a model
needs are fetched (hf_repo.choose). The library's exceptions end here, mapped to ours.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile

from kserve_server.storage import hf_repo, retry, transfer, uris
from kserve_server.storage.errors import (
    AccessDeniedError,
    NotFoundError,
    StorageError,
    TransientError,
)
from kserve_server.storage.progress import Progress, human
from kserve_server.storage.settings import StorageSettings

LIBRARY = "kserve-py-storage-initializer"
BOOKKEEPING = Path(".cache") / "huggingface"  # hf_hub_download's metadata under local_dir
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class _Hub:
    repo: hf_repo.HfUri
    endpoint: str
    token: str | None

    @property
    def shown(self) -> str:
        return str(self.repo)

    @property
    def where(self) -> str:
        return uris.redact(self.endpoint)


async def download(uri: str, into: Path, *, settings: StorageSettings, progress: Progress) -> None:
    token = settings.hf_token.get_secret_value() if settings.hf_token else None
    hub = _Hub(hf_repo.parse(uri), settings.hf_endpoint.rstrip("/"), token or None)
    api = HfApi(endpoint=hub.endpoint, token=hub.token or False, library_name=LIBRARY)
    commit, sizes = await _attempt(lambda: _listing(api, hub), hub=hub, settings=settings)
    choice = hf_repo.choose(
        list(sizes),
        allow=hf_repo.patterns(settings.allow_patterns),
        ignore=hf_repo.patterns(settings.ignore_patterns),
    )
    if not choice.fetched:
        raise NotFoundError(f"{hub.shown}: no files to fetch at commit {commit} ({choice.why})")
    total = sum(sizes[p] for p in choice.fetched)
    log.info(
        "%s: revision %s is commit %s; fetching %d of %d files (%s), %s",
        hub.shown,
        hub.repo.revision,
        commit,
        len(choice.fetched),
        len(sizes),
        human(total),
        choice.why,
    )
    if choice.skipped:
        log.info("%s: skipped %s", hub.shown, ", ".join(choice.skipped))
    progress.expect(total)
    counter = _Counter(progress)
    limit = asyncio.Semaphore(settings.max_concurrency)

    async def one(path: str) -> None:
        async with limit:
            await _attempt(
                lambda: _file(hub, path, commit=commit, into=into, counter=counter),
                hub=hub,
                settings=settings,
                path=path,
            )

    # Threads cannot be cancelled: wait for all, then report the first failure.
    results = await asyncio.gather(*(one(p) for p in choice.fetched), return_exceptions=True)
    shutil.rmtree(into / BOOKKEEPING, ignore_errors=True)
    if (into / BOOKKEEPING.parent).is_dir() and not any((into / BOOKKEEPING.parent).iterdir()):
        (into / BOOKKEEPING.parent).rmdir()
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _listing(api: HfApi, hub: _Hub) -> tuple[str, dict[str, int]]:
    """The commit the revision names, and every file at that commit with its size."""
    info = api.model_info(hub.repo.repo_id, revision=hub.repo.revision)
    if not info.sha:
        raise StorageError(f"{hub.shown}: {hub.where} did not say which commit it serves")
    tree = api.list_repo_tree(hub.repo.repo_id, recursive=True, revision=info.sha)
    return info.sha, {f.path: int(f.size) for f in tree if isinstance(f, RepoFile)}


def _file(hub: _Hub, path: str, *, commit: str, into: Path, counter: _Counter) -> None:
    hf_hub_download(
        hub.repo.repo_id,
        path,
        revision=commit,
        local_dir=into,
        cache_dir=into / BOOKKEEPING / "hub",  # never $HOME: the init container may not own it
        endpoint=hub.endpoint,
        token=hub.token or False,
        library_name=LIBRARY,
        tqdm_class=counter.bar_for(path),
    )


async def _attempt(
    call: Callable[[], T], *, hub: _Hub, settings: StorageSettings, path: str | None = None
) -> T:
    """`call` in a thread, its failures as ours; transient ones retried."""

    async def once() -> T:
        try:
            return await asyncio.to_thread(call)
        except StorageError:
            raise
        except Exception as err:
            raise _mapped(err, hub=hub, path=path) from err

    return await retry.retrying(
        once,
        what=hub.shown if path is None else f"{hub.shown}/{path}",
        attempts=settings.retries,
        base_delay=settings.retry_base_delay,
    )


def _mapped(err: Exception, *, hub: _Hub, path: str | None) -> StorageError:
    repo, where = hub.repo.repo_id, hub.where
    if isinstance(err, RevisionNotFoundError):
        return NotFoundError(
            f"{hub.shown}: revision {hub.repo.revision!r} not found in {repo} at {where}"
        )
    if isinstance(err, GatedRepoError):
        return AccessDeniedError(
            f"{hub.shown}: {repo} is gated; accept its conditions on the Hub with the account "
            "whose HF_TOKEN the storage initializer gets"
        )
    if isinstance(err, RepositoryNotFoundError):
        if hub.token is None:
            return NotFoundError(
                f"{hub.shown}: repository {repo} not found at {where}, or it is private "
                "and no HF_TOKEN is set"
            )
        return AccessDeniedError(
            f"{hub.shown}: repository {repo} not found at {where}, or HF_TOKEN does not "
            "grant access to it"
        )
    if isinstance(err, RemoteEntryNotFoundError):
        return NotFoundError(f"{hub.shown}: {path} not found in {repo} at {where}")
    if isinstance(err, HfHubHTTPError):
        response = err.response
        status = response.status_code if response is not None else 0
        shown = hub.shown if path is None else f"{hub.shown}/{path}"
        try:
            transfer.check(status, shown=shown)
        except StorageError as mapped:
            return mapped
        return StorageError(f"{shown}: unexpected HTTP {status} from {where}")
    if isinstance(err, (httpx2.TransportError, OSError)):
        # connection refused or reset, timeouts, and the library's size check after a cut body
        return TransientError(f"{hub.shown}: {transfer.describe(err)}")
    return StorageError(f"{hub.shown}: {type(err).__name__}: {transfer.describe(err)}")


class _Counter:
    """Counts each file's bytes into Progress from huggingface_hub's progress-bar calls.

    A retried file starts a new bar at the bytes already on disk (`initial`): the count for that
    file is reset to it, so resumed bytes are not counted twice and discarded ones are taken back.
    """

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._per_file: dict[str, int] = {}
        self._lock = threading.Lock()

    def set(self, path: str, count: int) -> None:
        with self._lock:
            delta = count - self._per_file.get(path, 0)
            self._per_file[path] = count
        self._progress.add(delta)

    def add(self, path: str, count: int) -> None:
        with self._lock:
            self._per_file[path] = self._per_file.get(path, 0) + count
        self._progress.add(count)

    def bar_for(self, path: str) -> type[_Bar]:
        counter = self

        class Bar(_Bar):
            def __init__(self, *args: Any, initial: int = 0, **kwargs: Any) -> None:
                super().__init__(counter, path, initial=initial)

        return Bar


class _Bar:
    """The part of tqdm's interface huggingface_hub calls on a download's bar."""

    def __init__(self, counter: _Counter, path: str, *, initial: int) -> None:
        self._counter, self._path = counter, path
        counter.set(path, int(initial or 0))

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: float | None = 1) -> None:
        self._counter.add(self._path, int(n or 0))

    def __getattr__(self, name: str) -> Callable[..., None]:
        # close, refresh, set_postfix_str, update_transfer ...: nothing to show
        return lambda *args, **kwargs: None
