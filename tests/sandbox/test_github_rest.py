"""The sandbox's GitHub REST API against GitHub's own OpenAPI description, and PyGithub."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github, GithubException, GithubIntegration, InputGitTreeElement
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import BOT_LOGIN, GitHubApp, World

# Beside the checkout, like the Pipfile corpus; PIPFLEET_GITHUB_OPENAPI points elsewhere.
SPEC_PATH = Path(
    os.environ.get(
        "PIPFLEET_GITHUB_OPENAPI",
        Path(__file__).resolve().parents[3]
        / "shared"
        / "reference"
        / "github-rest-openapi-subset.json",
    )
)
SPEC_URI = "urn:github-openapi"
# The shared subset predates the manifest flow: this is GitHub's description of the
# operation (apps/create-from-manifest in github/rest-api-description), its schema
# built from the subset's own "integration" component like the original.
MANIFEST_CONVERSION = {
    "post": {
        "operationId": "apps/create-from-manifest",
        "parameters": [
            {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "201": {
                "description": "Response",
                "content": {
                    "application/json": {
                        "schema": {
                            "allOf": [
                                {"$ref": "#/components/schemas/integration"},
                                {
                                    "type": "object",
                                    "properties": {
                                        "client_id": {"type": "string"},
                                        "client_secret": {"type": "string"},
                                        "webhook_secret": {"type": "string", "nullable": True},
                                        "pem": {"type": "string"},
                                    },
                                    "required": [
                                        "client_id",
                                        "client_secret",
                                        "webhook_secret",
                                        "pem",
                                    ],
                                    "additionalProperties": True,
                                },
                            ]
                        }
                    }
                },
            },
            "404": {"$ref": "#/components/responses/not_found"},
            "422": {"$ref": "#/components/responses/validation_failed_simple"},
        },
    }
}
TOKEN = "sandbox-token"
APP_ID = 31337
# PyGithub spaces out requests (writes a second apart) to be kind to api.github.com;
# the loopback sandbox needs none of that.
NO_THROTTLE: dict[str, Any] = {"seconds_between_requests": 0, "seconds_between_writes": 0}
REPO = "/repos/{owner}/{repo}"

# -- validating against GitHub's OpenAPI description ---------------------------------------


def _as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema dialect to JSON Schema: nullable, oneOf, refs into one document."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_json_schema(value) for key, value in node.items()}
    if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        node["$ref"] = SPEC_URI + node["$ref"]
    # GitHub's oneOf alternatives overlap (basic-error accepts any object), so "exactly
    # one" can never hold for them; OpenAPI tools read them as "any of".
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.fail(
            f"GitHub's OpenAPI description is not at {SPEC_PATH}: the shared reference is missing"
        )
    document = json.loads(SPEC_PATH.read_text())
    document["paths"].setdefault("/app-manifests/{code}/conversions", MANIFEST_CONVERSION)
    converted: dict[str, Any] = _as_json_schema(document)
    return converted


@functools.cache
def registry() -> Registry:
    resource = Resource.from_contents(spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _datetime(value: object) -> bool:
    return not isinstance(value, str) or (
        value.endswith("Z") and datetime.fromisoformat(value) is not None
    )


@FORMATS.checks("uri")
def _absolute_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix(SPEC_URI + "#/").split("/"):
            target = target[part]
        node = target
    return node


def conforms(response: httpx.Response, method: str, template: str) -> None:
    """Assert the status is one GitHub documents for the operation and the body fits it."""
    operation = spec()["paths"][template][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{method} {template} answered {status}; GitHub documents {sorted(operation['responses'])}"
    )
    if response.status_code in (204, 304):
        assert response.content == b""
        return
    documented = _resolve(operation["responses"][status]).get("content", {})
    if "application/json" in documented:
        schema = documented["application/json"]["schema"]
        validator = Draft202012Validator(schema, registry=registry(), format_checker=FORMATS)
        problems = [
            f"{list(e.absolute_path)}: {e.message[:300]}"
            for e in validator.iter_errors(response.json())
        ]
        assert not problems, f"{method} {template} {status}:\n" + "\n".join(problems[:10])


class API:
    """Plain HTTP to the sandbox, every answer checked against GitHub's description."""

    def __init__(self, server: SandboxServer) -> None:
        self.base = server.urls.github_api
        self.client = httpx.Client(
            base_url=self.base, headers={"Authorization": f"token {TOKEN}"}, timeout=10
        )

    def __call__(
        self,
        method: str,
        template: str,
        status: int,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **path: Any,
    ) -> httpx.Response:
        url = template.format(**{"owner": "acme", **path})
        response = self.client.request(method, url, json=body, params=params, headers=headers)
        assert response.status_code == status, (method, url, response.text[:500])
        conforms(response, method, template)
        return response


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[API]:
    client = API(sandbox)
    yield client
    client.client.close()


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def app(world: World, app_key: rsa.RSAPrivateKey) -> GitHubApp:
    public = app_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    world.github_app = GitHubApp(app_id=APP_ID, public_key_pem=public.decode())
    return world.github_app


