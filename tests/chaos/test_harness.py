"""The chaos harness's own judges, on a world built by hand: they must see what they look for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from tests.chaos.harness import (
    ORG,
    FaultLedger,
    RunResult,
    Site,
    Verdicts,
    differences,
    judge_run,
    plant_faults,
    route_regex,
    watch,
)

from pipfleet.sandbox.app import SandboxMiddleware
from pipfleet.sandbox.gitstore import now
from pipfleet.sandbox.world import BOT_LOGIN, Comment, PullRequest, Repository, World

pytestmark = pytest.mark.chaos

NEEDS_FIX = b'[packages]\norb-common = "*"\n'
FIXED = b'[packages]\norb-common = {version = "*", index = "codeartifact"}\n'


def site_with_pull(tmp_path: Path) -> tuple[Site, Repository, PullRequest]:
    world = World()
    repo = world.add_repository(ORG, "orb-api", {"Pipfile": NEEDS_FIX})
    repo.refs["heads/pipfleet/fix"] = repo.refs["heads/main"]  # the branch, from main
    world.commit_changes(repo, "pipfleet/fix", {"Pipfile": FIXED}, "Fix\n")
    moment = now()
    pull = PullRequest(1, 1, "Fix", "body", "pipfleet/fix", "main", BOT_LOGIN, moment, moment)
    pull.head_sha = repo.refs["heads/pipfleet/fix"]
    repo.pulls[1] = pull
    site = Site("chaos", tmp_path, world, None, {}, tmp_path / "c.toml", tmp_path / "db")  # type: ignore[arg-type]
    return site, repo, pull


def result(label: str = "run", code: int = 0, stderr: str = "") -> RunResult:
    return RunResult("chaos", label, code, False, "", stderr, 1.0, 1.0)


def test_a_closure_while_the_default_branch_still_needs_the_fix_is_wrongful(
    tmp_path: Path,
) -> None:
    site, repo, pull = site_with_pull(tmp_path)
    before = watch(site)
    site.world.close_pull(repo, pull)
    verdicts = Verdicts()
    judge_run(site, before, result(), verdicts, "test")
    assert (
        verdicts.wrongful_closures == 1
        and "wrongful closure of orb-api#1" in verdicts.violations[0]
    )


def test_a_closure_after_a_hand_fix_is_rightful(tmp_path: Path) -> None:
    site, repo, pull = site_with_pull(tmp_path)
    before = watch(site)
    site.world.commit_changes(repo, "main", {"Pipfile": FIXED}, "By hand\n")
    site.world.close_pull(repo, pull)
    verdicts = Verdicts()
    judge_run(site, before, result(), verdicts, "test")
    assert (verdicts.wrongful_closures, verdicts.rightful_closures) == (0, 1)
    assert verdicts.violations == []


def test_duplicates_tracebacks_and_undocumented_exits_are_seen(tmp_path: Path) -> None:
    site, repo, pull = site_with_pull(tmp_path)
    before = watch(site)
    moment = now()
    repo.comments[1] = [Comment(i, "same", BOT_LOGIN, moment, moment) for i in (1, 2)]
    site.human_closed[("orb-api", 0)] = before.open_before[("orb-api", 1)]  # closed earlier
    verdicts = Verdicts()
    judge_run(
        site, before, result(code=1, stderr="Traceback (most recent call last):\nX"), verdicts, "t"
    )
    assert verdicts.duplicate_comments == 1
    assert verdicts.duplicate_prs == 1  # the same change a human closed, proposed again
    assert verdicts.tracebacks == 1 and verdicts.bad_exits == 1


def test_differences_name_the_path_and_the_first_differing_character() -> None:
    left = {"orb-api": {"pulls": [{"body": "abc", "state": "open"}]}}
    right = {"orb-api": {"pulls": [{"body": "abd", "state": "closed"}]}}
    lines = differences(left, right)
    assert lines[0].startswith("/orb-api/pulls[0]/body: from character 2")
    assert lines[1] == '/orb-api/pulls[0]/state: from character 0: chaos "open" != oracle "closed"'


def test_faults_follow_the_traffic_and_cover_a_kind_each_turn() -> None:
    import random

    world = World()
    traffic = Counter({("POST", "/github/graphql"): 10, ("POST", "/codeartifact/v1/packages"): 90})
    ledger = FaultLedger()
    plant_faults(random.Random(1), world, traffic, 0.1, 0, ledger)
    # The coverage fault first, then faults at about 10% of each route's expected requests.
    assert world.faults[0].route == "^/github/graphql$" and world.faults[0].drop
    drawn = world.faults[1:]
    assert {f.route for f in drawn} <= {"^/github/graphql$", "^/codeartifact/v1/packages$"}
    assert 3 <= len(drawn) <= 20
    assert route_regex("/github/repos/{owner}/{repo}/pulls") == (
        "^/github/repos/[^/]+/[^/]+/pulls$"
    )
    assert route_regex("/github/repos/{owner}/{repo}/git/refs/{ref:path}") == (
        "^/github/repos/[^/]+/[^/]+/git/refs/.+$"
    )


def test_faults_are_met_at_the_rate_however_early_a_run_stops() -> None:
    import random

    world = World()
    route = "/codeartifact/v1/package/versions"
    plant_faults(random.Random(7), world, Counter({("POST", route): 2000}), 0.1, 1, FaultLedger())
    middleware = SandboxMiddleware(None, world)  # type: ignore[arg-type]
    met = [middleware._take_fault("POST", route) is not None for _ in range(2000)]
    for stop in (100, 500, 2000):  # a run stopped early has met as many as one that did not
        assert 0.04 <= sum(met[:stop]) / stop <= 0.16, (stop, sum(met[:stop]))
