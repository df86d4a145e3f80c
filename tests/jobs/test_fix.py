"""The fix pull request lifecycle against the sandbox, its control endpoints playing the humans."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import httpx
import pytest
from tests.conftest import cache_home
from tests.gfm import code_spans
from tests.jobs.provenance import (
    PROVENANCE_PIPFILE,
    asset_hashes,
    plant_provenance,
    provenance_lock,
)

from pipfleet.config import Settings, parse_settings
from pipfleet.engine.lockfile import HashScheme, pipfile_hash
from pipfleet.engine.prbody import fingerprint_in
from pipfleet.errors import StoreError
from pipfleet.jobs.fix import FixSummary
from pipfleet.jobs.setup import fix_fleet, scan_fleet
from pipfleet.safetext import printable
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import PullRequest, Repository, World

BRANCH = "pipfleet/codeartifact-index"
PINNED_API = (
    '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
    '[packages]\nrequests = "*"\n'
)


@pytest.fixture
def settings(sandbox: SandboxServer, world: World, tmp_path: Path) -> Settings:
    data = tomllib.loads(config_text(sandbox.urls, world, "acme"))
    data["github"]["write_pause"] = 0.0
    data["fix"] = {"labels": ["dependencies", "security"], "max_wait": 5.0}
    env = {
        **cache_home(),
        "GITHUB_TOKEN": "sandbox-token",
        "PIPFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    return parse_settings(data, env)


def writes(sandbox: SandboxServer) -> int:
    document = httpx.get(sandbox.urls.control + "/counters").json()
    httpx.post(sandbox.urls.control + "/counters/reset")
    return int(document["github"]["writes"])


def api_repo(world: World) -> Repository:
    repo = world.repository("acme", "orb-api")
    assert repo is not None
    return repo


def only_pull(world: World) -> PullRequest:
    (pull,) = api_repo(world).pulls.values()
    return pull


def actions(summary: FixSummary) -> dict[str, str]:
    return {outcome.repository: outcome.action for outcome in summary.outcomes}


def push(sandbox: SandboxServer, files: dict[str, str | None]) -> None:
    answer = httpx.post(sandbox.urls.control + "/repos/acme/orb-api/commits", json={"files": files})
    assert answer.status_code == 201


def scan_and_fix(settings: Settings, **options: object) -> FixSummary:
    scan_fleet(settings)
    return fix_fleet(settings, **options)  # type: ignore[arg-type]


def test_opens_one_pull_request_then_nothing_more(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    scan_fleet(settings)
    writes(sandbox)
    first = fix_fleet(settings)
    assert actions(first) == {"acme/orb-api": "open"}
    assert writes(sandbox) == first.writes == 5  # tree, commit, ref, pull request, labels
    pull = only_pull(world)
    assert (pull.head, pull.base, pull.title) == (BRANCH, "main", settings.fix.title)
    assert api_repo(world).labels[pull.number] == ["dependencies", "security"]
    assert fingerprint_in(pull.body) == first.outcomes[0].fix.fingerprint  # type: ignore[union-attr]
    assert "`Pipfile.lock` untouched" in pull.body  # the fixture's lock was already stale
    # The body's commands name the configured CodeArtifact, and the opt-outs this run honours.
    ca = settings.codeartifact
    assert f"--domain {ca.domain} --domain-owner {ca.domain_owner} --region {ca.region}" in (
        pull.body
    )
    assert f"the topic `{settings.github.opt_out_topic}`" in pull.body
    assert "## The rule" in pull.body  # no fix.guide_url: the body carries the guide's rule
    pinned = world.file_at(api_repo(world), BRANCH, "Pipfile") or b""
    assert b'orb-common = {version = "==2.1.0", index = "codeartifact"}' in pinned
    worker = world.file_at(api_repo(world), BRANCH, "services/worker/Pipfile") or b""
    assert b'[[source]]\nname = "codeartifact"' in worker
    assert world.file_at(api_repo(world), BRANCH, "Pipfile.lock") == world.file_at(
        api_repo(world), "main", "Pipfile.lock"
    )
    again = fix_fleet(settings)
    routes = {r["route"] for r in httpx.get(sandbox.urls.control + "/counters").json()["requests"]}
    assert not any("/pulls/" in route for route in routes)  # PR states came in one GraphQL query
    assert "/github/graphql" in routes
    assert actions(again) == {"acme/orb-api": "nothing"} and writes(sandbox) == 0


def test_merge_is_recorded_and_the_next_scan_is_compliant(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    scan_and_fix(settings)
    number = only_pull(world).number
    assert (
        httpx.post(sandbox.urls.control + f"/repos/acme/orb-api/pulls/{number}/merge").status_code
        == 200
    )
    summary = scan_and_fix(settings)
    assert actions(summary) == {"acme/orb-api": "none-needed"}  # the merge was noticed
    rows = _sql(settings, "SELECT state FROM pull_requests")
    assert rows == [("merged",)]
    latest = _sql(
        settings, "SELECT compliant FROM v_repository_latest WHERE full_name = 'acme/orb-api'"
    )
    assert latest == [(1,)]


def test_declined_pull_request_is_never_reopened(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    scan_and_fix(settings)
    number = only_pull(world).number
    httpx.post(sandbox.urls.control + f"/repos/acme/orb-api/pulls/{number}/close")
    writes(sandbox)
    summary = scan_and_fix(settings)
    assert actions(summary) == {"acme/orb-api": "declined"} and writes(sandbox) == 0
    assert len(api_repo(world).pulls) == 1
    push(sandbox, {"README.md": "# moved on\n"})  # unrelated change: same fix, still declined
    assert actions(scan_and_fix(settings)) == {"acme/orb-api": "declined"}


def test_changed_files_rebuild_the_branch_with_a_comment(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    scan_and_fix(settings)
    pull = only_pull(world)
    before = pull.body
    api = (world.file_at(api_repo(world), "main", "Pipfile") or b"").decode()
    push(sandbox, {"Pipfile": api + "orb-events = '*'\n"})
    scan_fleet(settings)
    writes(sandbox)
    summary = fix_fleet(settings)
    assert actions(summary) == {"acme/orb-api": "update"}
    assert writes(sandbox) == 5  # tree, commit, ref (force), pull request, comment
    assert pull.body != before and len(api_repo(world).pulls) == 1
    branch = (world.file_at(api_repo(world), BRANCH, "Pipfile") or b"").decode()
    assert "orb-events = {version = '*', index = 'codeartifact'}" in branch  # its own quotes
    (comment,) = api_repo(world).comments[pull.number]
    assert "rebuilt this branch" in comment.body


def test_fixed_on_the_default_branch_closes_ours(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    scan_and_fix(settings)
    pull = only_pull(world)
    fixed = {
        "Pipfile": (world.file_at(api_repo(world), BRANCH, "Pipfile") or b"").decode(),
        "services/worker/Pipfile": (
            world.file_at(api_repo(world), BRANCH, "services/worker/Pipfile") or b""
        ).decode(),
    }
    push(sandbox, fixed)
    summary = scan_and_fix(settings)
    assert actions(summary) == {"acme/orb-api": "close"}
    assert pull.state == "closed" and not pull.merged
    assert f"heads/{BRANCH}" not in api_repo(world).refs
    assert "no longer needs this change" in api_repo(world).comments[pull.number][0].body
    assert _sql(settings, "SELECT state FROM pull_requests") == [("closed",)]


def test_a_run_that_died_before_the_pull_request_is_completed(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    scan_fleet(settings)
    httpx.post(
        sandbox.urls.control + "/faults", json={"route": "/pulls$", "method": "POST", "status": 403}
    )
    died = fix_fleet(settings)
    assert actions(died) == {"acme/orb-api": "failed"}
    assert f"heads/{BRANCH}" in api_repo(world).refs and not api_repo(world).pulls
    assert _sql(settings, "SELECT state, number FROM pull_requests") == [("pending", None)]
    writes(sandbox)
    resumed = fix_fleet(settings)
    assert actions(resumed) == {"acme/orb-api": "open"} and len(api_repo(world).pulls) == 1
    assert writes(sandbox) == 6  # the branch existed (422), so it was moved (force) instead


def test_a_pull_request_opened_before_the_record_is_adopted(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    scan_fleet(settings)
    httpx.post(sandbox.urls.control + "/faults", json={"route": "/labels$", "status": 403})
    fix_fleet(settings)  # opened, then died labelling: the record never heard the number
    _sql(settings, "UPDATE pull_requests SET state = 'pending', number = NULL")
    summary = fix_fleet(settings)
    # Found by the fingerprint in its body, adopted and labelled: nothing opened twice.
    assert actions(summary) == {"acme/orb-api": "nothing"} and len(api_repo(world).pulls) == 1
    assert _sql(settings, "SELECT state, number FROM pull_requests") == [
        ("open", only_pull(world).number)
    ]
    assert api_repo(world).labels[only_pull(world).number] == ["dependencies", "security"]


def test_opt_outs_dry_run_and_limits(
    sandbox: SandboxServer, world: World, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    scan_fleet(settings)
    writes(sandbox)
    dry = fix_fleet(settings, dry_run=True)
    assert actions(dry) == {"acme/orb-api": "open"} and writes(sandbox) == 0
    assert "+orb-common = {version" in dry.outcomes[0].fix.changes[0].diff  # type: ignore[union-attr]
    assert not api_repo(world).pulls
    assert actions(fix_fleet(settings, max_prs=0)) == {"acme/orb-api": "deferred"}
    api_repo(world).topics.append("pipfleet-ignore")
    assert actions(fix_fleet(settings)) == {"acme/orb-api": "opted-out"}
    api_repo(world).topics.clear()
    push(sandbox, {".pipfleet.toml": "enabled = false\n"})
    assert actions(fix_fleet(settings))["acme/orb-api"] == "opted-out"
    assert not api_repo(world).pulls and writes(sandbox) == 0


def test_rate_limits_are_waited_out_or_stop_the_run(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    scan_fleet(settings)
    control = sandbox.urls.control + "/faults"
    httpx.post(control, json={"route": "/git/trees$", "status": 429, "retry_after": 1})
    assert actions(fix_fleet(settings)) == {"acme/orb-api": "open"}
    httpx.post(sandbox.urls.control + f"/repos/acme/orb-api/pulls/{only_pull(world).number}/close")
    _sql(settings, "UPDATE pull_requests SET state = 'merged'")  # let a new one be opened
    httpx.post(control, json={"route": "/git/trees$", "status": 429, "retry_after": 3600})
    stopped = fix_fleet(settings)
    assert actions(stopped) == {"acme/orb-api": "deferred"}
    assert stopped.stopped is not None and "rate limit" in stopped.stopped


def test_fix_needs_a_scan_first(settings: Settings) -> None:
    with pytest.raises(StoreError, match="run `pipfleet scan` first"):
        fix_fleet(settings)


def _sql(settings: Settings, query: str) -> list[tuple[object, ...]]:
    from sqlalchemy import text

    from pipfleet.store.db import make_engine

    with make_engine(settings.database.url).begin() as connection:
        result = connection.execute(text(query))
        return [tuple(row) for row in result] if result.returns_rows else []


def test_pull_request_body_is_not_a_secret_carrier(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    scan_and_fix(settings)
    body = only_pull(world).body
    assert "sandbox-token" not in body
    for token in world.codeartifact_tokens:
        assert token not in body
    # Printable text only: no control or bidi character a reviewer could be misled by.
    assert body == printable(body, multiline=True)


def test_lock_provenance_fixes_replace_foreign_hashes_and_add_private_dependencies(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    plant_provenance(world)
    scan_and_fix(settings)
    shop, feed = world.repository("acme", "orb-shop"), world.repository("acme", "orb-feed")
    assert shop is not None and feed is not None
    added = 'orb-api = {version = "==1.3.0", index = "codeartifact"}\n'
    listed = added + 'orb-common = {version = "*", index = "codeartifact"}\n'
    expected_pipfile = PROVENANCE_PIPFILE.replace(added, listed)
    for repo in (shop, feed):
        assert (world.file_at(repo, BRANCH, "Pipfile") or b"").decode() == expected_pipfile

    # orb-shop's lock: orb-http gets CodeArtifact's files, the hash follows the Pipfile,
    # and nothing else in it moves.
    before = json.loads(provenance_lock(world))
    after = json.loads(world.file_at(shop, BRANCH, "Pipfile.lock") or b"")
    assert after["default"]["orb-http"]["hashes"] == asset_hashes(world, "orb-http", "2.5.1")
    assert after["_meta"]["hash"]["sha256"] == pipfile_hash(
        tomllib.loads(expected_pipfile), HashScheme.LEGACY
    )
    for lock in (before, after):
        del lock["default"]["orb-http"]["hashes"], lock["_meta"]["hash"]
    assert after == before
    assert world.file_at(feed, BRANCH, "Pipfile.lock") is None

    # Text from repositories is in code spans, readable as written in the raw body too.
    shop_body, feed_body = (
        pull.body or "" for (pull,) in (shop.pulls.values(), feed.pulls.values())
    )
    assert shop_body.startswith("## Security")
    assert "orb-http==2.5.1" in code_spans(shop_body.split("## Why")[0])
    assert "| `orb-http` | `==2.5.1`: 1 hash(es), 1 not CodeArtifact's" in shop_body
    assert "| `orb-common` | *not listed* |" in shop_body
    assert "## Security" not in feed_body and "| `orb-common` | *not listed* |" in feed_body
    head = world.resolve(shop, BRANCH)
    assert head is not None
    message = world.store.commit(head).message  # type: ignore[union-attr]
    assert "Pinned by pipfleet: orb-common (Pipfile)" in message
    assert "CodeArtifact's hashes for: orb-http==2.5.1 (Pipfile.lock)" in message

    writes(sandbox)
    again = scan_and_fix(settings)
    assert {actions(again)[name] for name in ("acme/orb-shop", "acme/orb-feed")} == {"nothing"}
    assert writes(sandbox) == 0
