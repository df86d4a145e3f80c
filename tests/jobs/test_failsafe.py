"""Destructive actions need positive evidence: a broken picture never closes a pull request.

Each test opens the fix pull request for orb-api against the sandbox, then breaks the
picture the way an unlucky night would (sandbox faults, a shrunken registry or org) and
checks that nothing pipfleet wrote is undone.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

import httpx
import pytest
from tests.jobs.test_fix import (
    BRANCH,
    actions,
    api_repo,
    only_pull,
    push,
    settings,
    writes,
)

from pipfleet.config import Settings
from pipfleet.errors import GitHubError, ImplausibleChange, RegistryError, SafetyLimit
from pipfleet.jobs import fix as fix_module
from pipfleet.jobs import scan as scan_module
from pipfleet.jobs.setup import fix_fleet, scan_fleet
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import PullRequest, World

__all__ = ["settings"]  # the fixture, shared with the lifecycle tests


def fault(sandbox: SandboxServer, **spec: Any) -> None:
    assert httpx.post(sandbox.urls.control + "/faults", json=spec).status_code == 201


def clear_faults(sandbox: SandboxServer) -> None:
    httpx.delete(sandbox.urls.control + "/faults")


def sql(settings: Settings, query: str) -> list[tuple[Any, ...]]:
    path = settings.database.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute(query).fetchall()


def comments(world: World, pull: PullRequest) -> list[str]:
    return [comment.body for comment in api_repo(world).comments.get(pull.number, [])]


@pytest.fixture
def opened(sandbox: SandboxServer, world: World, settings: Settings) -> PullRequest:
    scan_fleet(settings)
    assert actions(fix_fleet(settings)) == {"acme/orb-api": "open"}
    writes(sandbox)
    return only_pull(world)


def fix_by_hand(sandbox: SandboxServer, world: World) -> None:
    """A maintainer pins the packages on the default branch: the bot's fix is not needed."""
    paths = ("Pipfile", "services/worker/Pipfile")
    push(sandbox, {p: (world.file_at(api_repo(world), BRANCH, p) or b"").decode() for p in paths})


def assert_untouched(world: World, pull: PullRequest) -> None:
    assert pull.state == "open" and not pull.merged
    assert f"heads/{BRANCH}" in api_repo(world).refs
    assert comments(world, pull) == []


@pytest.mark.parametrize(
    ("route", "body"),
    [("/v1/packages$", ""), ("/v1/packages$", "{"), ("/v1/package/versions$", "{}")],
)
def test_a_cut_codeartifact_answer_stops_the_scan_and_closes_nothing(
    sandbox: SandboxServer,
    world: World,
    settings: Settings,
    opened: PullRequest,
    route: str,
    body: str,
) -> None:
    push(sandbox, {"README.md": "# a new head, so the scan reads orb-api again\n"})
    fault(sandbox, route=route, status=200, body=body, count=50)

    with pytest.raises(RegistryError, match="CodeArtifact"):
        scan_fleet(settings)
    summary = fix_fleet(settings)

    assert actions(summary) == {"acme/orb-api": "nothing"}
    assert writes(sandbox) == 0
    assert_untouched(world, opened)


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 200, "body": ""},
        {"status": 200, "body": "{"},
        {"status": 200, "body": '{"data": {"organization": {"repositories": {"nodes": []}}}}'},
        {"drop": True},
    ],
    ids=["empty", "cut", "no-page-info", "dropped"],
)
def test_a_broken_github_answer_fails_the_scan_and_the_fix_refuses_it(
    sandbox: SandboxServer,
    world: World,
    settings: Settings,
    opened: PullRequest,
    spec: dict[str, Any],
) -> None:
    fault(sandbox, route="/graphql$", count=20, **spec)

    with pytest.raises(GitHubError):
        scan_fleet(settings)
    clear_faults(sandbox)

    assert sql(settings, "SELECT status FROM scan_runs ORDER BY id DESC LIMIT 1") == [("failed",)]
    with pytest.raises(SafetyLimit, match=r"latest scan \(run 2\) is failed"):
        fix_fleet(settings)
    assert writes(sandbox) == 0
    assert_untouched(world, opened)


def test_a_listing_that_lost_most_private_packages_stops_unless_accepted(
    sandbox: SandboxServer, world: World, settings: Settings, opened: PullRequest
) -> None:
    for name in ("orb-common", "orb-events"):
        del world.codeartifact.packages[name]

    with pytest.raises(ImplausibleChange, match=r"shrank from 2 \(run 1\) to 0.*--accept-shrink"):
        scan_fleet(settings)

    assert sql(settings, "SELECT status FROM scan_runs ORDER BY id DESC LIMIT 1") == [("failed",)]
    with pytest.raises(SafetyLimit):
        fix_fleet(settings)
    assert_untouched(world, opened)

    scan_fleet(settings, accept_shrink=True)  # a human says the packages really are gone
    assert actions(fix_fleet(settings)) == {"acme/orb-api": "close"}
    assert opened.state == "closed"


def test_a_scan_that_sees_far_fewer_repositories_stops(
    world: World, settings: Settings, opened: PullRequest
) -> None:
    for name in ("orb-archived", "orb-no-pipfile", "orb-empty"):
        del world.orgs["acme"][name]

    with pytest.raises(
        ImplausibleChange, match="GitHub listed 1 matching repositories, down from 4"
    ):
        scan_fleet(settings)

    scan_fleet(settings, accept_shrink=True)
    assert sql(settings, "SELECT status FROM scan_runs ORDER BY id DESC LIMIT 1") == [
        ("completed",)
    ]