def git_sha(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def links(response: httpx.Response) -> dict[str, str]:
    found = {}
    for part in response.headers.get("link", "").split(", "):
        if part:
            url, rel = part.split("; ")
            found[rel.removeprefix('rel="').removesuffix('"')] = url.strip("<>")
    return found


# -- repositories and contents -------------------------------------------------------------


def test_org_repositories_paginate_with_github_link_headers(api: API) -> None:
    first = api("GET", "/orgs/{org}/repos", 200, org="acme", params={"per_page": 2})
    assert [r["name"] for r in first.json()] == ["orb-api", "orb-archived"]
    rels = links(first)
    assert set(rels) == {"next", "last"}
    assert rels["last"].startswith(api.base + "/orgs/acme/repos?")
    assert "page=3" in rels["last"] and "per_page=2" in rels["last"]
    middle = api.client.get(rels["next"])
    assert set(links(middle)) == {"prev", "next", "last", "first"}
    last = api.client.get(rels["last"])
    assert set(links(last)) == {"prev", "first"}
    assert [r["name"] for r in last.json()] == ["tools-internal"]
    forks = api("GET", "/orgs/{org}/repos", 200, org="acme", params={"type": "forks"})
    assert [r["name"] for r in forks.json()] == ["tools-internal"]
    by_name = api("GET", "/orgs/{org}/repos", 200, org="acme", params={"sort": "full_name"})
    assert [r["name"] for r in by_name.json()] == sorted(r["name"] for r in by_name.json())


def test_repository_reports_what_the_fleet_folder_says(api: API) -> None:
    archived = api("GET", REPO, 200, repo="orb-archived").json()
    assert (archived["archived"], archived["topics"], archived["fork"]) == (True, ["legacy"], False)
    assert archived["url"] == api.base + "/repos/acme/orb-archived"
    assert archived["owner"]["type"] == "Organization"
    tools = api("GET", REPO, 200, repo="tools-internal").json()
    assert (tools["default_branch"], tools["fork"], tools["visibility"]) == (
        "trunk",
        True,
        "internal",
    )
    assert tools["private"] is True
    empty = api("GET", REPO, 200, repo="orb-empty").json()
    assert empty["size"] == 0
    api("GET", REPO, 404, repo="nope")
    assert api.client.get("/repos/acme/orb-archived/topics").json() == {"names": ["legacy"]}


def test_contents_of_files_folders_and_the_root(api: API, world: World) -> None:
    path = "/repos/{owner}/{repo}/contents/{path}"
    file = api("GET", path, 200, repo="orb-api", path="Pipfile").json()
    data = world.file_at(world.orgs["acme"]["orb-api"], "main", "Pipfile")
    assert data is not None
    assert file["sha"] == git_sha("blob", data)
    assert (file["encoding"], file["size"], file["type"]) == ("base64", len(data), "file")
    lines = file["content"].split("\n")
    assert lines[-1] == "" and all(len(line) == 60 for line in lines[:-2])
    assert base64.b64decode(file["content"]) == data
    folder = api("GET", path, 200, repo="orb-api", path="services/worker").json()
    assert [(i["name"], i["type"], i["path"]) for i in folder] == [
        ("Pipfile", "file", "services/worker/Pipfile")
    ]
    root = api("GET", path, 200, repo="orb-api", path="").json()
    assert api.client.get("/repos/acme/orb-api/contents").json() == root
    assert [i["name"] for i in root] == ["Pipfile", "Pipfile.lock", "README.md", "services"]
    assert root[-1]["type"] == "dir" and root[-1]["download_url"] is None
    head = world.orgs["acme"]["orb-api"].head
    by_sha = api("GET", path, 200, repo="orb-api", path="README.md", params={"ref": head})
    assert base64.b64decode(by_sha.json()["content"]) == b"# orb-api\n"
    api("GET", path, 200, repo="tools-internal", path="Pipfile", params={"ref": "trunk"})
    api("GET", path, 404, repo="orb-api", path="setup.py")
    missing_ref = api("GET", path, 404, repo="orb-api", path="Pipfile", params={"ref": "nope"})
    assert missing_ref.json()["message"] == "No commit found for the ref nope"
    empty = api("GET", path, 404, repo="orb-empty", path="Pipfile")
    assert empty.json()["message"] == "This repository is empty."


def test_writing_files_needs_the_current_blob_sha(api: API, world: World) -> None:
    path = "/repos/{owner}/{repo}/contents/{path}"
    created = api(
        "PUT",
        path,
        201,
        repo="orb-api",
        path="docs/new.md",
        body={"message": "add", "content": b64("a\n")},
    ).json()
    assert created["content"]["sha"] == git_sha("blob", b"a\n")
    repo = world.orgs["acme"]["orb-api"]
    assert created["commit"]["sha"] == repo.head
    assert world.file_at(repo, "main", "docs/new.md") == b"a\n"
    old = api("GET", path, 200, repo="orb-api", path="Pipfile").json()["sha"]
    change = {"message": "bump", "content": b64("[packages]\n"), "sha": old}
    updated = api("PUT", path, 200, repo="orb-api", path="Pipfile", body=change).json()
    assert updated["commit"]["parents"][0]["sha"] == created["commit"]["sha"]
    stale = api("PUT", path, 409, repo="orb-api", path="Pipfile", body=change).json()
    assert stale["message"] == f"Pipfile does not match {old}"
    unsupplied = {"message": "bump", "content": b64("x")}
    missing = api("PUT", path, 422, repo="orb-api", path="Pipfile", body=unsupplied).json()
    assert missing["message"] == 'Invalid request.\n\n"sha" wasn\'t supplied.'
    on_branch = {**unsupplied, "branch": "nope"}
    api("PUT", path, 404, repo="orb-api", path="new.txt", body=on_branch)
    first = api("PUT", path, 201, repo="orb-empty", path="README.md", body=unsupplied).json()
    assert first["commit"]["parents"] == []
    assert world.orgs["acme"]["orb-empty"].head == first["commit"]["sha"]
    removal = {"message": "rm", "sha": git_sha("blob", b"a\n")}
    gone = api("DELETE", path, 200, repo="orb-api", path="docs/new.md", body=removal).json()
    assert gone["content"] is None
    assert world.file_at(repo, "main", "docs/new.md") is None
    api("DELETE", path, 404, repo="orb-api", path="docs/new.md", body=removal)
    api("DELETE", path, 409, repo="orb-api", path="Pipfile", body=removal)
    archived = api.client.put("/repos/acme/orb-archived/contents/Pipfile", json=unsupplied)
    assert archived.status_code == 403
    assert archived.json()["message"] == "Repository was archived so is read-only."


# -- the git data API ----------------------------------------------------------------------


def test_git_data_builds_a_commit_with_real_shas(api: API, world: World) -> None:
    repo = world.orgs["acme"]["orb-api"]
    main = repo.head
    blob = api("POST", REPO + "/git/blobs", 201, repo="orb-api", body={"content": "x = 1\n"}).json()
    assert blob["sha"] == git_sha("blob", b"x = 1\n")
    binary = {"content": b64("\0\1"), "encoding": "base64"}
    assert api("POST", REPO + "/git/blobs", 201, repo="orb-api", body=binary).json()["sha"] == (
        git_sha("blob", b"\0\1")
    )
    got = api("GET", REPO + "/git/blobs/{file_sha}", 200, repo="orb-api", file_sha=blob["sha"])
    assert base64.b64decode(got.json()["content"]) == b"x = 1\n"
    api("GET", REPO + "/git/blobs/{file_sha}", 404, repo="orb-api", file_sha="0" * 40)
    api("POST", REPO + "/git/blobs", 422, repo="orb-api", body={"encoding": "utf-8"})

    base = api("GET", REPO + "/git/trees/{tree_sha}", 200, repo="orb-api", tree_sha="main").json()
    assert base["truncated"] is False
    assert "services/worker/Pipfile" not in [e["path"] for e in base["tree"]]
    recursive = api(
        "GET",
        REPO + "/git/trees/{tree_sha}",
        200,
        repo="orb-api",
        tree_sha=main,
        params={"recursive": 1},
    ).json()
    assert "services/worker/Pipfile" in [e["path"] for e in recursive["tree"]]
    api("GET", REPO + "/git/trees/{tree_sha}", 404, repo="orb-api", tree_sha="nope")
    entries = [
        {"path": "src/app.py", "mode": "100644", "type": "blob", "sha": blob["sha"]},
        {"path": "NOTES", "mode": "100644", "type": "blob", "content": "inline\n"},
        {"path": "README.md", "mode": "100644", "type": "blob", "sha": None},
    ]
    tree = api(
        "POST",
        REPO + "/git/trees",
        201,
        repo="orb-api",
        body={"base_tree": base["sha"], "tree": entries},
    ).json()
    names = [e["path"] for e in tree["tree"]]
    assert "src" in names and "NOTES" in names and "README.md" not in names
    bad = [{"path": "x", "mode": "100644", "type": "blob", "sha": "f" * 40}]
    api("POST", REPO + "/git/trees", 422, repo="orb-api", body={"tree": bad})

    author = {"name": "Bot", "email": "bot@example.invalid", "date": "2026-02-01T10:00:00Z"}
    commit = api(
        "POST",
        REPO + "/git/commits",
        201,
        repo="orb-api",
        body={"message": "edit", "tree": tree["sha"], "parents": [main], "author": author},
    ).json()
    assert commit["author"] == author and commit["parents"][0]["sha"] == main
    api("GET", REPO + "/git/commits/{commit_sha}", 200, repo="orb-api", commit_sha=commit["sha"])
    api("GET", REPO + "/git/commits/{commit_sha}", 404, repo="orb-api", commit_sha="0" * 40)
    orphan = {"message": "x", "tree": tree["sha"], "parents": ["0" * 40]}
    api("POST", REPO + "/git/commits", 422, repo="orb-api", body=orphan)

    shown = api("GET", REPO + "/commits/{ref}", 200, repo="orb-api", ref=commit["sha"]).json()
    assert shown["commit"]["tree"]["sha"] == tree["sha"]
    statuses = {f["filename"]: f["status"] for f in shown["files"]}
    assert statuses == {"src/app.py": "added", "NOTES": "added", "README.md": "removed"}
    api("GET", REPO + "/commits/{ref}", 200, repo="orb-api", ref="main")
    unknown = api("GET", REPO + "/commits/{ref}", 422, repo="orb-api", ref="nope")
    assert unknown.json()["message"] == "No commit found for SHA: nope"
    empty = api("GET", REPO + "/git/trees/{tree_sha}", 409, repo="orb-empty", tree_sha="main")
    assert empty.json()["message"] == "Git Repository is empty."


def test_refs_follow_githubs_rules(api: API, world: World) -> None:
    repo = world.orgs["acme"]["orb-api"]
    main = repo.head
    assert main is not None
    tree = api("GET", REPO + "/git/trees/{tree_sha}", 200, repo="orb-api", tree_sha=main).json()
    body = {"message": "child", "tree": tree["sha"], "parents": [main]}
    child = api("POST", REPO + "/git/commits", 201, repo="orb-api", body=body).json()["sha"]

    new = {"ref": "refs/heads/fix/pins", "sha": main}
    created = api("POST", REPO + "/git/refs", 201, repo="orb-api", body=new).json()
    assert created["url"] == api.base + "/repos/acme/orb-api/git/refs/heads/fix/pins"
    again = api("POST", REPO + "/git/refs", 422, repo="orb-api", body=new).json()
    assert again["message"] == "Reference already exists"
    api("POST", REPO + "/git/refs", 422, repo="orb-api", body={"ref": "fix", "sha": main})
    got = api("GET", REPO + "/git/ref/{ref}", 200, repo="orb-api", ref="heads/fix/pins").json()
    assert got["object"]["sha"] == main
    api("GET", REPO + "/git/ref/{ref}", 404, repo="orb-api", ref="heads/nope")

    ref = REPO + "/git/refs/{ref}"
    api("PATCH", ref, 200, repo="orb-api", ref="heads/fix/pins", body={"sha": child})
    backwards = api("PATCH", ref, 422, repo="orb-api", ref="heads/fix/pins", body={"sha": main})
    assert backwards.json()["message"] == "Update is not a fast forward"
    forced = {"sha": main, "force": True}
    api("PATCH", ref, 200, repo="orb-api", ref="heads/fix/pins", body=forced)
    assert repo.refs["heads/fix/pins"] == main
    missing = api("PATCH", ref, 422, repo="orb-api", ref="heads/nope", body=forced)
    assert missing.json()["message"] == "Reference does not exist"
    api("DELETE", ref, 204, repo="orb-api", ref="heads/fix/pins")
    assert "heads/fix/pins" not in repo.refs
    gone = api("DELETE", ref, 422, repo="orb-api", ref="heads/fix/pins")
    assert gone.json()["message"] == "Reference does not exist"
    # GitHub serves only GET on the singular git/ref path; writes there are 404s.
    assert (
        api.client.patch("/repos/acme/orb-api/git/ref/heads/main", json=forced).status_code == 404
    )


def test_branch_with_protection_shape(api: API, world: World) -> None:
    branch = api("GET", REPO + "/branches/{branch}", 200, repo="tools-internal", branch="trunk")
    assert branch.json()["commit"]["sha"] == world.orgs["acme"]["tools-internal"].head
    assert branch.json()["protected"] is False
    api("GET", REPO + "/branches/{branch}", 404, repo="tools-internal", branch="main")


# -- pull requests, comments, labels -------------------------------------------------------


def push_branch(world: World, repo_name: str, branch: str, files: dict[str, bytes]) -> str:
    repo = world.orgs["acme"][repo_name]
    repo.refs[f"heads/{branch}"] = repo.refs[f"heads/{repo.default_branch}"]
    return world.commit_changes(repo, branch, dict(files), f"change on {branch}")


def test_pull_request_lifecycle(api: API, world: World) -> None:
    head = push_branch(world, "orb-api", "pipfleet/pins", {"Pipfile": b"[packages]\nx = '*'\n"})
    pulls = REPO + "/pulls"
    proposal = {"title": "Pin", "head": "acme:pipfleet/pins", "base": "main", "body": "Why."}
    pr = api("POST", pulls, 201, repo="orb-api", body=proposal).json()
    assert (pr["number"], pr["user"]["login"], pr["head"]["sha"]) == (1, BOT_LOGIN, head)
    assert (pr["state"], pr["merged"], pr["mergeable"], pr["changed_files"]) == (
        "open",
        False,
        True,
        1,
    )
    assert pr["head"]["label"] == "acme:pipfleet/pins"
    assert pr["url"] == api.base + "/repos/acme/orb-api/pulls/1"
    duplicate = api("POST", pulls, 422, repo="orb-api", body=proposal).json()
    assert duplicate["errors"] == [
        {
            "resource": "PullRequest",
            "code": "custom",
            "message": "A pull request already exists for acme:pipfleet/pins.",
        }
    ]
    api("POST", pulls, 422, repo="orb-api", body={**proposal, "head": "missing"})
    same = api(
        "POST", pulls, 422, repo="orb-api", body={**proposal, "head": "main", "base": "main"}
    )
    assert same.json()["errors"][0]["message"] == "No commits between main and main"

    assert [p["number"] for p in api("GET", pulls, 200, repo="orb-api").json()] == [1]
    by_head = api("GET", pulls, 200, repo="orb-api", params={"head": "acme:other"})
    assert by_head.json() == []
    # GitHub ignores a head filter without its "owner:" part and lists every pull request.
    assert len(api("GET", pulls, 200, repo="orb-api", params={"head": "other"}).json()) == 1
    assert api("GET", pulls, 200, repo="orb-api", params={"state": "closed"}).json() == []
    api("GET", pulls, 422, repo="orb-api", params={"state": "merged"})

    one = REPO + "/pulls/{pull_number}"
    api("GET", one, 200, repo="orb-api", pull_number=1)
    api("GET", one, 404, repo="orb-api", pull_number=7)
    closed = api("PATCH", one, 200, repo="orb-api", pull_number=1, body={"state": "closed"}).json()
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    assert [
        p["number"] for p in api("GET", pulls, 200, repo="orb-api", params={"state": "all"}).json()
    ] == [1]
    reopened = api(
        "PATCH", one, 200, repo="orb-api", pull_number=1, body={"state": "open", "title": "Pin!"}
    )
    assert (reopened.json()["state"], reopened.json()["title"]) == ("open", "Pin!")

    merged = REPO + "/pulls/{pull_number}/merge"
    api("GET", merged, 404, repo="orb-api", pull_number=1)
    api("PUT", merged, 404, repo="orb-api", pull_number=7, body={})
    api("PATCH", one, 422, repo="orb-api", pull_number=1, body={"state": "merged"})
    head_before = world.orgs["acme"]["orb-api"].head
    result = api("PUT", merged, 200, repo="orb-api", pull_number=1, body={}).json()
    repo = world.orgs["acme"]["orb-api"]
    assert result["merged"] is True and repo.head == result["sha"]
    merge_commit = world.store.commit(result["sha"])
    assert merge_commit is not None and merge_commit.parents == (head_before, head)
    assert world.file_at(repo, "main", "Pipfile") == b"[packages]\nx = '*'\n"
    api("GET", merged, 204, repo="orb-api", pull_number=1)
    again = api("PUT", merged, 405, repo="orb-api", pull_number=1, body={})
    assert again.json()["message"] == "Pull Request is not mergeable"
    done = api("GET", one, 200, repo="orb-api", pull_number=1).json()
    assert (done["merged"], done["merge_commit_sha"], done["commits"]) == (True, result["sha"], 1)
    archived = api.client.post("/repos/acme/orb-archived/pulls", json=proposal)
    assert archived.status_code == 403
    conforms(archived, "POST", pulls)


@pytest.mark.parametrize("closer", ["api", "human"])
def test_a_closed_pull_request_keeps_its_head_when_the_branch_name_is_reused(
    api: API, world: World, closer: str
) -> None:
    first = push_branch(world, "orb-api", "pipfleet/pins", {"Pipfile": b"[packages]\nx = '*'\n"})
    pulls, one = REPO + "/pulls", REPO + "/pulls/{pull_number}"
    proposal = {"title": "Pin", "head": "acme:pipfleet/pins", "base": "main"}
    api("POST", pulls, 201, repo="orb-api", body=proposal)
    repo = world.orgs["acme"]["orb-api"]
    if closer == "api":
        api("PATCH", one, 200, repo="orb-api", pull_number=1, body={"state": "closed"})
    else:  # closed on GitHub's page: no API read of the pull request at all
        world.close_pull(repo, repo.pulls[1])
    del repo.refs["heads/pipfleet/pins"]
    second = push_branch(world, "orb-api", "pipfleet/pins", {"Pipfile.lock": b"{}\n"})
    api("POST", pulls, 201, repo="orb-api", body=proposal)

    # Reading both, as a bot looking for its pull request by branch does, moves nothing.
    listed = api("GET", pulls, 200, repo="orb-api", params={"state": "all"}).json()
    assert {p["number"]: p["head"]["sha"] for p in listed} == {1: first, 2: second}
    old = api("GET", one, 200, repo="orb-api", pull_number=1).json()
    assert (old["state"], old["head"]["sha"], old["changed_files"]) == ("closed", first, 1)


def test_conflicting_pull_request_is_not_mergeable(api: API, world: World) -> None:
    push_branch(world, "orb-api", "ours", {"README.md": b"ours\n"})
    world.commit_changes(world.orgs["acme"]["orb-api"], "main", {"README.md": b"theirs\n"}, "race")
    body = {"title": "t", "head": "ours", "base": "main"}
    pr = api("POST", REPO + "/pulls", 201, repo="orb-api", body=body).json()
    assert (pr["mergeable"], pr["mergeable_state"]) == (False, "dirty")
    merge = REPO + "/pulls/{pull_number}/merge"
    api("PUT", merge, 405, repo="orb-api", pull_number=pr["number"], body={})
    push_branch(world, "orb-api", "clean", {"other.txt": b"1\n"})
    clean = api("POST", REPO + "/pulls", 201, repo="orb-api", body={**body, "head": "clean"}).json()
    stale = {"sha": "0" * 40}
    api("PUT", merge, 409, repo="orb-api", pull_number=clean["number"], body=stale)
    squash = {"merge_method": "squash"}
    api("PUT", merge, 200, repo="orb-api", pull_number=clean["number"], body=squash)
    repo = world.orgs["acme"]["orb-api"]
    assert world.file_at(repo, "main", "README.md") == b"theirs\n"
    assert world.file_at(repo, "main", "other.txt") == b"1\n"


def test_draft_and_orphaned_pull_requests(api: API, world: World) -> None:
    push_branch(world, "orb-api", "wip", {"a.txt": b"a\n"})
    body = {"title": "t", "head": "wip", "base": "main", "draft": True}
    pr = api("POST", REPO + "/pulls", 201, repo="orb-api", body=body).json()
    assert (pr["draft"], pr["mergeable_state"]) == (True, "draft")
    merge = api("PUT", REPO + "/pulls/{pull_number}/merge", 405, repo="orb-api", pull_number=1)
    assert merge.json()["message"] == "Pull Request is still a draft"
    api("DELETE", REPO + "/git/refs/{ref}", 204, repo="orb-api", ref="heads/wip")
    closed = api("GET", REPO + "/pulls/{pull_number}", 200, repo="orb-api", pull_number=1).json()
    assert (closed["state"], closed["head"]["sha"]) == ("closed", pr["head"]["sha"])
    reopen = {"state": "open"}
    api("PATCH", REPO + "/pulls/{pull_number}", 422, repo="orb-api", pull_number=1, body=reopen)


def test_issue_comments_and_labels(api: API, world: World) -> None:
    push_branch(world, "orb-api", "x", {"a.txt": b"a\n"})
    api(
        "POST",
        REPO + "/pulls",
        201,
        repo="orb-api",
        body={"title": "t", "head": "x", "base": "main"},
    )
    comments = REPO + "/issues/{issue_number}/comments"
    for text in ("one", "two", "three"):
        api("POST", comments, 201, repo="orb-api", issue_number=1, body={"body": text})
    page = api("GET", comments, 200, repo="orb-api", issue_number=1, params={"per_page": 2})
    assert [c["body"] for c in page.json()] == ["one", "two"] and "next" in links(page)
    api("POST", comments, 422, repo="orb-api", issue_number=1, body={})
    api("GET", comments, 404, repo="orb-api", issue_number=9)
    api("POST", comments, 404, repo="orb-api", issue_number=9, body={"body": "x"})

    labels = REPO + "/issues/{issue_number}/labels"
    added = api("POST", labels, 200, repo="orb-api", issue_number=1, body={"labels": ["deps"]})
    assert [label["name"] for label in added.json()] == ["deps"]
    added = api("POST", labels, 200, repo="orb-api", issue_number=1, body=["pipfleet", "deps"])
    assert [label["name"] for label in added.json()] == ["deps", "pipfleet"]
    replaced = api("PUT", labels, 200, repo="orb-api", issue_number=1, body={"labels": ["x"]})
    assert [label["name"] for label in replaced.json()] == ["x"]
    api("POST", labels, 422, repo="orb-api", issue_number=1, body={"labels": [""]})
    api("DELETE", labels, 204, repo="orb-api", issue_number=1)
    assert api("GET", labels, 200, repo="orb-api", issue_number=1).json() == []
    api("GET", labels, 404, repo="orb-api", issue_number=9)
    pr = api("GET", REPO + "/pulls/{pull_number}", 200, repo="orb-api", pull_number=1).json()
    assert pr["comments"] == 3


def test_rate_limit_reports_the_worlds_counters(api: API, world: World) -> None:
    api("GET", REPO, 200, repo="orb-api")
    overview = api("GET", "/rate_limit", 200).json()
    assert overview["rate"] == overview["resources"]["core"]
    # At least the request before; GitHub does not charge /rate_limit itself.
    assert 1 <= overview["rate"]["used"] <= world.rate_used["core"]
    assert overview["rate"]["remaining"] == 5000 - overview["rate"]["used"]


def test_conditional_get_answers_304(api: API) -> None:
    first = api("GET", REPO, 200, repo="orb-api")
    again = api.client.get("/repos/acme/orb-api", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert api.client.head("/repos/acme/orb-api").status_code == 200


def test_app_jwts_do_not_open_other_endpoints(sandbox: SandboxServer) -> None:
    headers = {"Authorization": "Bearer a.b.c"}
    response = httpx.get(sandbox.urls.github_api + "/repos/acme/orb-api", headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


# -- PyGithub end to end -------------------------------------------------------------------


def test_pygithub_drives_the_whole_fix_flow(sandbox: SandboxServer, world: World) -> None:
    gh = Github(base_url=sandbox.urls.github_api, auth=Auth.Token(TOKEN), per_page=2, **NO_THROTTLE)
    org_repos = list(gh.get_organization("acme").get_repos())
    assert sorted(r.name for r in org_repos) == [
        "orb-api",
        "orb-archived",
        "orb-empty",
        "orb-no-pipfile",
        "tools-internal",
    ]
    archived = gh.get_repo("acme/orb-archived")
    assert (archived.archived, archived.get_topics(), archived.topics) == (
        True,
        ["legacy"],
        ["legacy"],
    )
    tools = gh.get_repo("acme/tools-internal")
    assert (tools.default_branch, tools.fork, tools.full_name) == (
        "trunk",
        True,
        "acme/tools-internal",
    )

    repo = gh.get_repo("acme/orb-api")
    pipfile = repo.get_contents("Pipfile")
    assert not isinstance(pipfile, list)
    assert pipfile.decoded_content.startswith(b"[[source]]")
    folder = repo.get_contents("services/worker", ref="main")
    assert isinstance(folder, list) and [c.path for c in folder] == ["services/worker/Pipfile"]

    main = repo.get_git_ref("heads/main")
    base = repo.get_git_commit(main.object.sha)
    blob = repo.create_git_blob("[packages]\n", "utf-8")
    element = InputGitTreeElement("Pipfile", "100644", "blob", sha=blob.sha)
    tree = repo.create_git_tree([element], repo.get_git_tree(base.tree.sha))
    commit = repo.create_git_commit("Fix Pipfile", tree, [base])
    branch = repo.create_git_ref("refs/heads/pipfleet/fix", commit.sha)
    with pytest.raises(GithubException) as duplicate_ref:
        repo.create_git_ref("refs/heads/pipfleet/fix", commit.sha)
    assert duplicate_ref.value.status == 422
    assert duplicate_ref.value.data["message"] == "Reference already exists"

    pull = repo.create_pull(base="main", head="pipfleet/fix", title="Fix Pipfile", body="Why")
    assert (pull.number, pull.user.login, pull.mergeable, pull.changed_files) == (
        1,
        BOT_LOGIN,
        True,
        1,
    )
    with pytest.raises(GithubException) as duplicate_pull:
        repo.create_pull(base="main", head="pipfleet/fix", title="Again")
    assert duplicate_pull.value.status == 422
    assert "A pull request already exists" in duplicate_pull.value.data["errors"][0]["message"]
    found = repo.get_pulls(state="open", head="acme:pipfleet/fix", base="main")
    assert [p.number for p in found] == [1]
    pull.create_issue_comment("Audit details")
    pull.add_to_labels("pipfleet")
    assert [label.name for label in pull.get_labels()] == ["pipfleet"]
    assert [c.body for c in pull.get_issue_comments()] == ["Audit details"]

    repo.get_git_ref("heads/pipfleet/fix").edit(main.object.sha, force=True)
    assert world.orgs["acme"]["orb-api"].refs["heads/pipfleet/fix"] == main.object.sha
    pull.edit(state="closed")
    assert [p.number for p in repo.get_pulls(state="closed")] == [1]
    branch.delete()
    assert "heads/pipfleet/fix" not in world.orgs["acme"]["orb-api"].refs

    with pytest.raises(GithubException) as stale:
        repo.update_file("Pipfile", "Bump", "[packages]\n", sha="0" * 40)
    assert stale.value.status == 409
    updated = repo.update_file("Pipfile", "Bump", "[packages]\n", sha=pipfile.sha, branch="main")
    assert updated["commit"].sha == world.orgs["acme"]["orb-api"].head
    limits = gh.get_rate_limit()
    assert limits.resources.core.limit == 5000 and limits.resources.core.used > 0


def test_github_app_installation_flow(
    sandbox: SandboxServer, api: API, app: GitHubApp, app_key: rsa.RSAPrivateKey
) -> None:
    auth = Auth.AppAuth(APP_ID, pem(app_key))
    integration = GithubIntegration(base_url=sandbox.urls.github_api, auth=auth, **NO_THROTTLE)
    installation = integration.get_org_installation("acme")
    assert installation.id == app.installation_id
    assert [i.id for i in integration.get_installations()] == [app.installation_id]
    token = integration.get_access_token(installation.id)
    assert token.token.startswith("ghs_") and token.expires_at.timestamp() > time.time()
    names = sorted(r.name for r in installation.get_repos())
    assert len(names) == 5 and "orb-api" in names
    as_installation = integration.get_github_for_installation(installation.id)
    assert as_installation.get_repo("acme/orb-api").default_branch == "main"

    bearer = {"Authorization": f"Bearer {auth.create_jwt()}"}
    api("GET", "/app/installations", 200, headers=bearer)
    api("GET", "/orgs/{org}/installation", 200, org="acme", headers=bearer)
    issued = api(
        "POST",
        "/app/installations/{installation_id}/access_tokens",
        201,
        installation_id=app.installation_id,
        body={"repositories": ["orb-api"], "permissions": {"contents": "read"}},
        headers=bearer,
    ).json()
    assert issued["repository_selection"] == "selected"
    scoped = {"Authorization": f"token {issued['token']}"}
    listed = api("GET", "/installation/repositories", 200, headers=scoped).json()
    assert listed["total_count"] == 1 and listed["repositories"][0]["name"] == "orb-api"
    api("GET", "/installation/repositories", 403)  # a personal token is no installation
    too_much = {"permissions": {"administration": "write"}}
    api(
        "POST",
        "/app/installations/{installation_id}/access_tokens",
        422,
        installation_id=app.installation_id,
        body=too_much,
        headers=bearer,
    )


def test_app_jwt_checks(
    api: API, app: GitHubApp, app_key: rsa.RSAPrivateKey, stranger_key: rsa.RSAPrivateKey
) -> None:
    path = "/app/installations/{installation_id}/access_tokens"
    moment = int(time.time())

    def attempt(claims: dict[str, Any], key: rsa.RSAPrivateKey = app_key) -> str:
        token = jwt.encode(claims, pem(key), algorithm="RS256")
        response = api(
            "POST",
            path,
            401,
            installation_id=app.installation_id,
            headers={"Authorization": f"Bearer {token}"},
        )
        message: str = response.json()["message"]
        return message

    good = {"iat": moment - 60, "exp": moment + 300, "iss": str(APP_ID)}
    assert attempt(good, stranger_key) == "A JSON web token could not be decoded"
    assert attempt({**good, "iss": "1"}) == "A JSON web token could not be decoded"
    assert attempt({**good, "exp": moment - 1}).startswith(
        "'Expiration time' claim ('exp') must be"
    )
    assert attempt({**good, "exp": moment + 3600}).endswith("is too far in the future")
    plain = api("POST", path, 401, installation_id=app.installation_id)
    assert plain.json()["message"] == "A JSON web token could not be decoded"


def test_app_manifest_flow(sandbox: SandboxServer, api: API, world: World) -> None:
    """The new-App page takes a manifest and redirects with a code; the code converts once
    into an App whose key signs JWTs and whose installation has the manifest's permissions."""
    manifest = {
        "name": "pipfleet acme",
        "url": "https://example.com/pipfleet",
        "redirect_url": "http://127.0.0.1:9/callback?keep=1",
        "public": False,
        "default_permissions": {"contents": "write", "metadata": "read"},
    }
    page = f"{sandbox.urls.base}/github-html/organizations/acme/settings/apps/new"
    pressed = httpx.post(page, params={"state": "s1"}, data={"manifest": json.dumps(manifest)})
    assert pressed.status_code == 302
    target = httpx.URL(pressed.headers["location"])
    assert str(target).startswith("http://127.0.0.1:9/callback?keep=1&")
    assert target.params["state"] == "s1"
    code = target.params["code"]

    made = api("POST", "/app-manifests/{code}/conversions", 201, code=code).json()
    assert made["slug"] == "pipfleet-acme" and made["owner"]["login"] == "acme"
    assert made["permissions"] == manifest["default_permissions"]
    assert made["webhook_secret"] is None
    api("POST", "/app-manifests/{code}/conversions", 404, code=code)  # once only

    auth = Auth.AppAuth(made["id"], made["pem"])
    bearer = {"Authorization": f"Bearer {auth.create_jwt()}"}
    installation = api("GET", "/orgs/{org}/installation", 200, org="acme", headers=bearer)
    assert installation.json()["permissions"] == manifest["default_permissions"]
    api(
        "POST",
        "/app/installations/{installation_id}/access_tokens",
        422,
        installation_id=installation.json()["id"],
        body={"permissions": {"pull_requests": "write"}},
        headers=bearer,
    )

    granted = httpx.put(f"{sandbox.urls.control}/app/permissions", json={"metadata": "read"})
    assert granted.status_code == 200
    again = api("GET", "/orgs/{org}/installation", 200, org="acme", headers=bearer)
    assert again.json()["permissions"] == {"metadata": "read"}


def test_app_manifest_page_refusals(sandbox: SandboxServer, world: World) -> None:
    page = f"{sandbox.urls.base}/github-html/organizations/{{}}/settings/apps/new"
    good = {"name": "x", "url": "https://example.com", "redirect_url": "http://127.0.0.1:9/"}
    assert httpx.post(page.format("nobody"), data={"manifest": json.dumps(good)}).status_code == 404
    assert httpx.post(page.format("acme"), data={"manifest": "{"}).status_code == 422
    assert httpx.post(page.format("acme"), data={"manifest": "{}"}).status_code == 422
    inactive_hook = good | {"hook_attributes": {"active": False}}
    refused = httpx.post(page.format("acme"), data={"manifest": json.dumps(inactive_hook)})
    assert refused.status_code == 422 and '"url" wasn\'t supplied' in refused.text
    assert world.manifest_codes == {}
    no_app = httpx.put(f"{sandbox.urls.control}/app/permissions", json={"metadata": "read"})
    assert no_app.status_code == 404
