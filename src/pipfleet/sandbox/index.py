"""PEP 503 / PEP 691 simple indexes: public PyPI's and the CodeArtifact repository's.

The Accept header picks HTML or JSON as on PyPI. The private index answers only
HTTP basic auth ``aws:<token>`` with a token GetAuthorizationToken issued, and,
like CodeArtifact, has no root listing. A file is served from a project's page when
the index lists its version (or every parseable file when the index lists none).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import html
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from email.parser import HeaderParser
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pipfleet.sandbox.app import PRIVATE_INDEX, PUBLIC_INDEX
from pipfleet.sandbox.distributions import core_metadata, file_version
from pipfleet.sandbox.world import World

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
API_VERSION = "1.1"  # PEP 700: files carry "size", projects "versions"
_MEDIA_TYPES = {
    JSON_V1: JSON_V1,
    "application/vnd.pypi.simple.latest+json": JSON_V1,
    HTML_V1: HTML_V1,
    "application/vnd.pypi.simple.latest+html": HTML_V1,
    "text/html": "text/html",
    "text/*": "text/html",
    "*/*": "text/html",
}
PUBLIC_SIMPLE = PUBLIC_INDEX + "/simple"
PRIVATE_SIMPLE = PRIVATE_INDEX + "/{domain_owner}/pypi/{repository}/simple"
REALM = "CodeArtifact"


def version_key(version: str) -> tuple[int, Version | str]:
    """Sort PEP 440 versions by precedence, anything else after them as text."""
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def negotiate(accept: str) -> str:
    """The response media type the Accept header prefers (PEP 691); HTML by default."""
    chosen, best = "text/html", 0.0
    for item in accept.split(","):
        media, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        served = _MEDIA_TYPES.get(media.lower())
        if served is not None and quality > best:
            chosen, best = served, quality
    return chosen


@dataclass(frozen=True)
class _File:
    filename: str
    version: str
    sha256: str
    size: int
    requires_python: str | None
    data: bytes = field(repr=False, compare=False)

    @property
    def path(self) -> str:
        """Relative to the project page, as CodeArtifact links its assets."""
        return f"{self.version}/{self.filename}"


@functools.lru_cache(maxsize=512)
def _describe(filename: str, data: bytes) -> tuple[str, str | None]:
    """sha256 and Requires-Python, cached since every page view would recompute them."""
    metadata = core_metadata(filename, data)
    requires_python = HeaderParser().parsestr(metadata).get("Requires-Python") if metadata else None
    return hashlib.sha256(data).hexdigest(), requires_python


def _project_files(world: World, project: str, versions: list[str], private: bool) -> list[_File]:
    if private and versions:  # exactly the assets ListPackageVersionAssets names
        held = {
            filename: data
            for version in versions
            for filename, data in world.codeartifact_assets(project, version).items()
        }
    elif private:
        held = {**world.files.get(project, {}), **world.codeartifact_files.get(project, {})}
    else:
        held = world.files.get(project, {})
    listed = {version_key(version)[1] for version in versions}
    files = []
    for filename, data in sorted(held.items()):
        version = file_version(filename)
        if version is None or (listed and version not in listed):
            continue
        sha256, requires_python = _describe(filename, data)
        files.append(_File(filename, str(version), sha256, len(data), requires_python, data))
    return files


def _html(title: str, links: list[str]) -> str:
    body = "\n".join(f"    {link}<br>" for link in links)
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}\n  </body>\n</html>\n"
    )


def _render(request: Request, data: dict[str, Any], title: str, links: list[str]) -> Response:
    media_type = negotiate(request.headers.get("accept", ""))
    headers = {"Vary": "Accept"}
    if media_type == JSON_V1:
        return JSONResponse(
            {"meta": {"api-version": API_VERSION}, **data}, headers=headers, media_type=JSON_V1
        )
    return Response(_html(title, links), headers=headers, media_type=media_type)


def _link(href: str, text: str, requires_python: str | None = None) -> str:
    extra = f' data-requires-python="{html.escape(requires_python)}"' if requires_python else ""
    return f'<a href="{html.escape(href)}"{extra}>{html.escape(text)}</a>'


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class _Index:
    world: World
    private: bool

    def _guard(self, request: Request) -> None:
        """For the private index: the token first, then which repository was asked for."""
        if not self.private:
            return
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, token = "", ""
        with self.world.lock:
            valid = self.world.codeartifact_token_valid(token)
        if scheme.lower() != "basic" or user != "aws" or not valid:
            # A 401 must carry its challenge; clients holding credentials back retry on it.
            raise HTTPException(401, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'})
        ca = self.world.codeartifact
        if (request.path_params["domain_owner"], request.path_params["repository"]) != (
            f"{ca.domain}-{ca.domain_owner}",
            ca.repository,
        ):
            raise HTTPException(404)

    def _versions(self, project: str) -> list[str] | None:
        """The versions the index lists for ``project``; None if it does not know it."""
        if self.private:
            package = self.world.codeartifact.packages.get(project)
            return None if package is None else list(package.versions)
        versions = self.world.pypi.get(project)
        return None if versions is None else list(versions)

    def _files(self, project: str, versions: list[str] | None) -> list[_File]:
        if versions is None:
            return []
        return _project_files(self.world, project, versions, self.private)

    async def root(self, request: Request) -> Response:
        self._guard(request)
        if self.private:
            raise HTTPException(404)  # CodeArtifact lists no projects
        with self.world.lock:
            names = sorted(self.world.pypi)
        return _render(
            request,
            {"projects": [{"name": name} for name in names]},
            "Simple index",
            [_link(f"{name}/", name) for name in names],
        )

    async def project(self, request: Request) -> Response:
        self._guard(request)
        name = request.path_params["project"]
        project = canonicalize_name(name)
        with self.world.lock:
            versions = self._versions(project)
            files = self._files(project, versions)
        if versions is None:
            raise HTTPException(404)
        if name != project:
            parent = request.url.path.rstrip("/").rsplit("/", 1)[0]
            return RedirectResponse(request.url.replace(path=f"{parent}/{project}/"), 301)
        listed = versions or list(dict.fromkeys(file.version for file in files))
        data = {
            "name": project,
            "files": [
                {
                    "filename": file.filename,
                    "url": file.path,
                    "hashes": {"sha256": file.sha256},
                    "size": file.size,
                    **({"requires-python": file.requires_python} if file.requires_python else {}),
                }
                for file in files
            ],
            "versions": sorted(dict.fromkeys(listed), key=version_key),
        }
        links = [
            _link(f"{file.path}#sha256={file.sha256}", file.filename, file.requires_python)
            for file in files
        ]
        return _render(request, data, f"Links for {project}", links)

    async def file(self, request: Request) -> Response:
        self._guard(request)
        project = canonicalize_name(request.path_params["project"])
        path = f"{request.path_params['version']}/{request.path_params['filename']}"
        with self.world.lock:
            versions = self._versions(project)
            files = self._files(project, versions)
            found = next((file for file in files if file.path == path), None)
            data = found.data if found else None
        if data is None:
            raise HTTPException(404)
        return Response(data, media_type="application/octet-stream")

    def routes(self) -> list[BaseRoute]:
        prefix = PRIVATE_SIMPLE if self.private else PUBLIC_SIMPLE
        endpoints: list[tuple[str, Endpoint]] = [
            ("/", self.root),
            ("/{project}/", self.project),
            ("/{project}/{version}/{filename}", self.file),
        ]
        return [Route(prefix + path, endpoint, methods=["GET"]) for path, endpoint in endpoints]


def routes(world: World) -> list[BaseRoute]:
    return [*_Index(world, private=False).routes(), *_Index(world, private=True).routes()]
