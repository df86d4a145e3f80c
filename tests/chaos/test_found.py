"""What the chaos runs found, pinned down: one fault at one place, deterministic.

Each was first seen in a chaos or soak run (tests/chaos/test_chaos.py, bench/chaos.py) and
is replayed here against a small sandbox fleet with ``pipfleet run`` as a subprocess.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.chaos.harness import (
    ChaosConfig,
    Site,
    act,
    blob_text,
    bot_pulls,
    changed_pipfile,
    make_site,
    pull_files,
    write_fleet,
)

from pipfleet.sandbox.world import Fault, Repository

pytestmark = pytest.mark.chaos


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    fleet, _ = write_fleet(tmp_path, ChaosConfig(repos=10, seed=3, hostile=False))
    made = make_site("chaos", fleet, tmp_path / "site")
    uvicorn_log = logging.getLogger("uvicorn.error")  # a dropped connection is on purpose
    level = uvicorn_log.level
    uvicorn_log.setLevel(logging.CRITICAL)
    try:
        yield made
    finally:
        made.server.__exit__(None, None, None)
        uvicorn_log.setLevel(level)


def plant(site: Site, fault: Fault) -> None:
    with site.world.lock:
        site.world.faults.append(fault)


def closing_comments(site: Site, name: str, number: int) -> list[str]:
    with site.world.lock:
        repo = site.world.repository("acme", name)
        assert repo is not None
        return [c.body for c in repo.comments.get(number, []) if "no longer needs" in c.body]


def fixed_by_hand(site: Site) -> tuple[str, int]:
    """The first open pull request's change pushed to its default branch by a maintainer."""
    repo, pull = bot_pulls(site.world)[0]
    files = pull_files(site.world, repo, pull)
    texts = {path: blob_text(site.world, blob) for path, blob in files.items()}
    act(site, "fix-by-hand", repo.name, pull.number, files, texts, None, 1)
    return repo.name, pull.number


def test_an_empty_200_to_the_closing_comment_is_not_taken_for_a_comment(site: Site) -> None:
    assert site.run("clean").returncode == 0
    name, number = fixed_by_hand(site)
    plant(site, Fault(route="/issues/[0-9]+/comments$", method="POST", status=200, body=""))
    site.run("faulty")
    site.run("clean")
    comments = closing_comments(site, name, number)
    assert len(comments) == 1, f"{name}#{number} has {len(comments)} closing comments"


def test_a_closing_comment_whose_answer_was_lost_is_not_posted_twice(site: Site) -> None:
    assert site.run("clean").returncode == 0
    name, number = fixed_by_hand(site)
    # GitHub made the comment, then answered 502: a retry must not comment again.
    plant(site, Fault(route="/issues/[0-9]+/comments$", method="POST", status=502, after=True))
    site.run("faulty")
    site.run("clean")
    comments = closing_comments(site, name, number)
    assert len(comments) == 1, f"{name}#{number} has {len(comments)} closing comments"


def test_a_pull_request_opened_before_a_lost_answer_and_closed_by_a_human_stays_declined(
    site: Site,
) -> None:
    # GitHub opened the pull request, the answer never came back (as with a SIGKILL right
    # after the request): the record stays pending, without a number.
    plant(site, Fault(route="/pulls$", method="POST", drop=True, after=True))
    site.run("faulty")
    repo, pull = bot_pulls(site.world)[0]
    declined = pull_files(site.world, repo, pull)
    answer = httpx.post(f"{site.control}/repos/acme/{repo.name}/pulls/{pull.number}/close")
    assert answer.status_code == 200
    assert site.run("clean").returncode == 0
    with site.world.lock:
        again = [
            p.number
            for p in repo.pulls.values()
            if p.number != pull.number and pull_files(site.world, repo, p) == declined
        ]
    assert again == [], (
        f"{repo.name}: the change a human closed in #{pull.number} is proposed again"
    )


def test_a_merged_pull_request_keeps_its_files_when_its_branch_name_is_reused(
    site: Site,
) -> None:
    # The soak's intermittent "different Pipfile, no Pipfile.lock" in an old pull request:
    # after a lost answer the bot looks for its pull request by branch, which reads the
    # old one too; reading it must not give it the new pull request's commit.
    assert site.run("clean").returncode == 0
    private = site.world.internal_names()

    def new_need(repo: Repository) -> dict[str, str | None] | None:
        with site.world.lock:
            main = site.world.file_at(repo, repo.default_branch, "Pipfile") or b""
        return changed_pipfile(random.Random(1), {"Pipfile": main.decode()}, private)

    repo, pull = next((r, p) for r, p in bot_pulls(site.world) if new_need(r) is not None)
    change = new_need(repo)
    merged = pull_files(site.world, repo, pull)
    texts = {path: blob_text(site.world, blob) for path, blob in merged.items()}
    act(site, "merge", repo.name, pull.number, merged, texts, None, 2)  # branch deleted
    act(site, "change", repo.name, 0, {}, {}, change, 2)
    plant(site, Fault(route="/pulls$", method="POST", drop=True, after=True))
    site.run("faulty")
    assert site.run("clean").returncode == 0

    with site.world.lock:
        newer = [p for p in repo.pulls.values() if p.number > pull.number]
        assert [p.head for p in newer] == [pull.head]  # the same branch name, reused
        assert pull_files(site.world, repo, pull) == merged
