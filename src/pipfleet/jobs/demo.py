"""The embedded demo: a few nights of the nightly job against a sandbox fleet, on loopback.

It generates a fleet, serves it with the sandbox on a background thread and runs
scan, fix and the dashboard against it exactly as a real run would, night after
night. Between two nights the sandbox's maintainers merge some of pipfleet's pull
requests, decline one and fix one repository by hand, so the dashboard's trend and
pull-request states move as they would over a few real days. The sandbox is stopped
at the end: nothing is left running, and everything written is in one folder, with a
config whose relative database path finds the database from any folder.
"""

from __future__ import annotations

import shutil
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipfleet.config import AwsKeys, Secret, parse_settings
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.listing import Listing, listing_text
from pipfleet.engine.plan import PullAction
from pipfleet.errors import UsageError
from pipfleet.jobs.check import Mode, check_paths
from pipfleet.jobs.fix import FixOutcome
from pipfleet.jobs.nightly import NightlyResult, run_nightly
from pipfleet.jobs.scan import Progress
from pipfleet.sandbox.clientconfig import config_text, environment
from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.maintainers import Maintainers
from pipfleet.sandbox.makefleet import make_fleet
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World
from pipfleet.store.db import make_engine
from pipfleet.store.queries import unfixable_by_kind

DEMO_REPOSITORIES = 46  # about 40 orb-* repositories and a few others
DEMO_SEED = 2026
DEMO_NIGHTS = 3
ORG = "acme"
# Only a folder holding this file is the demo's to delete: `--out .` must not wipe a checkout.
DEMO_MARKER = ".pipfleet-demo"
LISTING = "private-packages.txt"
DATABASE = "pipfleet.db"  # beside the config, which names it relative to its own folder


@dataclass(frozen=True)
class OpenPull:
    repository: str
    number: int
    outcome: FixOutcome  # the night it was opened: its fix and text


@dataclass(frozen=True)
class Day:
    """What the maintainers did between two nights, by repository."""

    merged: tuple[str, ...] = ()
    declined: tuple[str, ...] = ()
    fixed_by_hand: tuple[str, ...] = ()


@dataclass(frozen=True)
class NextStep:
    """A command to try after the demo, from the folder it ran in."""

    purpose: str
    args: tuple[str, ...]  # after the pipfleet command itself
    exit_code: int


@dataclass(frozen=True)
class DemoResult:
    nights: tuple[NightlyResult, ...]
    days: tuple[Day, ...]  # one fewer than nights
    examples: tuple[FixOutcome, ...]  # up to three pull requests opened, with their diffs
    needs_human: Counter[str]  # the last night's findings no pull request can fix, by kind
    still_open: tuple[str, ...]  # repositories whose pull request is open at the end
    next_steps: tuple[NextStep, ...]

    @property
    def nightly(self) -> NightlyResult:
        return self.nights[-1]

    def summary(self) -> list[str]:
        """A few short lines: the trend, what happened to the pull requests, what is left."""
        last = self.nightly.scan
        shares = " → ".join(
            "n/a" if (share := night.scan.compliant_share) is None else f"{share:.0%}"
            for night in self.nights
        )
        opened = sum(night.fix.counts()[PullAction.OPEN] for night in self.nights)
        closed = sum(night.fix.counts()[PullAction.CLOSE] for night in self.nights)
        merged = sum(len(day.merged) for day in self.days)
        declined = sum(len(day.declined) for day in self.days)
        by_hand = sum(len(day.fixed_by_hand) for day in self.days)
        human = ", ".join(f"{count} {kind}" for kind, count in self.needs_human.most_common())
        return [
            f"{len(self.nights)} nights on {last.repositories} repositories "
            f"({last.skipped} skipped, {last.failed} failed); compliant: {shares}.",
            f"Pull requests: {opened} opened; maintainers merged {merged}, declined {declined} "
            f"and fixed {by_hand} by hand ({closed} closed by pipfleet as fixed elsewhere); "
            f"{len(self.still_open)} still open.",
            f"Need a human, no pull request fixes them: {human or 'none'}.",
        ]


def plan_day(open_pulls: Sequence[OpenPull], day: int) -> Day:
    """Who does what to the open pull requests (by repository order) after night ``day``.

    The first day one is declined, one repository is fixed by hand and every other
    remaining one merged; each later day, every other one still open is merged.
    """
    names = sorted(pull.repository for pull in open_pulls)
    if day == 1 and len(names) >= 2:
        return Day(merged=tuple(names[2::2]), declined=(names[0],), fixed_by_hand=(names[1],))
    return Day(merged=tuple(names[::2]))


def _play(people: Maintainers, pulls: dict[str, OpenPull], day: Day) -> Day:
    """Do ``day`` in the sandbox; a merge GitHub refuses (a conflict) is left open."""
    merged = []
    for name in day.merged:
        if people.merge(name, pulls[name].number):
            merged.append(name)
            del pulls[name]
    for name in day.declined:
        people.decline(name, pulls.pop(name).number)
    for name in day.fixed_by_hand:
        fix = pulls.pop(name).outcome.fix
        assert fix is not None  # only pull requests opened with a fix are tracked
        files = {change.path: change.new_text for change in fix.changes}
        people.push(name, files, "Pin private packages to CodeArtifact by hand\n")
    return Day(tuple(merged), day.declined, day.fixed_by_hand)


