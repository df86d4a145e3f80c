"""The sandbox's GitHub GraphQL endpoint, over real HTTP, held to GitHub's own schema."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest

from pipfleet.sandbox.github_graphql import sandbox_schema
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World, node_id

GITHUB_SCHEMA = Path(__file__).resolve().parents[3] / "shared/reference/github-schema.graphql"
TOKEN = "sandbox-token"

# Queries of the shapes pipfleet sends (its own, in pipfleet.github.queries, are validated
# against GitHub's schema in tests/github/test_queries.py), wider here to cover the sandbox.

REPOSITORY_FIELDS = """
fragment RepositoryFields on Repository {
  id
  databaseId
  name
  nameWithOwner
  isArchived
  isFork
  isDisabled
  isEmpty
  visibility
  url
  pushedAt
  repositoryTopics(first: 20) { nodes { topic { name } } }
  defaultBranchRef {
    name
    target { oid ... on Commit { oid tree { oid } committedDate } }
  }
}
"""

LIST_REPOSITORIES = (
    """
query ListRepositories($org: String!, $first: Int!, $after: String) {
  organization(login: $org) {
    repositories(first: $first, after: $after, orderBy: {field: NAME, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { ...RepositoryFields }
    }
  }
}
"""
    + REPOSITORY_FIELDS
)

FILTERED_REPOSITORIES = """
query FilteredRepositories(
  $org: String!, $isFork: Boolean, $isArchived: Boolean, $orderBy: RepositoryOrder
) {
  organization(login: $org) {
    repositories(first: 100, isFork: $isFork, isArchived: $isArchived, orderBy: $orderBy) {
      totalCount
      pageInfo { endCursor }
      edges { cursor node { name } }
    }
  }
}
"""

BLOB_FIELDS = """
fragment BlobFields on Blob { oid byteSize isBinary isTruncated text }
"""

READ_PIPFILES = (
    """
query ReadPipfiles($owner: String!, $r0: String!, $r1: String!, $r2: String!) {
  r0: repository(owner: $owner, name: $r0) { ...PipfileSnapshot }
  r1: repository(owner: $owner, name: $r1) { ...PipfileSnapshot }
  r2: repository(owner: $owner, name: $r2) { ...PipfileSnapshot }
}

fragment PipfileSnapshot on Repository {
  nameWithOwner
  isEmpty
  defaultBranchRef { name target { __typename oid } }
  pipfile: object(expression: "HEAD:Pipfile") { __typename ...BlobFields }
  lock: object(expression: "HEAD:Pipfile.lock") { ... on Blob { oid byteSize isTruncated } }
  root: object(expression: "HEAD:") {
    ... on Tree {
      oid
      entries {
        name path type mode oid
        object {
          ... on Tree { entries { name path type mode oid object { ...BlobFields } } }
          ... on Blob { oid byteSize }
        }
      }
    }
  }
}
"""
    + BLOB_FIELDS
)

READ_FOLDER = (
    """
query ReadFolder($owner: String!, $name: String!, $expression: String!) {
  repository(owner: $owner, name: $name) {
    object(expression: $expression) {
      ... on Tree {
        entries {
          name path type
          object { ... on Tree { entries { name path type object { ...BlobFields } } } }
        }
      }
    }
  }
}
"""
    + BLOB_FIELDS
)

READ_OBJECT = (
    """
query ReadObject($owner: String!, $name: String!, $expression: String, $oid: GitObjectID) {
  repository(owner: $owner, name: $name) {
    object(expression: $expression, oid: $oid) {
      __typename
      oid
      ...BlobFields
      ... on Commit { tree { oid } }
      ... on Tree { entries { name } }
    }
  }
}
"""
    + BLOB_FIELDS
)

RATE_LIMIT = "query { viewer { login } rateLimit { cost limit remaining resetAt used nodeCount } }"

# Two top-level connections of 100, each with 100 nested ones: 202 requests, cost 2.
WIDE_LISTING = """
query WideListing($org: String!) {
  organization(login: $org) {
    a: repositories(first: 100) { nodes { repositoryTopics(first: 10) { nodes { topic { name } } } } }
    b: repositories(first: 100) { nodes { repositoryTopics(first: 10) { nodes { topic { name } } } } }
  }
  rateLimit { cost nodeCount }
}
"""

COUNT_REPOSITORIES = (
    "query($org: String!) { organization(login: $org) { repositories { totalCount } } }"
)
PAGE_OF = "query($org: String!, $first: Int) { organization(login: $org) { repositories(first: $first) { nodes { name } } } }"

PIPFLEET_QUERIES = [
    LIST_REPOSITORIES,
    FILTERED_REPOSITORIES,
    READ_PIPFILES,
    READ_FOLDER,
    READ_OBJECT,
    RATE_LIMIT,
    WIDE_LISTING,
    COUNT_REPOSITORIES,
    PAGE_OF,
]


@pytest.fixture(scope="module")
def github_schema() -> graphql.GraphQLSchema:
    if not GITHUB_SCHEMA.is_file():
        pytest.fail(f"GitHub's schema is not at {GITHUB_SCHEMA}: the shared reference is missing")
    sdl = GITHUB_SCHEMA.read_text(encoding="utf-8")
    return graphql.build_schema(sdl, assume_valid=True, assume_valid_sdl=True)


def post(
    sandbox: SandboxServer, query: str, token: str = TOKEN, **variables: Any
) -> httpx.Response:
    return httpx.post(
        sandbox.urls.graphql,
        json={"query": query, "variables": variables},
        headers={"Authorization": f"bearer {token}"},
    )


def data(sandbox: SandboxServer, query: str, **variables: Any) -> dict[str, Any]:
    response = post(sandbox, query, **variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def location_of(query: str, text: str) -> dict[str, int]:
    for line_number, line in enumerate(query.split("\n"), start=1):
        if text in line:
            return {"line": line_number, "column": line.index(text) + 1}
    raise AssertionError(f"{text!r} is not in the query")


def by_name(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in entries}


def test_schema_is_a_faithful_subset_of_githubs(github_schema: graphql.GraphQLSchema) -> None:
    ours = sandbox_schema()
    assert ours.query_type is not None and ours.query_type.name == "Query"
    for name, our_type in ours.type_map.items():
        if name.startswith("__"):
            continue
        their_type = github_schema.type_map.get(name)
        assert type(their_type) is type(our_type), name
        if isinstance(our_type, graphql.GraphQLEnumType):
            assert isinstance(their_type, graphql.GraphQLEnumType)
            assert set(our_type.values) <= set(their_type.values), name
        if isinstance(our_type, graphql.GraphQLInputObjectType):
            assert isinstance(their_type, graphql.GraphQLInputObjectType)
            for field_name, input_field in their_type.fields.items():
                ours_field = our_type.fields.get(field_name)
                assert ours_field is not None, f"{name}.{field_name}"
                assert str(ours_field.type) == str(input_field.type), f"{name}.{field_name}"
        if isinstance(our_type, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
            assert isinstance(their_type, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
            their_interfaces = {interface.name for interface in their_type.interfaces}
            assert {interface.name for interface in our_type.interfaces} <= their_interfaces
            for field_name, field in our_type.fields.items():
                where = f"{name}.{field_name}"
                their_field = their_type.fields.get(field_name)
                assert their_field is not None, where
                assert str(field.type) == str(their_field.type), where
                for arg_name, arg in field.args.items():
                    assert arg_name in their_field.args, f"{where}({arg_name}:)"
                    assert str(arg.type) == str(their_field.args[arg_name].type), (
                        f"{where}({arg_name}:)"
                    )
                # An argument GitHub requires and the sandbox lacks would let through a
                # query GitHub rejects.
                required = {
                    n for n, a in their_field.args.items() if graphql.is_required_argument(a)
                }
                assert required <= set(field.args), where


@pytest.mark.parametrize("query", PIPFLEET_QUERIES)
def test_pipfleets_queries_validate_on_github_and_the_sandbox(
    github_schema: graphql.GraphQLSchema, query: str
) -> None:
    document = graphql.parse(query)
    assert graphql.validate(github_schema, document) == []
    assert graphql.validate(sandbox_schema(), document) == []


def test_paging_by_two_visits_every_repository_once(sandbox: SandboxServer, world: World) -> None:
    seen: list[dict[str, Any]] = []
    after = None
    for _ in range(5):
        page = data(sandbox, LIST_REPOSITORIES, org="acme", first=2, after=after)
        repositories = page["organization"]["repositories"]
        assert repositories["totalCount"] == 5
        assert len(repositories["nodes"]) <= 2
        seen += repositories["nodes"]
        if not repositories["pageInfo"]["hasNextPage"]:
            break
        after = repositories["pageInfo"]["endCursor"]
    names = [node["name"] for node in seen]
    assert names == sorted(world.orgs["acme"])

    nodes = {node["name"]: node for node in seen}
    api = nodes["orb-api"]
    repo = world.orgs["acme"]["orb-api"]
    commit = world.store.commit(repo.head or "")
    assert commit is not None
    assert api["id"] == node_id("Repository", repo.id) and api["databaseId"] == repo.id
    assert api["nameWithOwner"] == "acme/orb-api" and api["visibility"] == "PRIVATE"
    assert api["url"] == f"{sandbox.urls.base}/github-html/acme/orb-api"
    assert api["defaultBranchRef"]["name"] == "main"
    assert api["defaultBranchRef"]["target"]["oid"] == repo.head
    assert api["defaultBranchRef"]["target"]["tree"]["oid"] == commit.tree
    assert datetime.fromisoformat(api["pushedAt"]) <= datetime.now(UTC)

    assert nodes["orb-archived"]["isArchived"] is True
    assert nodes["orb-archived"]["repositoryTopics"]["nodes"] == [{"topic": {"name": "legacy"}}]
    fork = nodes["tools-internal"]
    assert fork["isFork"] is True and fork["visibility"] == "INTERNAL"
    assert fork["defaultBranchRef"]["name"] == "trunk"
    assert fork["defaultBranchRef"]["target"]["oid"] == world.resolve(
        world.orgs["acme"]["tools-internal"], "trunk"
    )
    empty = nodes["orb-empty"]
    assert empty["isEmpty"] is True and empty["defaultBranchRef"] is None


def test_filters_order_and_edges(sandbox: SandboxServer) -> None:
    def names(**variables: Any) -> list[str]:
        answer = data(sandbox, FILTERED_REPOSITORIES, org="acme", **variables)
        repositories = answer["organization"]["repositories"]
        edges = repositories["edges"]
        assert repositories["totalCount"] == len(edges)
        assert repositories["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        return [edge["node"]["name"] for edge in edges]

    everything = ["orb-api", "orb-archived", "orb-empty", "orb-no-pipfile", "tools-internal"]
    assert names(orderBy={"field": "NAME", "direction": "DESC"}) == everything[::-1]
    assert names(isFork=True) == ["tools-internal"]
    assert sorted(names(isArchived=False)) == [n for n in everything if n != "orb-archived"]


def test_batched_pipfiles_are_the_worlds_git_objects(
    sandbox: SandboxServer, world: World, fleet_dir: Path
) -> None:
    answer = data(
        sandbox, READ_PIPFILES, owner="acme", r0="orb-api", r1="tools-internal", r2="orb-archived"
    )
    for alias, name in (("r0", "orb-api"), ("r1", "tools-internal"), ("r2", "orb-archived")):
        snapshot = answer[alias]
        repo = world.orgs["acme"][name]
        pipfile_bytes = (fleet_dir / "github/acme" / name / "Pipfile").read_bytes()
        assert snapshot["nameWithOwner"] == f"acme/{name}" and snapshot["isEmpty"] is False
        assert snapshot["defaultBranchRef"]["target"] == {"__typename": "Commit", "oid": repo.head}
        assert snapshot["pipfile"] == {
            "__typename": "Blob",
            "oid": git_blob_sha(pipfile_bytes),
            "byteSize": len(pipfile_bytes),
            "isBinary": False,
            "isTruncated": False,
            "text": pipfile_bytes.decode(),
        }
    assert answer["r1"]["defaultBranchRef"]["name"] == "trunk"  # HEAD is the default branch
    assert answer["r1"]["lock"] is None and answer["r2"]["root"]["entries"][0]["name"] == "Pipfile"

    api = answer["r0"]
    repo = world.orgs["acme"]["orb-api"]
    commit = world.store.commit(repo.head or "")
    assert commit is not None and api["root"]["oid"] == commit.tree
    lock_bytes = (fleet_dir / "github/acme/orb-api/Pipfile.lock").read_bytes()
    assert api["lock"] == {
        "oid": git_blob_sha(lock_bytes),
        "byteSize": len(lock_bytes),
        "isTruncated": False,
    }
    root = by_name(api["root"]["entries"])
    assert list(root) == ["Pipfile", "Pipfile.lock", "README.md", "services"]
    assert root["Pipfile"]["mode"] == 0o100644 and root["Pipfile"]["type"] == "blob"
    assert root["Pipfile"]["object"] == {
        "oid": api["pipfile"]["oid"],
        "byteSize": api["pipfile"]["byteSize"],
    }
    services = root["services"]
    assert (services["type"], services["mode"], services["path"]) == ("tree", 0o40000, "services")
    entry = world.store.entry_at(commit.tree, "services")
    assert entry is not None and services["oid"] == entry.sha
    worker = by_name(services["object"]["entries"])["worker"]
    assert (worker["path"], worker["type"], worker["object"]) == ("services/worker", "tree", {})


def test_nested_pipfile_by_tree_entries_and_by_oid(
    sandbox: SandboxServer, world: World, fleet_dir: Path
) -> None:
    worker_bytes = (fleet_dir / "github/acme/orb-api/services/worker/Pipfile").read_bytes()
    folder = data(sandbox, READ_FOLDER, owner="acme", name="orb-api", expression="HEAD:services")
    (worker,) = folder["repository"]["object"]["entries"]
    (pipfile,) = worker["object"]["entries"]
    assert (worker["path"], pipfile["path"]) == ("services/worker", "services/worker/Pipfile")
    assert pipfile["object"]["text"] == worker_bytes.decode()
    assert pipfile["object"]["oid"] == git_blob_sha(worker_bytes)

    def read(name: str = "orb-api", **variables: Any) -> Any:
        answer = data(sandbox, READ_OBJECT, owner="acme", name=name, **variables)
        return answer["repository"]["object"]

    by_branch = read(expression="main:services/worker/Pipfile")
    assert by_branch["oid"] == pipfile["object"]["oid"]
    assert read(oid=by_branch["oid"])["text"] == worker_bytes.decode()
    head = world.orgs["acme"]["orb-api"].head
    commit = read(expression=head)
    assert (commit["__typename"], commit["oid"]) == ("Commit", head)
    assert read(oid=commit["tree"]["oid"])["__typename"] == "Tree"
    assert read(name="tools-internal", expression="trunk:Pipfile")["__typename"] == "Blob"
    assert read(name="tools-internal", expression="main:Pipfile") is None
    assert read(expression="HEAD:services/nope/Pipfile") is None
    assert read(oid="0" * 40) is None
    ancestry = post(sandbox, READ_OBJECT, owner="acme", name="orb-api", expression="HEAD~1:Pipfile")
    assert [error["type"] for error in ancestry.json()["errors"]] == ["SANDBOX_UNSUPPORTED"]


def test_absent_things_are_null_without_errors(sandbox: SandboxServer) -> None:
    answer = data(
        sandbox, READ_PIPFILES, owner="acme", r0="orb-empty", r1="orb-no-pipfile", r2="orb-api"
    )
    empty, no_pipfile = answer["r0"], answer["r1"]
    assert empty["isEmpty"] is True
    assert empty["defaultBranchRef"] is None and empty["pipfile"] is None and empty["root"] is None
    assert no_pipfile["pipfile"] is None
    assert [entry["name"] for entry in no_pipfile["root"]["entries"]] == ["setup.py"]


def test_a_missing_repository_is_null_with_a_not_found_error(sandbox: SandboxServer) -> None:
    response = post(
        sandbox, READ_PIPFILES, owner="acme", r0="orb-api", r1="nope", r2="orb-archived"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["r0"]["nameWithOwner"] == "acme/orb-api"
    assert body["data"]["r1"] is None
    assert body["data"]["r2"]["nameWithOwner"] == "acme/orb-archived"
    assert body["errors"] == [
        {
            "type": "NOT_FOUND",
            "path": ["r1"],
            "locations": [location_of(READ_PIPFILES, "r1: repository")],
            "message": "Could not resolve to a Repository with the name 'acme/nope'.",
        }
    ]


INVALID_QUERIES = {
    "undefinedField": (
        '{ repository(owner: "acme", name: "orb-api") { name stars } }',
        {
            "path": ["query", "repository", "stars"],
            "extensions": {
                "code": "undefinedField",
                "typeName": "Repository",
                "fieldName": "stars",
            },
            "locations": [{"line": 1, "column": 53}],
            "message": "Field 'stars' doesn't exist on type 'Repository'",
        },
    ),
    "argumentNotAccepted": (
        'query Names { organization(login: "acme") { repositories(first: 5, sort: NAME) { totalCount } } }',
        {
            "path": ["query Names", "organization", "repositories"],
            "extensions": {
                "code": "argumentNotAccepted",
                "name": "repositories",
                "typeName": "Field",
                "argumentName": "sort",
            },
            "locations": [{"line": 1, "column": 68}],
            "message": "Field 'repositories' doesn't accept argument 'sort'",
        },
    ),
    "missingRequiredArguments": (
        '{ repository(name: "orb-api") { name } }',
        {
            "path": ["query", "repository"],
            "extensions": {
                "code": "missingRequiredArguments",
                "className": "Field",
                "name": "repository",
                "arguments": "owner",
            },
            "locations": [{"line": 1, "column": 3}],
            "message": "Field 'repository' is missing required arguments: owner",
        },
    ),
}


@pytest.mark.parametrize("code", INVALID_QUERIES)
def test_an_invalid_query_gets_githubs_validation_error_and_no_data(
    sandbox: SandboxServer, github_schema: graphql.GraphQLSchema, code: str
) -> None:
    query, error = INVALID_QUERIES[code]
    assert graphql.validate(github_schema, graphql.parse(query)) != []
    response = post(sandbox, query)
    assert response.status_code == 200
    assert response.json() == {"errors": [error]}


def test_listing_needs_a_page_size_of_at_most_100(sandbox: SandboxServer) -> None:
    missing = post(sandbox, PAGE_OF, org="acme").json()
    assert missing["data"] == {"organization": None}
    assert missing["errors"] == [
        {
            "type": "MISSING_PAGINATION_BOUNDARIES",
            "path": ["organization", "repositories"],
            "locations": [location_of(PAGE_OF, "repositories(")],
            "message": "You must provide a `first` or `last` value to properly paginate the `repositories` connection.",
        }
    ]
    excessive = post(sandbox, PAGE_OF, org="acme", first=101).json()
    assert [error["type"] for error in excessive["errors"]] == ["EXCESSIVE_PAGINATION"]
    assert excessive["errors"][0]["message"] == (
        "Requesting 101 records on the `repositories` connection exceeds the `first` limit of 100 records."
    )
    bad_cursor = post(sandbox, LIST_REPOSITORIES, org="acme", first=2, after="bogus").json()
    assert bad_cursor["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"
    assert bad_cursor["errors"][0]["message"] == "`bogus` does not appear to be a valid cursor."
    counted = data(sandbox, COUNT_REPOSITORIES, org="acme")
    assert counted == {"organization": {"repositories": {"totalCount": 5}}}


def test_binary_and_large_blobs_have_no_text(sandbox: SandboxServer, world: World) -> None:
    mib = 1024 * 1024
    files = {
        "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "late-nul.txt": b"x" * 8000 + b"\0",  # git looks for NUL in the first 8000 bytes only
        "one-mib.txt": b"a" * mib,
        "huge.lock": b"b" * (mib + 1),
    }
    with world.lock:
        world.commit_changes(world.orgs["acme"]["orb-api"], "main", dict(files), "Add blobs")

    def blob(path: str) -> Any:
        answer = data(sandbox, READ_OBJECT, owner="acme", name="orb-api", expression=f"HEAD:{path}")
        return answer["repository"]["object"]

    sizes = {path: len(content) for path, content in files.items()}
    logo = blob("logo.png")
    assert (logo["isBinary"], logo["isTruncated"], logo["text"]) == (True, False, None)
    assert logo["byteSize"] == sizes["logo.png"] and logo["oid"] == git_blob_sha(files["logo.png"])
    assert blob("late-nul.txt")["text"] == files["late-nul.txt"].decode()
    one_mib = blob("one-mib.txt")
    assert (one_mib["isTruncated"], len(one_mib["text"])) == (False, mib)
    huge = blob("huge.lock")
    assert (huge["isBinary"], huge["isTruncated"], huge["text"]) == (False, True, None)
    assert huge["byteSize"] == mib + 1


def test_a_bad_token_gets_401_and_bad_json_gets_400(sandbox: SandboxServer) -> None:
    response = post(sandbox, RATE_LIMIT, token="not-a-token")
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"
    response = httpx.post(
        sandbox.urls.graphql, content=b"{query", headers={"Authorization": f"bearer {TOKEN}"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Problems parsing JSON",
        "documentation_url": "https://docs.github.com/graphql",
    }


def test_rate_limit_reports_and_charges_each_querys_cost(
    sandbox: SandboxServer, world: World
) -> None:
    def reading() -> dict[str, Any]:
        response = post(sandbox, RATE_LIMIT)
        body = response.json()["data"]
        assert body["viewer"] == {"login": "pipfleet-sandbox-bot"}
        assert response.headers["x-ratelimit-resource"] == "graphql"
        assert response.headers["x-ratelimit-used"] == str(body["rateLimit"]["used"])
        rate_limit: dict[str, Any] = body["rateLimit"]
        return rate_limit

    first = reading()
    assert first["limit"] == 5000 and first["cost"] == 1 and first["nodeCount"] == 0
    assert first["used"] + first["remaining"] == 5000
    assert datetime.fromisoformat(first["resetAt"]) > datetime.now(UTC)
    second = reading()
    assert second["remaining"] == first["remaining"] - 1

    wide = data(sandbox, WIDE_LISTING, org="acme")
    assert wide["rateLimit"] == {"cost": 2, "nodeCount": 2 * (100 + 100 * 10)}
    third = reading()
    assert third["used"] == second["used"] + 2 + 1
    assert world.rate_used["graphql"] == third["used"]
