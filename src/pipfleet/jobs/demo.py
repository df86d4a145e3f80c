"""The embedded demo: the nightly job end to end against a sandbox fleet, on loopback.

It generates a fleet, serves it with the sandbox on a background thread, runs
scan, fix and the dashboard against it exactly as a real run would, and stops
the sandbox again: nothing is left running, everything written is in one folder.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipfleet.config import Settings, parse_settings
from pipfleet.errors import UsageError
from pipfleet.jobs.fix import FixOutcome
from pipfleet.jobs.nightly import NightlyResult, run_nightly
from pipfleet.jobs.scan import Progress
from pipfleet.sandbox.clientconfig import config_text, environment
from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.makefleet import make_fleet
from pipfleet.sandbox.server import SandboxServer

DEMO_REPOSITORIES = 46  # about 40 orb-* repositories and a few others
DEMO_SEED = 2026


@dataclass(frozen=True)
class DemoResult:
    nightly: NightlyResult
    folder: Path
    config: Path
    examples: tuple[FixOutcome, ...]  # up to three pull requests opened, with their diffs


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the demo's own clients, and put back what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Only a folder holding this file is the demo's to delete: `--out .` must not wipe a checkout.
DEMO_MARKER = ".pipfleet-demo"


def run_demo(folder: Path, progress: Progress | None = None) -> DemoResult:
    """Generate, serve and run; the fleet, config, database and dashboard go in ``folder``."""
    if folder.exists():
        if any(folder.iterdir()) and not (folder / DEMO_MARKER).is_file():
            raise UsageError(
                f"{folder} exists and is not a pipfleet demo folder: the demo replaces its "
                "folder, so name a new or empty one with --out"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / DEMO_MARKER).write_text("made by pipfleet demo: replaced on every demo run\n")
    make_fleet(folder / "fleet", DEMO_REPOSITORIES, seed=DEMO_SEED)
    world = load_fleet(folder / "fleet")
    with SandboxServer(world) as server:
        config = folder / "pipfleet.toml"
        text = config_text(server.urls, world, "acme")
        # The sandbox has no secondary rate limit to respect: no pause between writes.
        config.write_text(text.replace("[github]\n", "[github]\nwrite_pause = 0.0\n", 1))
        environ = environment(server.urls, world)
        environ["PIPFLEET_DATABASE_URL"] = f"sqlite:///{folder / 'pipfleet.db'}"
        environ["XDG_CACHE_HOME"] = str(folder / "cache")
        with _environment(environ):
            settings: Settings = parse_settings(
                tomllib.loads(config.read_text()), dict(os.environ), config
            )
            nightly = run_nightly(settings, report=folder / "dashboard.html", progress=progress)
    opened = tuple(o for o in nightly.fix.outcomes if o.action == "open" and o.fix)[:3]
    return DemoResult(nightly, folder, config, opened)