def _write_listing(world: World, path: Path) -> Listing:
    """The private packages the sandbox's CodeArtifact holds, for `pipfleet check --listing`."""
    packages = world.codeartifact.packages
    listing = Listing({name: frozenset(packages[name].versions) for name in world.internal_names()})
    path.write_text(listing_text(listing, "Written by pipfleet demo: the sandbox's CodeArtifact."))
    return listing


def _next_steps(
    folder: Path,
    config: Path,
    needs_human: Counter[str],
    still_open: Sequence[str],
    listing: Listing,
) -> tuple[NextStep, ...]:
    steps = [NextStep("the last night's state, as tables", ("report", "--config", str(config)), 0)]
    if needs_human:
        kind = needs_human.most_common(1)[0][0]
        steps.append(
            NextStep(
                f"the {kind} findings, which need a human",
                ("report", "--config", str(config), "--kind", kind),
                0,
            )
        )
    # The fleet folder holds the default branches as they were before the first night,
    # which a repository whose pull request is still open has kept: `check` shows what
    # pipfleet found there and the fix it proposes. One it judges as needing action (exit
    # 1) shows best; the exit printed is the one `check` gives, worked out here.
    checks = []
    for repository in still_open:
        owner, name = repository.split("/", 1)
        where = folder / "fleet" / "github" / owner / name
        checked = check_paths([where], listing, AuditOptions(), Mode.DIFF)
        args = ("check", str(where), "--listing", str(folder / LISTING), "--diff")
        checks.append(NextStep(f"{name}'s Pipfile, checked on disk", args, checked.exit_code))
    if checks:
        steps.append(min(checks, key=lambda step: step.exit_code != 1))
    return tuple(steps)


def run_demo(folder: Path, progress: Progress | None = None) -> DemoResult:
    """Generate, serve, run the nights; fleet, config, database and dashboard go in ``folder``."""
    if folder.exists():
        if any(folder.iterdir()) and not (folder / DEMO_MARKER).is_file():
            raise UsageError(
                f"{folder} exists and is not a pipfleet demo folder: the demo replaces its "
                "folder, so name a new or empty one with --out"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / DEMO_MARKER).write_text("made by pipfleet demo: replaced on every demo run\n")
    make_fleet(folder / "fleet", DEMO_REPOSITORIES, seed=DEMO_SEED, org=ORG)
    world = load_fleet(folder / "fleet")
    listing = _write_listing(world, folder / LISTING)
    config = folder / "pipfleet.toml"
    database_url = f"sqlite:///{folder / DATABASE}"
    nights: list[NightlyResult] = []
    days: list[Day] = []
    pulls: dict[str, OpenPull] = {}
    with SandboxServer(world) as server, Maintainers(server.urls.control) as people:
        # The sandbox has no secondary rate limit to respect: no pause between writes.
        text = config_text(
            server.urls, world, ORG, write_pause=0.0, database_url=f"sqlite:///{DATABASE}"
        )
        config.write_text(text)
        # Only the sandbox's credentials and the demo's own cache: nothing of the user's
        # (a token, a PIPFLEET_DATABASE_URL, an App key) reaches the demo's runs.
        environ = {**environment(server.urls, world), "XDG_CACHE_HOME": str(folder / "cache")}
        settings = parse_settings(tomllib.loads(text), environ, config)
        # boto3 reads keys only from the process's environment or files: the sandbox's
        # go to it through the settings, not into the environment of the whole process.
        keys = AwsKeys(environ["AWS_ACCESS_KEY_ID"], Secret(environ["AWS_SECRET_ACCESS_KEY"]))
        settings = replace(settings, codeartifact=replace(settings.codeartifact, keys=keys))
        for night in range(1, DEMO_NIGHTS + 1):
            if nights:
                days.append(_play(people, pulls, plan_day(list(pulls.values()), night - 1)))
            last = night == DEMO_NIGHTS
            report = folder / "dashboard.html" if last else None
            nights.append(run_nightly(settings, report=report, progress=progress))
            for outcome in nights[-1].fix.outcomes:
                if outcome.action is PullAction.OPEN and outcome.fix and outcome.number is not None:
                    pulls[outcome.repository] = OpenPull(
                        outcome.repository, outcome.number, outcome
                    )
    engine = make_engine(database_url)
    try:
        run_id = nights[-1].scan.run_id
        needs_human = unfixable_by_kind(engine, run_id) if run_id else Counter[str]()
    finally:
        engine.dispose()
    opened = tuple(o for o in nights[0].fix.outcomes if o.action is PullAction.OPEN and o.fix)[:3]
    still_open = tuple(sorted(pulls))
    return DemoResult(
        tuple(nights),
        tuple(days),
        opened,
        needs_human,
        still_open,
        _next_steps(folder, config, needs_human, still_open, listing),
    )