def test_closures_past_the_limit_stop_the_run(
    sandbox: SandboxServer, world: World, settings: Settings, opened: PullRequest
) -> None:
    fix_by_hand(sandbox, world)
    scan_fleet(settings)
    strict = dataclasses.replace(
        settings, fix=dataclasses.replace(settings.fix, max_closes_per_run=0)
    )

    summary = fix_fleet(strict)

    assert summary.stopped is not None and "fix.max_closes_per_run (0) reached" in summary.stopped
    assert actions(summary) == {"acme/orb-api": "deferred"}
    assert writes(sandbox) == 0
    assert_untouched(world, opened)
    assert actions(fix_fleet(settings)) == {"acme/orb-api": "close"}  # within the default 10


def test_a_partial_scan_never_drives_a_closure(
    sandbox: SandboxServer, world: World, settings: Settings, opened: PullRequest
) -> None:
    fix_by_hand(sandbox, world)
    one_by_one = dataclasses.replace(
        settings, github=dataclasses.replace(settings.github, graphql_batch=1)
    )
    other = sandbox.urls.control + "/repos/acme/orb-no-pipfile/commits"
    assert httpx.post(other, json={"files": {"README.md": "new\n"}}).status_code == 201
    # Requests: the listing, orb-api's files, its nested Pipfile, then orb-no-pipfile's
    # files, which GitHub fails for that repository alone.
    failed = (
        '{"data": {"r0": null}, "errors": [{"path": ["r0"], "message": "Something went wrong"}]}'
    )
    fault(sandbox, route="/graphql$", status=200, body=failed, skip=3)

    summary = scan_fleet(one_by_one)

    assert (summary.status, summary.failed) == ("partial", 1)
    outcome = fix_fleet(settings).outcomes[0]
    assert (outcome.action, outcome.reason) == (
        "kept",
        "the latest scan was partial: closures wait for a completed one",
    )
    assert writes(sandbox) == 0
    assert_untouched(world, opened)


def test_a_close_that_died_halfway_is_finished_with_one_comment(
    sandbox: SandboxServer, world: World, settings: Settings, opened: PullRequest
) -> None:
    fix_by_hand(sandbox, world)
    scan_fleet(settings)
    fault(sandbox, route=r"/pulls/\d+$", method="PATCH", status=502, count=20)

    assert actions(fix_fleet(settings)) == {"acme/orb-api": "failed"}
    assert opened.state == "open" and len(comments(world, opened)) == 1
    assert sql(settings, "SELECT state FROM pull_requests") == [("closing",)]
    clear_faults(sandbox)

    assert actions(fix_fleet(settings)) == {"acme/orb-api": "close"}
    assert opened.state == "closed" and len(comments(world, opened)) == 1
    assert f"heads/{BRANCH}" not in api_repo(world).refs
    assert sql(settings, "SELECT state FROM pull_requests") == [("closed",)]


def test_a_branch_delete_that_failed_is_retried_on_a_later_run(
    sandbox: SandboxServer, world: World, settings: Settings, opened: PullRequest
) -> None:
    fix_by_hand(sandbox, world)
    scan_fleet(settings)
    fault(sandbox, route="/git/refs/heads/", method="DELETE", status=502, count=20)

    assert actions(fix_fleet(settings)) == {"acme/orb-api": "close"}
    assert opened.state == "closed" and f"heads/{BRANCH}" in api_repo(world).refs
    assert sql(settings, "SELECT state, branch_pending_delete FROM pull_requests") == [
        ("closed", 1)
    ]
    clear_faults(sandbox)

    summary = fix_fleet(settings)

    assert summary.branches_deleted == 1
    assert f"heads/{BRANCH}" not in api_repo(world).refs
    assert sql(settings, "SELECT branch_pending_delete FROM pull_requests") == [(0,)]
    assert len(comments(world, opened)) == 1


def test_an_unexpected_failure_in_one_repository_is_recorded_and_the_scan_goes_on(
    sandbox: SandboxServer, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = scan_module.audit_repository

    def audit(files: Any, *args: Any) -> Any:  # fault injection: a bug that one repo trips
        if files.repo.name == "orb-api":
            raise ZeroDivisionError("division by zero\nsecond line")
        return real(files, *args)

    monkeypatch.setattr(scan_module, "audit_repository", audit)

    summary = scan_fleet(settings)

    assert (summary.status, summary.failed, summary.fetched) == ("partial", 1, 1)
    assert summary.errors == ["acme/orb-api: ZeroDivisionError: division by zero second line"]
    assert sql(settings, "SELECT status FROM scan_runs") == [("partial",)]


def test_an_unexpected_failure_in_one_repository_does_not_stop_the_fix(
    sandbox: SandboxServer, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = world.orgs["acme"]["orb-no-pipfile"]
    world.commit_changes(other, "main", {"Pipfile": b"[packages]\norb-common = '*'\n"}, "add\n")
    scan_fleet(settings)
    real = fix_module.build_fix

    def build(pipfiles: Any, *args: Any) -> Any:  # fault injection: a bug that one repo trips
        if "services/worker/Pipfile" in pipfiles:
            raise KeyError("boom")
        return real(pipfiles, *args)

    monkeypatch.setattr(fix_module, "build_fix", build)

    summary = fix_fleet(settings)

    assert actions(summary) == {"acme/orb-api": "failed", "acme/orb-no-pipfile": "open"}
    assert summary.outcomes[0].reason == "KeyError: 'boom'"
