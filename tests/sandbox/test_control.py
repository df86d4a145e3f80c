from __future__ import annotations

import time

import httpx
import pytest

from pipfleet.sandbox.gitstore import now
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import BOT_LOGIN, PullRequest, World

AUTH = {"Authorization": "token sandbox-token"}


def open_pull(world: World, files: dict[str, bytes | None]) -> PullRequest:
    """A bot branch with ``files`` changed, and an open pull request for it."""
    repo = world.repository("acme", "orb-api")
    assert repo is not None and repo.head is not None
    repo.refs["heads/pipfleet/fix"] = repo.head
    head = world.commit_changes(repo, "pipfleet/fix", files, "Pin\n")
    number = repo.next_number
    repo.next_number += 1
    stamp = now()
    pull = PullRequest(
        world.new_id(),
        number,
        "Pin",
        "",
        "pipfleet/fix",
        "main",
        BOT_LOGIN,
        stamp,
        stamp,
        head_sha=head,
    )
    repo.pulls[number] = pull
    return pull


def test_counters_group_by_route_template_and_reset(sandbox: SandboxServer) -> None:
    urls = sandbox.urls
    for path in ("/repos/acme/orb-api", "/repos/acme/orb-api", "/repos/acme/nope", "/rate_limit"):
        httpx.get(urls.github_api + path, headers=AUTH)
    counts = httpx.get(urls.control + "/counters").json()
    by_route = {(r["method"], r["route"]): r["count"] for r in counts["requests"]}
    assert by_route[("GET", "/github/repos/{owner}/{repo}")] == 3
    assert counts["github"] == {"total": 4, "reads": 4, "writes": 0, "graphql": 0}
    assert httpx.post(urls.control + "/counters/reset").status_code == 204
    assert httpx.get(urls.control + "/counters").json()["total"] == 0


def test_fault_injection_status_count_and_retry_after(sandbox: SandboxServer) -> None:
    urls = sandbox.urls
    fault = {"route": "^/github/rate_limit$", "status": 429, "count": 2, "retry_after": 7}
    assert httpx.post(urls.control + "/faults", json=fault).status_code == 201
    answers = [httpx.get(urls.github_api + "/rate_limit", headers=AUTH) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["retry-after"] == "7"
    assert answers[0].json()["message"] == "Injected fault"
    assert httpx.get(urls.control + "/faults").json() == []


def test_fault_injection_delay_and_dropped_connection(sandbox: SandboxServer) -> None:
    urls = sandbox.urls
    httpx.post(
        urls.control + "/faults",
        json={"route": "orb-api$", "status": 200, "delay": 0.3, "count": 1, "body": "{}"},
    )
    started = time.monotonic()
    httpx.get(urls.github_api + "/repos/acme/orb-api", headers=AUTH)
    assert time.monotonic() - started >= 0.3
    httpx.post(urls.control + "/faults", json={"route": "orb-api$", "drop": True})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(urls.github_api + "/repos/acme/orb-api", headers=AUTH)
    assert httpx.post(urls.control + "/faults", json={"status": 500}).status_code == 422


def test_humans_merge_close_push_and_delete(sandbox: SandboxServer, world: World) -> None:
    control = sandbox.urls.control + "/repos/acme/orb-api"
    pull = open_pull(world, {"Pipfile": b"[packages]\n"})
    pushed = httpx.post(
        control + "/commits", json={"files": {"NOTES.md": "hi\n", "README.md": None}}
    )
    assert pushed.status_code == 201
    merged = httpx.post(control + f"/pulls/{pull.number}/merge")
    assert merged.status_code == 200 and pull.merged and pull.state == "closed"
    repo = world.repository("acme", "orb-api")
    assert repo is not None and repo.head == merged.json()["sha"]
    assert world.file_at(repo, "main", "Pipfile") == b"[packages]\n"
    assert world.file_at(repo, "main", "NOTES.md") == b"hi\n"
    assert world.file_at(repo, "main", "README.md") is None
    assert httpx.post(control + f"/pulls/{pull.number}/merge").status_code == 409
    assert httpx.delete(control + "/branches/pipfleet/fix").status_code == 204
    assert "heads/pipfleet/fix" not in repo.refs
    assert httpx.delete(control + "/branches/pipfleet/fix").status_code == 404


def test_merge_conflict_and_close_unmerged(sandbox: SandboxServer, world: World) -> None:
    control = sandbox.urls.control + "/repos/acme/orb-api"
    pull = open_pull(world, {"Pipfile": b"[packages]\nmine = '*'\n"})
    httpx.post(control + "/commits", json={"files": {"Pipfile": "[packages]\ntheirs = '*'\n"}})
    assert httpx.post(control + f"/pulls/{pull.number}/merge").status_code == 409
    closed = httpx.post(control + f"/pulls/{pull.number}/close")
    assert closed.json() == {"state": "closed", "merged": False} and not pull.merged
