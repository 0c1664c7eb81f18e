"""An in-memory fake of the Hugging Face Hub HTTP API, served on loopback for end-to-end tests.

The fake speaks just enough of the Hub's HTTP protocol for the *real* ``huggingface_hub`` client to create
model repos, upload folders (``create_commit`` / ``upload_folder``) and download them again
(``snapshot_download`` / ``hf_hub_download``), so tests exercise the client's genuine code paths and only the
network boundary is faked. Nothing is monkeypatched and nothing ever contacts huggingface.co.

Typical use, with the client running in a subprocess (``huggingface_hub`` reads ``HF_ENDPOINT`` and friends
once, at import time)::

    with FakeHub() as hub:
        hub.add_folder("acme/seeded", some_local_folder)  # optional pre-seeding
        env = hub.client_env(hf_home=tmp_path / "hf_home")
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        assert hub.files("acme/uploaded")["config.json"] == b"{}"
        assert "POST /api/models/acme/uploaded/commit/main" in hub.request_lines()

In-process use also works, as long as every client call is pointed at the fake explicitly:
``HfApi(endpoint=hub.endpoint)``, ``snapshot_download(..., endpoint=hub.endpoint)``,
``hf_hub_download(..., endpoint=hub.endpoint)``. Monkeypatching ``huggingface_hub.constants.ENDPOINT`` after
import is *not* enough: the module-level helpers (``huggingface_hub.create_repo``, ``upload_folder``...) are
bound methods of an ``HfApi`` instance whose endpoint was frozen at import time, and ``hf_hub_url`` uses
``constants.HUGGINGFACE_CO_URL_TEMPLATE``, also computed at import time.

Supported endpoints (model repos only, single branch ``main``; a commit hash is accepted as a revision for
reads)::

    GET  /api/whoami-v2
    GET  /api/agent-harnesses                    (queried by the client when telemetry is not disabled)
    *    /api/telemetry/...                      (accepted and ignored)
    POST /api/validate-yaml                      (always valid; called when a README.md is uploaded)
    POST /api/repos/create, DELETE /api/repos/delete
    GET  /api/models/{repo_id}[/revision/{revision}]
    GET  /api/models/{repo_id}/tree/{revision}[/{path}]   (``recursive`` query parameter)
    POST /api/models/{repo_id}/paths-info/{revision}
    POST /api/models/{repo_id}/preupload/{revision}       (always answers ``uploadMode: "regular"``)
    POST /api/models/{repo_id}/commit/{revision}          (NDJSON; inline base64 files, deletions)
    HEAD/GET /{repo_id}/resolve/{revision}/{path}         (ETag, X-Repo-Commit, Content-Length, Range)

Because the preupload answer is always "regular" and download responses never carry Xet headers, neither the
LFS nor the Xet transfer paths can be triggered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, final
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_BRANCH = "main"
DEFAULT_USERNAME = "fake-user"
DEFAULT_TOKEN = "hf_fake_token_for_tests"

_COMMIT_HASH_RE = re.compile(r"^[0-9a-f]{40}$")
_commit_counter = itertools.count(1)


def git_blob_oid(content: bytes) -> str:
    """Return the git blob SHA-1 of ``content`` (what ``git hash-object`` prints, and the Hub's file oid)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _now_iso() -> str:
    """Current UTC time in the Hub's timestamp format (``2024-01-31T12:34:56.789Z``)."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


# -------------------- Storage model --------------------


@dataclass(frozen=True)
class Commit:
    """One commit of a fake repo: its oid, message and the *full* (read-only) file snapshot after it."""

    oid: str
    message: str
    files: Mapping[str, bytes]
    created_at: str


@dataclass
class FakeRepo:
    """A model repo with a linear history on a single branch (``main``)."""

    repo_id: str
    private: bool
    created_at: str
    commits: list[Commit] = field(default_factory=list)

    @property
    def head(self) -> Commit:
        """The latest commit of ``main``."""
        return self.commits[-1]

    def resolve(self, revision: str) -> Commit | None:
        """Return the commit that ``revision`` (``main`` or a full commit hash) points to, if any."""
        if revision == DEFAULT_BRANCH:
            return self.head
        if _COMMIT_HASH_RE.match(revision):
            return next((c for c in self.commits if c.oid == revision), None)
        return None

    def add_commit(self, message: str, files: Mapping[str, bytes]) -> Commit:
        """Append a commit whose snapshot is ``files`` and return it."""
        parent = self.commits[-1].oid if self.commits else ""
        hasher = hashlib.sha1()
        hasher.update(f"{self.repo_id}\n{parent}\n{message}\n{next(_commit_counter)}\n".encode())
        for path in sorted(files):
            hasher.update(f"{path}\0{git_blob_oid(files[path])}\n".encode())
        commit = Commit(
            oid=hasher.hexdigest(),
            message=message,
            files=MappingProxyType(dict(files)),
            created_at=_now_iso(),
        )
        self.commits.append(commit)
        return commit


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request received by the fake, as seen at the wire (path is URL-decoded, query kept raw)."""

    method: str
    path: str
    query: str
    status: int
    authorization: str | None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class HubError(Exception):
    """An error answered to the client, shaped like the Hub's (JSON body + ``X-Error-*`` headers)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.headers = headers or {}


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> _Response:
        return cls(
            status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
        )


@dataclass
class _Request:
    method: str
    segments: list[str]  # URL path split on "/" *before* decoding, then each segment decoded
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as err:
            raise HubError(400, f"Invalid JSON body: {err}") from err

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


_Handler = Callable[[_Request, list[str]], _Response]


# -------------------- The fake Hub --------------------


@final
class FakeHub:
    """An in-memory Hugging Face Hub served over HTTP on ``127.0.0.1`` (free port, daemon thread).

    Args:
        username: Name returned by ``whoami`` and namespace used when ``create_repo`` gets no organization.
        required_token: If set, every Hub API/file request must carry
            ``Authorization: Bearer <required_token>`` (a 401 is answered otherwise). ``None`` (default)
            accepts anonymous and any-token requests.
        host: Interface to bind; keep the loopback default.
    """

    def __init__(
        self, *, username: str = DEFAULT_USERNAME, required_token: str | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.username = username
        self.required_token = required_token
        self._host = host
        self._lock = threading.RLock()
        self._repos: dict[str, FakeRepo] = {}
        self._requests: list[RecordedRequest] = []
        self._server: _HubServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeHub:
        """Bind a free port and serve requests from a daemon thread. Idempotent."""
        if self._server is None:
            self._server = _HubServer((self._host, 0), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-hub",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port. Idempotent."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """Base URL to use as ``HF_ENDPOINT`` (``http://127.0.0.1:<port>``, no trailing slash)."""
        if self._server is None:
            raise RuntimeError("FakeHub is not running: use it as a context manager or call start().")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client_env(
        self,
        hf_home: str | os.PathLike[str],
        *,
        token: str | None = DEFAULT_TOKEN,
        base: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Environment for a client subprocess that must talk to this fake (and only to it).

        Starts from ``base`` (default: ``os.environ``), drops every pre-existing ``HF_*``,
        ``HUGGINGFACE_*`` and ``HUGGING_FACE_*`` variable (cache locations, staging mode, OIDC, tokens...),
        bypasses proxies for loopback, then sets ``HF_ENDPOINT``, ``HF_HOME``, ``HF_TOKEN`` and switches off
        offline mode, telemetry (which would otherwise also query ``/api/agent-harnesses``), Xet and progress
        bars.
        """
        source = os.environ if base is None else base
        dropped_prefixes = ("HF_", "HUGGINGFACE_", "HUGGING_FACE_")
        dropped_names = {"TRANSFORMERS_OFFLINE", "DIFFUSERS_OFFLINE", "DISABLE_TELEMETRY", "DO_NOT_TRACK"}
        env = {
            k: v for k, v in source.items() if not k.startswith(dropped_prefixes) and k not in dropped_names
        }
        env.update(
            {
                "HF_ENDPOINT": self.endpoint,
                "HF_HOME": str(hf_home),
                "HF_HUB_OFFLINE": "0",
                "HF_HUB_DISABLE_TELEMETRY": "1",
                "HF_HUB_DISABLE_XET": "1",
                "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                "HF_HUB_DISABLE_SYMLINKS_WARNING": "1",
                "HF_HUB_DISABLE_IMPLICIT_TOKEN": "0",
                "HF_HUB_DISABLE_UPDATE_CHECK": "1",
            }
        )
        if token is not None:
            env["HF_TOKEN"] = token
        no_proxy = ",".join(filter(None, [env.get("NO_PROXY", ""), "127.0.0.1", "localhost"]))
        env["NO_PROXY"] = env["no_proxy"] = no_proxy
        return env

    # -- seeding and inspection --------------------------------------------------------------------

    def create_repo(self, repo_id: str, *, private: bool = False) -> None:
        """Create an empty model repo (one initial commit without files) unless it already exists."""
        with self._lock:
            self._get_or_create_repo(repo_id, private=private)

    def add_files(self, repo_id: str, files: Mapping[str, bytes], *, message: str = "Seed files") -> str:
        """Commit ``files`` (repo path -> content) on ``main``, creating the repo if needed.

        Returns the new commit oid.
        """
        with self._lock:
            repo = self._get_or_create_repo(repo_id)
            snapshot = dict(repo.head.files)
            snapshot.update({_clean_repo_path(path): bytes(content) for path, content in files.items()})
            return repo.add_commit(message, snapshot).oid

    def add_folder(
        self,
        repo_id: str,
        folder: str | os.PathLike[str],
        *,
        path_in_repo: str = "",
        message: str = "Seed folder",
    ) -> str:
        """Commit every file under ``folder`` (recursively) to ``repo_id``; return the commit oid."""
        root = Path(folder)
        if not root.is_dir():
            raise NotADirectoryError(root)
        prefix = f"{path_in_repo.strip('/')}/" if path_in_repo.strip("/") else ""
        files = {
            prefix + path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }
        return self.add_files(repo_id, files, message=message)

    def files(self, repo_id: str, revision: str = DEFAULT_BRANCH) -> dict[str, bytes]:
        """Return a copy of the files of ``repo_id`` at ``revision`` (repo path -> content)."""
        with self._lock:
            return dict(self._resolve(repo_id, revision).files)

    def commits(self, repo_id: str) -> list[Commit]:
        """Return the history of ``repo_id``, oldest first (the first commit is the empty initial one)."""
        with self._lock:
            return list(self._get_repo(repo_id).commits)

    def head(self, repo_id: str) -> str:
        """Return the commit oid that ``main`` points to."""
        with self._lock:
            return self._get_repo(repo_id).head.oid

    def repo_ids(self) -> list[str]:
        """Return the ids of all existing repos, sorted."""
        with self._lock:
            return sorted(self._repos)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of all requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def request_lines(self) -> list[str]:
        """Requests received so far as ``"METHOD /decoded/path"`` strings (query strings left out)."""
        return [str(request) for request in self.requests]

    def clear_requests(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self._requests.clear()

    # -- internal: repo access ---------------------------------------------------------------------

    def _get_or_create_repo(self, repo_id: str, *, private: bool = False) -> FakeRepo:
        repo = self._repos.get(repo_id)
        if repo is None:
            repo = FakeRepo(repo_id=repo_id, private=private, created_at=_now_iso())
            repo.add_commit("initial commit", {})
            self._repos[repo_id] = repo
        return repo

    def _get_repo(self, repo_id: str) -> FakeRepo:
        repo = self._repos.get(repo_id)
        if repo is None:
            raise HubError(404, f"Repository not found: {repo_id}", error_code="RepoNotFound")
        return repo

    def _resolve(self, repo_id: str, revision: str) -> Commit:
        commit = self._get_repo(repo_id).resolve(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", error_code="RevisionNotFound")
        return commit

    def _split_repo_id(self, segments: list[str]) -> tuple[str, list[str]]:
        """Split ``[namespace, name, *rest]`` (or ``[name, *rest]`` for a one-segment repo id that exists)."""
        if len(segments) >= 2 and f"{segments[0]}/{segments[1]}" in self._repos:
            return f"{segments[0]}/{segments[1]}", segments[2:]
        if segments and segments[0] in self._repos:
            return segments[0], segments[1:]
        if len(segments) >= 2:
            return f"{segments[0]}/{segments[1]}", segments[2:]
        raise HubError(404, "Repository not found", error_code="RepoNotFound")

    # -- internal: HTTP dispatch -------------------------------------------------------------------

    def _handle(self, method: str, raw_target: str, headers: Message, body: bytes) -> _Response:
        """Answer one HTTP request and record it."""
        url = urlsplit(raw_target)
        request = _Request(
            method=method,
            segments=[unquote(part) for part in url.path.split("/")[1:]],
            query=parse_qs(url.query, keep_blank_values=True),
            headers=headers,
            body=body,
        )
        try:
            with self._lock:
                response = self._route(request)
        except HubError as err:
            error_headers = {"X-Error-Message": err.message, **err.headers}
            if err.error_code is not None:
                error_headers["X-Error-Code"] = err.error_code
            response = _Response.json({"error": err.message}, status=err.status, headers=error_headers)
        except Exception as err:  # noqa: BLE001 - a bug in the fake: answer 500, don't drop the connection
            response = _Response.json({"error": f"FakeHub internal error: {err!r}"}, status=500)
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=unquote(url.path),
                    query=url.query,
                    status=response.status,
                    authorization=headers.get("Authorization"),
                )
            )
        return response

    def _route(self, request: _Request) -> _Response:
        segments = request.segments
        if segments[:1] == ["api"]:
            top = segments[1] if len(segments) > 1 else ""
            if top == "agent-harnesses":
                return _Response.json({"standardEnvVars": [], "harnesses": {}})
            if top == "telemetry":
                return _Response.json({})
            self._check_auth(request)
            simple_routes: dict[tuple[str, str], Callable[[_Request], _Response]] = {
                ("GET", "whoami-v2"): self._whoami,
                ("POST", "validate-yaml"): lambda _: _Response.json({"errors": [], "warnings": []}),
            }
            if len(segments) == 2 and (request.method, top) in simple_routes:
                return simple_routes[(request.method, top)](request)
            if top == "repos" and segments[2:] == ["create"] and request.method == "POST":
                return self._create_repo(request)
            if top == "repos" and segments[2:] == ["delete"] and request.method == "DELETE":
                return self._delete_repo(request)
            if top == "models":
                repo_id, rest = self._split_repo_id(segments[2:])
                return self._model_route(request, repo_id, rest)
            if top in {"datasets", "spaces", "kernels"}:
                raise HubError(400, f"FakeHub only supports model repos (got /api/{top}/...)")
        elif len(segments) >= 3 and request.method in {"GET", "HEAD"}:
            if segments[0] in {"datasets", "spaces", "kernels"}:
                raise HubError(400, "FakeHub only supports model repos")
            repo_id, rest = self._split_repo_id(segments)
            if len(rest) >= 3 and rest[0] == "resolve":
                self._check_auth(request)
                return self._resolve_file(request, repo_id, rest[1], "/".join(rest[2:]))
        raise HubError(404, f"FakeHub: unsupported route {request.method} /{'/'.join(segments)}")

    def _model_route(self, request: _Request, repo_id: str, rest: list[str]) -> _Response:
        """Dispatch ``/api/models/{repo_id}/...``."""
        action = rest[0] if rest else ""
        handlers: dict[tuple[str, str], _Handler] = {
            ("GET", ""): lambda req, _: self._model_info(req, repo_id, DEFAULT_BRANCH),
            ("GET", "revision"): lambda req, args: self._model_info(req, repo_id, _one(args)),
            ("GET", "tree"): lambda req, args: self._tree(req, repo_id, args),
            ("POST", "paths-info"): lambda req, args: self._paths_info(req, repo_id, _one(args)),
            ("POST", "preupload"): lambda req, args: self._preupload(req, repo_id, _one(args)),
            ("POST", "commit"): lambda req, args: self._commit(req, repo_id, _one(args)),
        }
        handler = handlers.get((request.method, action))
        if handler is None:
            raise HubError(404, f"FakeHub: unsupported route {request.method} /api/models/{repo_id}/{action}")
        return handler(request, rest[1:])

    def _check_auth(self, request: _Request) -> None:
        if self.required_token is None:
            return
        if request.headers.get("Authorization") != f"Bearer {self.required_token}":
            raise HubError(401, "Invalid credentials in Authorization header")

    # -- internal: endpoint implementations --------------------------------------------------------

    def _whoami(self, request: _Request) -> _Response:
        authorization = request.headers.get("Authorization") or ""
        if not authorization.startswith("Bearer "):
            raise HubError(401, "Invalid credentials in Authorization header")
        return _Response.json(
            {
                "type": "user",
                "id": hashlib.sha1(self.username.encode()).hexdigest()[:24],
                "name": self.username,
                "fullname": self.username,
                "email": None,
                "emailVerified": False,
                "canPay": False,
                "isPro": False,
                "periodEnd": None,
                "avatarUrl": "",
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "fake-hub", "role": "write"}},
            }
        )

    def _create_repo(self, request: _Request) -> _Response:
        payload = request.json() or {}
        repo_type = payload.get("type") or "model"
        if repo_type != "model":
            raise HubError(400, f"FakeHub only supports model repos (got type={repo_type!r})")
        name = payload.get("name")
        if not isinstance(name, str) or not name:
            raise HubError(400, "Missing repo name")
        repo_id = f"{payload.get('organization') or self.username}/{name}"
        url = f"{self.endpoint}/{repo_id}"
        if repo_id in self._repos:
            return _Response.json({"error": "You already created this model repo", "url": url}, status=409)
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        self._get_or_create_repo(repo_id, private=private)
        return _Response.json(
            {"url": url, "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]}
        )

    def _delete_repo(self, request: _Request) -> _Response:
        payload = request.json() or {}
        repo_id = f"{payload.get('organization') or self.username}/{payload.get('name')}"
        self._get_repo(repo_id)
        del self._repos[repo_id]
        return _Response.json({})

    def _model_info(self, request: _Request, repo_id: str, revision: str) -> _Response:
        repo = self._get_repo(repo_id)
        commit = self._resolve(repo_id, revision)
        with_blobs = _is_true(request.param("blobs"))
        siblings: list[dict[str, Any]] = []
        for path in sorted(commit.files):
            sibling: dict[str, Any] = {"rfilename": path}
            if with_blobs:
                sibling.update(size=len(commit.files[path]), blobId=git_blob_oid(commit.files[path]))
            siblings.append(sibling)
        return _Response.json(
            {
                "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
                "id": repo_id,
                "modelId": repo_id,
                "author": repo_id.split("/")[0] if "/" in repo_id else None,
                "sha": commit.oid,
                "lastModified": commit.created_at,
                "createdAt": repo.created_at,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
                "usedStorage": sum(len(content) for content in commit.files.values()),
            }
        )

    def _tree(self, request: _Request, repo_id: str, args: list[str]) -> _Response:
        if not args:
            raise HubError(404, "Missing revision")
        commit = self._resolve(repo_id, args[0])
        base = "/".join(args[1:]).strip("/")
        recursive = _is_true(request.param("recursive"))
        prefix = f"{base}/" if base else ""
        entries: dict[str, dict[str, Any]] = {}
        for path in sorted(commit.files):
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix) :].split("/")
            depth = len(parts) if recursive else 1
            for i in range(1, min(depth, len(parts) - 1) + 1):
                folder = prefix + "/".join(parts[:i])
                entries.setdefault(folder, _folder_entry(folder, commit.oid))
            if recursive or len(parts) == 1:
                entries[path] = _file_entry(path, commit.files[path])
        if base and not entries:
            raise HubError(
                404,
                f"Entry not found: {base}",
                error_code="EntryNotFound",
                headers={"X-Repo-Commit": commit.oid},
            )
        return _Response.json([entries[path] for path in sorted(entries)])

    def _paths_info(self, request: _Request, repo_id: str, revision: str) -> _Response:
        commit = self._resolve(repo_id, revision)
        content_type = request.headers.get("Content-Type") or ""
        if content_type.startswith("application/json"):
            paths = (request.json() or {}).get("paths", [])
        else:
            paths = parse_qs(request.body.decode(), keep_blank_values=True).get("paths", [])
        folders = {"/".join(p.split("/")[:i]) for p in commit.files for i in range(1, p.count("/") + 1)}
        result = []
        for raw_path in paths:
            path = raw_path.strip("/")
            if path in commit.files:
                result.append(_file_entry(path, commit.files[path]))
            elif path in folders:
                result.append(_folder_entry(path, commit.oid))
        return _Response.json(result)

    def _preupload(self, request: _Request, repo_id: str, revision: str) -> _Response:
        if _is_true(request.param("create_pr")):
            raise HubError(400, "FakeHub does not support pull requests (create_pr)")
        commit = self._resolve(repo_id, revision)
        files = []
        for item in (request.json() or {}).get("files", []):
            path = _clean_repo_path(item["path"])
            existing = commit.files.get(path)
            files.append(
                {
                    "path": item["path"],
                    "uploadMode": "regular",
                    "shouldIgnore": False,
                    "oid": git_blob_oid(existing) if existing is not None else None,
                }
            )
        return _Response.json({"files": files, "commitOid": commit.oid})

    def _commit(self, request: _Request, repo_id: str, revision: str) -> _Response:
        if _is_true(request.param("create_pr")):
            raise HubError(400, "FakeHub does not support pull requests (create_pr)")
        repo = self._get_repo(repo_id)
        if revision != DEFAULT_BRANCH:
            raise HubError(404, f"FakeHub only commits to '{DEFAULT_BRANCH}'", error_code="RevisionNotFound")
        snapshot = dict(repo.head.files)
        summary = "Commit"
        for line in request.body.splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as err:
                raise HubError(400, f"Invalid NDJSON line in commit payload: {err}") from err
            key, value = item.get("key"), item.get("value") or {}
            if key == "header":
                summary = value.get("summary") or summary
                parent = value.get("parentCommit")
                if parent is not None and parent != repo.head.oid:
                    raise HubError(412, "A commit has happened since. Please refresh and try again.")
            elif key == "file":
                snapshot[_clean_repo_path(value["path"])] = _decode_file_content(value)
            elif key == "deletedFile":
                path = _clean_repo_path(value["path"])
                if snapshot.pop(path, None) is None:
                    raise HubError(
                        404, f"A file with this name doesn't exist: {path}", error_code="EntryNotFound"
                    )
            elif key == "deletedFolder":
                folder = _clean_repo_path(value["path"]) + "/"
                for path in [p for p in snapshot if p.startswith(folder)]:
                    del snapshot[path]
            elif key == "lfsFile":
                raise HubError(400, "FakeHub does not store LFS files (preupload always answers 'regular')")
            else:
                raise HubError(400, f"Unknown commit operation key: {key!r}")
        commit = repo.add_commit(summary, snapshot)
        return _Response.json(
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{self.endpoint}/{repo_id}/commit/{commit.oid}",
                "commitMessage": summary,
                "pullRequestUrl": None,
                "hookOutput": "",
            }
        )

    def _resolve_file(self, request: _Request, repo_id: str, revision: str, path: str) -> _Response:
        commit = self._resolve(repo_id, revision)
        content = commit.files.get(path)
        if content is None:
            raise HubError(
                404,
                f"Entry not found: {path}",
                error_code="EntryNotFound",
                headers={"X-Repo-Commit": commit.oid},
            )
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": f'"{git_blob_oid(content)}"',
            "X-Repo-Commit": commit.oid,
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'inline; filename="{path.rsplit("/", 1)[-1]}"',
        }
        byte_range = _parse_range(request.headers.get("Range"), len(content))
        if byte_range is None:
            return _Response(200, content, headers)
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        return _Response(206, content[start : end + 1], headers)


# -------------------- Helpers --------------------


def _one(args: list[str]) -> str:
    """The single path argument after an action segment (e.g. the revision in ``.../commit/{revision}``)."""
    if len(args) != 1:
        raise HubError(404, "Unexpected path: expected exactly one revision segment")
    return args[0]


def _clean_repo_path(path: str) -> str:
    cleaned = path.replace("\\", "/").strip("/")
    if not cleaned or any(part in {"", ".", ".."} for part in cleaned.split("/")):
        raise HubError(400, f"Invalid path in repo: {path!r}")
    return cleaned


def _decode_file_content(value: Mapping[str, Any]) -> bytes:
    content = value.get("content", "")
    if value.get("encoding") == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error as err:
            raise HubError(400, f"Invalid base64 content for {value.get('path')!r}") from err
    return str(content).encode()


def _file_entry(path: str, content: bytes) -> dict[str, Any]:
    return {"type": "file", "oid": git_blob_oid(content), "size": len(content), "path": path}


def _folder_entry(path: str, commit_oid: str) -> dict[str, Any]:
    return {
        "type": "directory",
        "oid": hashlib.sha1(f"{commit_oid}:{path}".encode()).hexdigest(),
        "size": 0,
        "path": path,
    }


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=start-[end]`` / ``bytes=-suffix`` range; ``None`` means "send everything"."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header or "")
    if match is None or size == 0 or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start > end:
        raise HubError(416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    return start, end


class _HubServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that knows its :class:`FakeHub` (daemon threads, fast rebinding)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], hub: FakeHub) -> None:
        self.hub = hub
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads a request fully, lets the hub answer it and writes the response (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server: _HubServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        body = self._read_body()
        response = self.server.hub._handle(self.command, self.path, self.headers, body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return b"".join(self._iter_chunks())
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _iter_chunks(self) -> Iterable[bytes]:
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():  # optional trailers, then the final CRLF
                    pass
                return
            yield self.rfile.read(size)
            self.rfile.readline()  # CRLF after each chunk

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request logging to stderr (the hub records requests itself)."""
