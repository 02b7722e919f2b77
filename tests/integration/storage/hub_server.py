"""A Hugging Face Hub on loopback: the file API huggingface_hub calls to download a model.

The endpoints and headers are those of huggingface_hub 2.x (hf_api.model_info, list_repo_tree,
file_download.get_hf_file_metadata / http_get): repo info at a revision, the recursive tree
listing paged by Link headers, and /resolve/ with X-Repo-Commit and ETag. Large files answer
the HEAD with a redirect and X-Linked-Size / X-Linked-Etag, as the Hub does for LFS files,
and are served from another origin (a second port) with Range support. Errors carry the
Hub's X-Error-Code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from aiohttp import web

LFS_FROM = 1024  # bytes: larger files are "LFS" files, served through a redirect


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubRepo:
    """Commits (sha -> files) and refs (branch or tag -> sha); `token` makes it private."""

    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    token: str | None = None

    def push(self, files: dict[str, bytes], *, ref: str = "main") -> str:
        """A commit holding `files`; `ref` moves to it. Returns the commit's sha."""
        digest = hashlib.sha1(b"commit %d" % len(self.commits))
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + files[name])
        sha = digest.hexdigest()
        self.commits[sha] = dict(files)
        self.refs[ref] = sha
        return sha

    def resolve(self, revision: str) -> str | None:
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


@dataclass
class HubServer:
    repos: dict[str, HubRepo] = field(default_factory=dict)
    page_size: int = 3  # small, so the tree listing is paged
    url: str = ""
    cdn_url: str = ""  # another origin, as the Hub's LFS files are served from a CDN
    # (method, path, Authorization header or "") of every request, in order
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)  # LFS store: sha256 -> bytes
    unavailable: dict[str, int] = field(default_factory=dict)  # file path -> 503s to answer first

    def repo(self, repo_id: str, *, token: str | None = None) -> HubRepo:
        self.repos[repo_id] = HubRepo(token=token)
        return self.repos[repo_id]

    def requested(self) -> list[str]:
        """Paths of the files asked for through /resolve/, without the repo and revision."""
        return sorted(
            {
                path.split("/resolve/", 1)[1].split("/", 1)[1]
                for _, path, _ in self.requests
                if "/resolve/" in path
            }
        )

    def _error(self, status: int, code: str, message: str) -> web.Response:
        return web.json_response(
            {"error": message},
            status=status,
            headers={"X-Error-Code": code, "X-Error-Message": message},
        )

    def _find(self, request: web.Request) -> HubRepo | web.Response:
        self.requests.append(
            (request.method, request.path, request.headers.get("Authorization", ""))
        )
        repo_id = f"{request.match_info['owner']}/{request.match_info['name']}"
        repo = self.repos.get(repo_id)
        token = None if repo is None else repo.token
        if token is not None and request.headers.get("Authorization") != f"Bearer {token}":
            return self._error(401, "RepoNotFound", "Invalid username or password.")
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        return repo

    async def info(self, request: web.Request) -> web.Response:
        repo = self._find(request)
        if isinstance(repo, web.Response):
            return repo
        sha = repo.resolve(request.match_info["revision"])
        if sha is None:
            return self._error(404, "RevisionNotFound", "Invalid rev id")
        repo_id = f"{request.match_info['owner']}/{request.match_info['name']}"
        return web.json_response(
            {
                "id": repo_id,
                "modelId": repo_id,
                "sha": sha,
                "private": repo.token is not None,
                "siblings": [{"rfilename": p} for p in sorted(repo.commits[sha])],
            }
        )

    async def tree(self, request: web.Request) -> web.Response:
        repo = self._find(request)
        if isinstance(repo, web.Response):
            return repo
        sha = repo.resolve(request.match_info["revision"])
        if sha is None:
            return self._error(404, "RevisionNotFound", "Invalid rev id")
        files = repo.commits[sha]
        folders = {p.rsplit("/", 1)[0] for p in files if "/" in p}
        entries: list[dict[str, object]] = [
            {"type": "directory", "oid": git_blob_id(d.encode()), "size": 0, "path": d}
            for d in sorted(folders)
        ]
        for path in sorted(files):
            data = files[path]
            entry: dict[str, object] = {
                "type": "file",
                "oid": git_blob_id(data),
                "size": len(data),
                "path": path,
            }
            if len(data) >= LFS_FROM:
                entry["lfs"] = {
                    "oid": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "pointerSize": 134,
                }
            entries.append(entry)
        start = int(request.query.get("cursor", "0"))
        page = entries[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(entries):
            nxt = request.url.update_query(cursor=str(start + self.page_size))
            headers["Link"] = f'<{nxt}>; rel="next"'
        return web.json_response(page, headers=headers)

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        repo = self._find(request)
        if isinstance(repo, web.Response):
            return repo
        sha = repo.resolve(request.match_info["revision"])
        if sha is None:
            return self._error(404, "RevisionNotFound", "Invalid rev id")
        path = request.match_info["path"]
        if self.unavailable.get(path, 0) > 0:
            self.unavailable[path] -= 1
            return web.Response(status=503, text="upstream connect error")
        data = repo.commits[sha].get(path)
        if data is None:
            return self._error(404, "EntryNotFound", "Entry not found")
        if len(data) >= LFS_FROM:
            oid = hashlib.sha256(data).hexdigest()
            self.blobs[oid] = data
            return web.Response(
                status=302,
                headers={
                    "Location": f"{self.cdn_url}/lfs-cdn/{oid}",
                    "X-Repo-Commit": sha,
                    "X-Linked-Etag": f'"{oid}"',
                    "X-Linked-Size": str(len(data)),
                    "ETag": f'"{git_blob_id(data)}"',
                },
            )
        return web.Response(
            body=data,
            headers={"X-Repo-Commit": sha, "ETag": f'"{git_blob_id(data)}"'},
        )

    async def lfs(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path, ""))
        data = self.blobs.get(request.match_info["oid"])
        if data is None:
            raise web.HTTPNotFound()
        start = 0
        asked = request.headers.get("Range", "")
        if asked.startswith("bytes=") and asked.endswith("-"):
            start = int(asked[len("bytes=") : -1])
        if start:
            return web.Response(
                status=206,
                body=data[start:],
                headers={"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"},
            )
        return web.Response(body=data)

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.get("/api/models/{owner}/{name}/revision/{revision}", self.info),
                web.get("/api/models/{owner}/{name}/tree/{revision}", self.tree),
                web.get("/lfs-cdn/{oid}", self.lfs),
                web.get("/{owner}/{name}/resolve/{revision}/{path:.+}", self.resolve),
            ]
        )
        return app
