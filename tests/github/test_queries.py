"""Every GraphQL query pipfleet sends validates against GitHub's published schema."""

from __future__ import annotations

import functools
from typing import Any

import graphql
import pytest
from tests.conftest import ROOT

from pipfleet.errors import IncompleteAnswer
from pipfleet.github.queries import (
    LIST_REPOSITORIES,
    blob_read,
    blobs_batch,
    discovery_batch,
    errors_by_alias,
    manifest_layout,
    parse_repositories,
    pulls_batch,
)
from pipfleet.repositories import RepoSummary

SCHEMA = ROOT.parent / "shared" / "reference" / "github-schema.graphql"
REPO = RepoSummary(
    "acme", 'orb-"quoted"', False, False, False, False, "private", "", (), "main", "a" * 40
)


@functools.cache
def github_schema() -> graphql.GraphQLSchema:
    if not SCHEMA.is_file():
        pytest.fail(f"GitHub's GraphQL schema is missing at {SCHEMA}")
    return graphql.build_schema(SCHEMA.read_text(), assume_valid=True, assume_valid_sdl=True)


def assert_valid(query: str) -> None:
    errors = graphql.validate(github_schema(), graphql.parse(query))
    assert errors == [], [e.message for e in errors]


def test_listing_query_is_valid() -> None:
    assert_valid(LIST_REPOSITORIES)


@pytest.mark.parametrize("depth", [0, 1, 3, 5])
def test_discovery_batches_are_valid_and_carry_values_as_variables(depth: int) -> None:
    batch = discovery_batch([REPO, REPO], depth)
    assert_valid(batch.query)
    assert 'orb-"quoted"' not in batch.query and batch.variables["n1"] == 'orb-"quoted"'
    assert batch.variables["p0"] == f"{'a' * 40}:Pipfile"
    assert batch.query.count("entries") == 2 * (depth + 1)  # two repositories, nested depth


def test_pull_request_batches_are_valid() -> None:
    batch = pulls_batch([(REPO, 7), (REPO, 9)])
    assert_valid(batch.query)
    assert batch.variables["p1"] == 9 and batch.paths[("r0", "pull")] == "7"


def test_blob_batches_are_valid() -> None:
    batch = blobs_batch([(REPO, ["a/Pipfile", "a/b/Pipfile"]), (REPO, ["c/Pipfile"])])
    assert_valid(batch.query)
    assert batch.paths[("r0", "f1")] == "a/b/Pipfile" and batch.variables["e1_0"].endswith(
        ":c/Pipfile"
    )


def test_parsing_answers() -> None:
    page = parse_repositories(
        {
            "organization": {
                "repositories": {
                    "totalCount": 2,
                    "pageInfo": {"hasNextPage": True, "endCursor": "c1"},
                    "nodes": [
                        {
                            "name": "orb-a",
                            "nameWithOwner": "acme/orb-a",
                            "isArchived": False,
                            "isFork": True,
                            "isDisabled": False,
                            "isEmpty": False,
                            "visibility": "INTERNAL",
                            "url": "u",
                            "repositoryTopics": {"nodes": [{"topic": {"name": "pipfleet-ignore"}}]},
                            "defaultBranchRef": {"name": "trunk", "target": {"oid": "b" * 40}},
                        },
                    ],
                }
            }
        },
        "acme",
    )
    (repo,) = page.repos
    assert (page.has_next, page.cursor, page.total) == (True, "c1", 2)
    assert (repo.fork, repo.visibility, repo.topics, repo.default_branch) == (
        True,
        "internal",
        ("pipfleet-ignore",),
        "trunk",
    )
    tree = {
        "entries": [
            {"name": "Pipfile", "type": "blob"},
            {"name": "Pipfile.lock", "type": "blob"},
            {
                "name": "svc",
                "type": "tree",
                "object": {
                    "entries": [
                        {"name": "Pipfile", "type": "blob"},
                        {"name": "deep", "type": "tree", "object": None},
                    ]
                },
            },
        ]
    }
    layout = manifest_layout(tree)
    assert (layout.pipfiles, layout.locks) == (
        ["Pipfile", "svc/Pipfile"],
        frozenset({"Pipfile.lock"}),
    )
    assert blob_read("Pipfile", None) is None
    big = blob_read(
        "Pipfile", {"oid": "x", "byteSize": 2_000_000, "isTruncated": True, "text": None}
    )
    assert big is not None and big.too_large and big.truncated
    assert errors_by_alias([{"path": ["r3"], "message": "gone"}, {"message": "whole"}]) == {
        "r3": "gone",
        "": "whole",
    }


GOOD_PAGE: dict[str, Any] = {
    "organization": {
        "repositories": {
            "totalCount": 1,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [{"name": "orb-a", "nameWithOwner": "acme/orb-a"}],
        }
    }
}


@pytest.mark.parametrize(
    "cut",
    [
        {},
        {"organization": None},
        {"organization": {}},
        {"organization": {"repositories": {"nodes": []}}},
        {"organization": {"repositories": {"totalCount": 0, "nodes": []}}},
        {"organization": {"repositories": {"totalCount": 1, "pageInfo": {}, "nodes": []}}},
        {
            "organization": {
                "repositories": {
                    "totalCount": 1,
                    "pageInfo": {"hasNextPage": True},
                    "nodes": [{"name": "orb-a", "nameWithOwner": "acme/orb-a"}],
                }
            }
        },
        {
            "organization": {
                "repositories": {
                    "totalCount": 1,
                    "pageInfo": {"hasNextPage": False},
                    "nodes": [None],
                }
            }
        },
        {
            "organization": {
                "repositories": {
                    "totalCount": 1,
                    "pageInfo": {"hasNextPage": False},
                    "nodes": [{"name": "orb-a"}],
                }
            }
        },
    ],
)
def test_a_cut_repository_page_is_an_error_never_fewer_repositories(cut: dict[str, Any]) -> None:
    assert parse_repositories(GOOD_PAGE, "acme").repos[0].name == "orb-a"

    with pytest.raises(IncompleteAnswer, match="GitHub's answer lacks"):
        parse_repositories(cut, "acme")


def _folder(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"entries": list(entries)}


def _blob(name: str) -> dict[str, Any]:
    return {"name": name, "type": "blob"}


def _tree(name: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "type": "tree", "object": _folder(*entries)}


def test_the_layout_finds_every_manifest_kind_root_first() -> None:
    tree = _folder(
        _blob("pyproject.toml"),
        _blob("uv.lock"),
        _blob("requirements-dev.txt"),
        _blob("constraints.txt"),
        _blob("README.txt"),
        _tree(
            "services",
            _tree("api", _blob("pyproject.toml"), _blob("poetry.lock"), _blob("notes.txt")),
            _tree("worker", _blob("requirements.txt"), _blob("requirements.in")),
        ),
        _tree("requirements", _blob("base.txt"), _blob("prod.txt"), _blob("README.md")),
        _tree("docs", _blob("requirements.txt"), _blob("pyproject.toml.bak")),
    )
    layout = manifest_layout(tree)
    assert layout.pipfiles == []
    assert layout.pyprojects == ["pyproject.toml", "services/api/pyproject.toml"]
    assert layout.locks == frozenset({"uv.lock", "services/api/poetry.lock"})
    assert layout.requirements == [
        "constraints.txt",
        "requirements-dev.txt",
        "docs/requirements.txt",
        "requirements/base.txt",
        "requirements/prod.txt",
        "services/worker/requirements.txt",
    ]
