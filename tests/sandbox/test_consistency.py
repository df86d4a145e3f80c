"""GraphQL and REST describe the same generated fleet the same way."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from github import Auth, Github

from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.makefleet import make_fleet
from pipfleet.sandbox.server import SandboxServer

QUERY = """
query($org: String!, $after: String) {
  organization(login: $org) {
    repositories(first: 50, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        name isArchived isFork isDisabled visibility
        repositoryTopics(first: 20) { nodes { topic { name } } }
        defaultBranchRef { name target { oid ... on Commit { tree { oid } } } }
        pipfile: object(expression: "HEAD:Pipfile") { ... on Blob { oid text } }
        tree: object(expression: "HEAD:") { ... on Tree { entries { name type oid } } }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    folder: Path = tmp_path_factory.mktemp("fleet") / "fleet"
    make_fleet(folder, 30, seed=11)
    with SandboxServer(load_fleet(folder)) as server:
        yield server


def _graphql_repositories(server: SandboxServer) -> dict[str, dict]:
    nodes: dict[str, dict] = {}
    after = None
    while True:
        answer = httpx.post(
            server.urls.graphql,
            json={"query": QUERY, "variables": {"org": "acme", "after": after}},
            headers={"Authorization": "bearer sandbox-token"},
        ).json()
        assert "errors" not in answer, answer
        connection = answer["data"]["organization"]["repositories"]
        nodes.update({node["name"]: node for node in connection["nodes"]})
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]


def test_graphql_matches_rest_for_every_repository(generated: SandboxServer) -> None:
    github = Github(
        base_url=generated.urls.github_api,
        auth=Auth.Token("sandbox-token"),
        per_page=100,
        retry=0,
        seconds_between_requests=0,
    )
    graphql = _graphql_repositories(generated)
    rest = list(github.get_organization("acme").get_repos())
    assert sorted(graphql) == sorted(repo.name for repo in rest) and len(rest) == 30
    with_pipfile = 0
    for repo in rest:
        node = graphql[repo.name]
        if node["isDisabled"]:  # GitHub answers 403 for a disabled repository's content
            continue
        assert (node["isArchived"], node["isFork"]) == (repo.archived, repo.fork)
        assert node["visibility"].lower() == repo.visibility
        assert [t["topic"]["name"] for t in node["repositoryTopics"]["nodes"]] == repo.topics
        branch = node["defaultBranchRef"]
        assert branch["name"] == repo.default_branch
        head = repo.get_branch(repo.default_branch).commit
        assert branch["target"]["oid"] == head.sha
        assert branch["target"]["tree"]["oid"] == head.commit.tree.sha
        rest_tree = repo.get_git_tree(head.sha)
        assert sorted((e.path, e.type, e.sha) for e in rest_tree.tree) == sorted(
            (e["name"], e["type"], e["oid"]) for e in node["tree"]["entries"]
        )
        root_names = {e.path for e in rest_tree.tree}
        if "Pipfile" in root_names:
            with_pipfile += 1
            content = repo.get_contents("Pipfile")
            assert not isinstance(content, list)
            assert node["pipfile"]["oid"] == content.sha
            assert node["pipfile"]["text"] == base64.b64decode(content.content).decode()
        else:
            assert node["pipfile"] is None
    assert with_pipfile > 10
