"""The chaos harness: `pipfleet run` killed and faulted against a sandbox, judged by an oracle.

Two sites run side by side, each a sandbox world (served in this process on a loopback
port), a SQLite database and a config:

- the **chaos** site, whose runs are disturbed: SIGKILLed at a random (seeded) point after
  the process's first request, or served with injected faults (5xx, 429/403 rate limits with
  and without Retry-After, dropped connections, 200s with an empty or cut body, answers lost
  after the write was done) on about ``fault_rate`` of a run's requests;
- the **oracle** site, the same fleet and the same human actions with clean runs only.

A scenario is a number of rounds. In each round the chaos site runs its first disturbed
run while the oracle runs a clean one; then the humans act (merge, close, fix by hand,
change a Pipfile, push an unrelated change, delete a merged branch), chosen with a seeded
RNG from the oracle's open pull requests and applied to both sites only where both hold
the same open pull request, and add unpinned private packages to a few repositories without
one (new work); then the chaos site runs the rest of its disturbed runs and
one clean run, while the oracle runs one clean run. After the last round both sites run
twice more, clean, and their final states must be equal: pull requests (number, title,
body, state, changed files, comments, labels), branches and their trees, default
branches, and the database's last good compliance figures.

Invariants checked after every run, on the chaos site: no two open pipfleet pull requests
in one repository, no pull request proposing again a change a human closed, no comment
posted twice, no pull request closed by pipfleet while its repository still needed the fix
(the default branch's files differ from the pull request's), no traceback and only the
documented exit codes; at the end, no run left "running" and no secret (the GitHub token,
the AWS secret key, a CodeArtifact token, a credential written in a Pipfile) in any output,
log, database dump, dashboard, cache or pull request text.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.makefleet import make_fleet
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import BOT_LOGIN, Fault, PullRequest, Repository, World

PIPFLEET = Path(sys.executable).with_name("pipfleet")
ORG = "acme"
RUN_TIMEOUT = 300.0  # seconds: a run that takes longer is a hang, reported as such
SOURCE_URL = (
    "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-111122223333.d.codeartifact."
    "us-east-1.amazonaws.com/pypi/private/simple/"
)

# -- hostile inputs ------------------------------------------------------------------------------

HOSTILE_CREDENTIAL = "hostile-literal-" + "c0ffee" * 4  # a token written into a Pipfile by hand


def hostile_pipfiles(private: str) -> dict[str, str]:
    """Repository name -> a hostile Pipfile; ``private`` is one of the org's private names."""
    source = '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
    return {
        "orb-hostile-bignum": f'{source}[packages]\n{private} = "=={"9" * 5000}"\n',
        "orb-hostile-deep-array": (
            f'{source}[packages]\n{private} = "*"\ndeep = {"[" * 600}{"]" * 600}\n'
        ),
        "orb-hostile-deep-table": (
            f'{source}[packages]\n{private} = "*"\n\n[{".".join(["a"] + ["b"] * 2999)}]\nx = 1\n'
        ),
        "orb-hostile-nul-key": (
            f'{source}[packages]\n{private} = "*"\n'
            '"evil\\u0000name" = {git = "https://example.invalid/evil.git"}\n'
        ),
        "orb-hostile-ansi": (
            f'{source}# \u202e a bidi override in a comment\n[packages]\n{private} = "*"\n'
            '"\\u001b[2J\\u001b]0;pwned\\u0007orb-evil" = "*"\n'
            '"=cmd|\' /C calc\'!A0" = "*"\n"@SUM(1+1)*cmd" = "*"\n'
        ),
        "orb-hostile-credential": (
            f'[[source]]\nname = "codeartifact"\n'
            f'url = "https://aws:{HOSTILE_CREDENTIAL}@acme-111122223333.d.codeartifact.'
            'us-east-1.amazonaws.com/pypi/private/simple/"\nverify_ssl = true\n\n'
            f'[packages]\n{private} = "*"\n'
        ),
    }


# -- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChaosConfig:
    repos: int = 24
    seed: int = 20261130
    rounds: int = 5
    kills_per_round: int = 0
    faulty_runs_per_round: int = 0
    fault_rate: float = 0.10
    hostile: bool = True
    act_share: float = 0.4  # share of the oracle's open pull requests a human acts on a round
    latency: float = 0.0  # seconds every chaos answer waits: a slower sandbox, wider windows

    @property
    def kills(self) -> int:
        return self.rounds * self.kills_per_round


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# -- a run ---------------------------------------------------------------------------------------


@dataclass
class RunResult:
    site: str
    label: str
    returncode: int
    killed: bool
    stdout: str
    stderr: str
    seconds: float
    work_seconds: float | None  # from the first request seen by the sandbox to the exit


@dataclass
class Site:
    """One sandbox world, its database and config, and the outputs of every run against it."""

    name: str
    root: Path
    world: World
    server: SandboxServer
    env: dict[str, str]
    config: Path
    database: Path
    runs: list[RunResult] = field(default_factory=list)
    human_closed: dict[tuple[str, int], dict[str, str]] = field(default_factory=dict)

    @property
    def control(self) -> str:
        return self.server.urls.control

    def requests_seen(self) -> int:
        with self.world.lock:
            return sum(self.world.counters.values())

    def run(self, label: str, kill_after: float | None = None) -> RunResult:
        """``pipfleet run``; SIGKILLed ``kill_after`` seconds after its first request if given."""
        index = len(self.runs)
        out = self.root / "logs" / f"{index:03d}-{label}.out"
        err = out.with_suffix(".err")
        out.parent.mkdir(parents=True, exist_ok=True)
        report = self.root / "site" / "index.html"
        command = [str(PIPFLEET), "run", "--config", str(self.config), "--report", str(report)]
        before = self.requests_seen()
        started = time.monotonic()
        first: float | None = None
        killed = False
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=self.env)
            try:
                while process.poll() is None:
                    if first is None and self.requests_seen() > before:
                        first = time.monotonic()
                    if kill_after is not None and first is not None:
                        if time.monotonic() - first >= kill_after:
                            process.send_signal(signal.SIGKILL)
                            killed = True
                            process.wait()
                            break
                    if time.monotonic() - started > RUN_TIMEOUT:
                        process.send_signal(signal.SIGKILL)
                        process.wait()
                        raise AssertionError(f"{self.name} {label}: no exit in {RUN_TIMEOUT} s")
                    time.sleep(0.005)
            finally:
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
        ended = time.monotonic()
        result = RunResult(
            self.name,
            label,
            process.returncode,
            killed,
            out.read_text(encoding="utf-8", errors="replace"),
            err.read_text(encoding="utf-8", errors="replace"),
            ended - started,
            None if first is None else ended - first,
        )
        self.runs.append(result)
        return result


def make_site(name: str, fleet: Path, root: Path, latency: float = 0.0) -> Site:
    root.mkdir(parents=True)
    world = load_fleet(fleet)
    world.latency = latency
    github_token = "ghs_chaos" + secrets.token_hex(16)
    world.github_tokens = {github_token}
    server = SandboxServer(world)
    server.__enter__()
    config = root / "pipfleet.toml"
    text = config_text(server.urls, world, ORG)
    # The source URL the fixes write into Pipfiles: the same text on every site (each
    # sandbox has its own port), so two sites' pull requests compare byte for byte.
    text = re.sub(r"(?m)^source_url = .*$", f'source_url = "{SOURCE_URL}"', text)
    config.write_text(
        text.replace("[github]\n", "[github]\nwrite_pause = 0.0\n")
        + "\n[fix]\nmax_prs_per_run = 1000\nmax_wait = 2.0\n",
        encoding="utf-8",
    )
    ca_token, _ = world.issue_codeartifact_token()
    database = root / "pipfleet.db"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root / "home"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "LANG": "C.UTF-8",
        "GITHUB_TOKEN": github_token,
        "CODEARTIFACT_AUTH_TOKEN": ca_token,  # as a CI job that also runs pipenv exports it
        "AWS_ACCESS_KEY_ID": "AKIACHAOS" + secrets.token_hex(4).upper(),
        "AWS_SECRET_ACCESS_KEY": "chaos-aws-secret-" + secrets.token_hex(16),
        "AWS_DEFAULT_REGION": world.codeartifact.region,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PIP_CONFIG_FILE": "/dev/null",
        "PIPFLEET_DATABASE_URL": f"sqlite:///{database}",
    }
    return Site(name, root, world, server, env, config, database)


def secrets_of(site: Site) -> dict[str, str]:
    with site.world.lock:
        ca_tokens = list(site.world.codeartifact_tokens)
    found = {
        "GITHUB_TOKEN": site.env["GITHUB_TOKEN"],
        "AWS_SECRET_ACCESS_KEY": site.env["AWS_SECRET_ACCESS_KEY"],
        "a credential written in a Pipfile": HOSTILE_CREDENTIAL,
    }
    for number, token in enumerate(ca_tokens):
        found[f"CodeArtifact token {number + 1}"] = token
    return found


# -- the state of a world ------------------------------------------------------------------------

_HEX = re.compile(r"\b[0-9a-f]{7,40}\b")


def normalised(text: str) -> str:
    """Commit ids differ between two worlds (commits carry their time): hide them."""
    return _HEX.sub("<sha>", text)


def pull_files(world: World, repo: Repository, pull: PullRequest) -> dict[str, str]:
    """What the pull request's head commit changes against its parent: path -> blob id."""
    head = world.pull_head(repo, pull)
    commit = world.store.commit(head) if head else None
    if commit is None:
        return {}
    parent = world.store.tree_of(commit.parents[0]) if commit.parents else None
    theirs = {p: e.sha for p, e in world.store.files(commit.tree).items()}
    ours = {p: e.sha for p, e in world.store.files(parent).items()} if parent else {}
    changed = {p: s for p, s in theirs.items() if ours.get(p) != s}
    changed.update({p: "<deleted>" for p in ours if p not in theirs})
    return dict(sorted(changed.items()))


def pull_view(world: World, repo: Repository, pull: PullRequest) -> dict[str, Any]:
    return {
        "number": pull.number,
        "title": pull.title,
        "body": normalised(pull.body),
        "state": "merged" if pull.merged else pull.state,
        "head": pull.head,
        "base": pull.base,
        "files": pull_files(world, repo, pull),
        "comments": [normalised(c.body) for c in repo.comments.get(pull.number, [])],
        "labels": sorted(repo.labels.get(pull.number, [])),
    }


def world_state(world: World) -> dict[str, Any]:
    """Everything a human sees on GitHub, comparable across two worlds."""
    state: dict[str, Any] = {}
    with world.lock:
        for name, repo in sorted(world.orgs.get(ORG, {}).items()):
            branches = {
                ref.removeprefix("heads/"): world.store.tree_of(sha)
                for ref, sha in sorted(repo.refs.items())
                if ref.startswith("heads/")
            }
            pulls = [pull_view(world, repo, p) for _, p in sorted(repo.pulls.items())]
            if pulls or len(branches) > 1:
                state[name] = {"branches": branches, "pulls": pulls}
            else:
                state[name] = {"branches": branches}
    return state


def database_state(path: Path) -> dict[str, Any]:
    """The last good compliance figures, per repository status, and each repository's PR record."""
    if not path.exists():
        return {"error": "no database"}
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        summary = db.execute(
            "SELECT * FROM v_run_summary WHERE status = 'completed' ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        figures = (
            {
                k: summary[k]
                for k in summary.keys()  # noqa: SIM118 (sqlite3.Row)
                if k not in ("run_id", "started_at", "finished_at", "status")
            }
            if summary
            else None
        )
        repos = {
            row["full_name"]: (
                row["compliant"],
                row["pipfiles"],
                row["findings_needing_action"],
                row["skip_reason"],
            )
            for row in db.execute("SELECT * FROM v_repository_latest ORDER BY full_name")
        }
        records = {
            row[0]: (row[1], row[2], row[3])
            for row in db.execute(
                "SELECT r.full_name, p.number, p.state, p.fingerprint FROM pull_requests p "
                "JOIN repositories r ON r.id = p.repository_id "
                "WHERE p.id = (SELECT MAX(q.id) FROM pull_requests q "
                "WHERE q.repository_id = p.repository_id) ORDER BY r.full_name"
            )
        }
    return {"figures": figures, "repositories": repos, "pull_requests": records}


def differences(left: Any, right: Any, path: str = "", limit: int = 40) -> list[str]:
    """Where two JSON-like values differ, as readable lines (at most ``limit``)."""
    out: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                if key not in a:
                    out.append(f"{where}/{key}: only in oracle: {short(b[key])}")
                elif key not in b:
                    out.append(f"{where}/{key}: only in chaos: {short(a[key])}")
                else:
                    walk(a[key], b[key], f"{where}/{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{i}]")
        elif isinstance(a, str) and isinstance(b, str) and a != b:
            at = next(
                (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)),
            )
            out.append(
                f"{where}: from character {at}: chaos {short(a[max(at - 40, 0) : at + 80])} "
                f"!= oracle {short(b[max(at - 40, 0) : at + 80])}"
            )
        elif a != b:
            out.append(f"{where}: chaos {short(a)} != oracle {short(b)}")

    walk(left, right, path)
    return out


def short(value: Any, width: int = 300) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= width else text[:width] + "..."


# -- faults --------------------------------------------------------------------------------------

GITHUB_KINDS = (
    "5xx",
    "5xx-exhausting-retries",
    "429-retry-after",
    "429-no-retry-after",
    "403-rate-limit-retry-after",
    "403-rate-limit-no-retry-after",
    "connection-drop",
    "200-empty-body",
    "200-cut-body",
)
WRITE_KINDS = ("answer-lost-502", "answer-lost-drop")
CUT_BODIES = {
    "graphql": '{"data": {"organization": {"repositories": {"nodes": [{"name": "orb',
    "rest": '{"sha": "',
    "codeartifact": '{"packages": [{"format": "pypi", "package": "orb',
    "pypi": "<!DOCTYPE html><html><body><a href=",
}
# Faults drawn from the traffic: outside GitHub's REST API, the kinds a client retries
# (a run that cannot read the listing or the org stops before any write, rightly, and would
# never reach the writes); the answers that stop a run come from the coverage cycle below.
DRAWN_KINDS = {
    "codeartifact": ("5xx", "429-retry-after"),
    "pypi": ("5xx", "429-retry-after", "connection-drop"),
    "graphql": ("5xx", "429-retry-after", "403-rate-limit-retry-after"),
}
# One fault a run besides the drawn ones, in turn: every API meets every kind of broken
# answer. GitHub REST requests are writes, and a run has writes to do mostly after the
# humans acted, so REST takes the odd turns: a round's second faulty run.
COVERAGE = (
    ("graphql", "connection-drop"),
    ("rest", "200-cut-body"),
    ("codeartifact-packages", "200-empty-body"),
    ("rest", "connection-drop"),
    ("codeartifact-versions", "200-cut-body"),
    ("rest", "200-empty-body"),
    ("graphql", "200-empty-body"),
    ("rest", "answer-lost-502"),
    ("codeartifact-packages", "200-cut-body"),
    ("rest", "answer-lost-drop"),
    ("graphql", "200-cut-body"),
    ("rest", "403-rate-limit-no-retry-after"),
    ("codeartifact-versions", "200-empty-body"),
    ("rest", "429-no-retry-after"),
    ("pypi", "200-empty-body"),
    ("rest", "5xx-exhausting-retries"),
    ("codeartifact-versions", "connection-drop"),
    ("rest", "200-cut-body"),
    ("pypi", "200-cut-body"),
    ("graphql", "403-rate-limit-no-retry-after"),
)
_WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def route_regex(template: str) -> str:
    parts = re.split(r"(\{[^}]+\})", template)
    return (
        "^"
        + "".join(
            (".+" if p.endswith(":path}") else "[^/]+") if p.startswith("{") else re.escape(p)
            for p in parts
        )
        + "$"
    )


def api_of(route: str) -> str:
    if route.startswith("^/github/graphql"):
        return "graphql"
    if route.startswith("^/github"):
        return "rest"
    if route.startswith("^/codeartifact"):
        return "codeartifact"
    return "pypi"


def kinds_for(api: str, method: str) -> tuple[str, ...]:
    if api in DRAWN_KINDS:
        return DRAWN_KINDS[api]
    return GITHUB_KINDS + WRITE_KINDS if method in _WRITES else GITHUB_KINDS


def make_fault(kind: str, method: str, route: str, rng: random.Random) -> Fault:
    api = api_of(route)
    fault = Fault(route=route, method=method)
    if kind == "5xx":
        fault.status = rng.choice((500, 502, 503))
    elif kind == "5xx-exhausting-retries":
        fault.status, fault.count = rng.choice((500, 502, 503)), 4
    elif kind.startswith("429"):
        fault.status = 429
        fault.retry_after = 1 if kind == "429-retry-after" else None
    elif kind.startswith("403"):
        fault.status = 403
        fault.body = "You have exceeded a secondary rate limit. Please wait a few minutes."
        fault.retry_after = 1 if kind == "403-rate-limit-retry-after" else None
    elif kind == "connection-drop":
        fault.drop = True
    elif kind == "200-empty-body":
        fault.status, fault.body = 200, ""
    elif kind == "200-cut-body":
        fault.status, fault.body = 200, rng.choice(("{", CUT_BODIES[api]))
    elif kind == "answer-lost-502":
        fault.status, fault.after = 502, True
    elif kind == "answer-lost-drop":
        fault.drop, fault.after = True, True
    else:
        raise ValueError(kind)
    return fault


@dataclass
class FaultLedger:
    injected: Counter[str] = field(default_factory=Counter)  # requests that met a fault, by kind
    planted: list[tuple[str, Fault, int]] = field(default_factory=list)
    planted_total: Counter[str] = field(default_factory=Counter)

    def plant(self, world: World, kind: str, fault: Fault) -> None:
        with world.lock:
            world.faults.append(fault)
        self.planted.append((kind, fault, fault.count))
        self.planted_total[kind] += fault.count

    def settle(self, world: World) -> None:
        """Count what the last run met; clear what it did not."""
        with world.lock:
            for kind, fault, count in self.planted:
                self.injected[kind] += count - max(fault.count, 0)
            world.faults.clear()
        self.planted.clear()


def plant_faults(
    rng: random.Random,
    world: World,
    expected: Counter[tuple[str, str]],
    rate: float,
    turn: int,
    ledger: FaultLedger,
) -> None:
    """Faults at about ``rate`` of the next run's requests, in the order it sends them.

    First the coverage fault of this ``turn``, met by the first matching request. Then, for
    each route in ``expected`` (the most requests one run sent to it so far), each of its
    first that many requests gets a fault with chance ``rate``: the fault's ``skip`` lets
    the route's requests before it by (the sandbox plays a route's faults one after the
    other, so each skip counts from the end of the one before). Faults are as dense at the
    start of a run as at its end, so a run stopped by one has met about ``rate`` of the
    requests it sent; the faults it never reached are not met, and not counted.
    """
    target, kind = COVERAGE[turn % len(COVERAGE)]
    if target == "codeartifact-packages":
        method, route = "POST", "^/codeartifact/v1/packages$"
    elif target == "codeartifact-versions":
        method, route = "POST", "^/codeartifact/v1/package/versions$"
    elif target == "graphql":
        method, route = "POST", "^/github/graphql$"
    elif target == "pypi":
        method, route = "GET", "^/pypi/simple/[^/]+/$"
    else:  # any write to a repository; a lost answer needs a POST (trees, commits, pulls...)
        method, route = ("POST" if kind in WRITE_KINDS else ""), "^/github/repos/"
    fault = make_fault(kind, method, route, rng)
    fault.method = method or None
    ledger.plant(world, f"{target.split('-')[0]} {kind}", fault)
    for (method, template), requests in sorted(expected.items()):
        route = route_regex(template)
        api = api_of(route)
        position, free = 0, 0  # the route's request we are at; the first no fault holds
        while position < requests:
            if rng.random() >= rate:
                position += 1
                continue
            kind = rng.choice(kinds_for(api, method))
            fault = make_fault(kind, method, route, rng)
            fault.skip = position - free
            ledger.plant(world, f"{api} {kind}", fault)
            position = free = position + fault.count


# -- humans --------------------------------------------------------------------------------------

HUMAN_ACTIONS = ("merge", "close", "fix-by-hand", "change", "unrelated-push")


def bot_pulls(world: World, state: str = "open") -> list[tuple[Repository, PullRequest]]:
    with world.lock:
        return [
            (repo, pull)
            for _, repo in sorted(world.orgs.get(ORG, {}).items())
            for _, pull in sorted(repo.pulls.items())
            if pull.user == BOT_LOGIN
            and (state == "any" or pull.state == state and not pull.merged)
        ]


def same_open_pull(
    site: Site, repo_name: str, number: int, files: dict[str, str], title: str
) -> bool:
    world = site.world
    with world.lock:
        repo = world.repository(ORG, repo_name)
        pull = repo.pulls.get(number) if repo else None
        if repo is None or pull is None or pull.state != "open":
            return False
        return pull.title == title and pull_files(world, repo, pull) == files


def blob_text(world: World, blob: str) -> str | None:
    found = world.store.blob(blob)
    try:
        return found.data.decode("utf-8") if found else None
    except UnicodeDecodeError:
        return None


@dataclass
class HumanLog:
    done: Counter[str] = field(default_factory=Counter)
    skipped: int = 0  # chosen on the oracle, not applicable on the chaos site
    lines: list[str] = field(default_factory=list)


def human_round(
    rng: random.Random,
    chaos: Site,
    oracle: Site,
    share: float,
    private: list[str],
    log: HumanLog,
    round_: int,
) -> None:
    """Humans act on both sites alike: chosen from the oracle's open pull requests."""
    for repo, pull in bot_pulls(oracle.world):
        if rng.random() >= share:
            continue
        action = rng.choice(HUMAN_ACTIONS)
        with oracle.world.lock:
            files = pull_files(oracle.world, repo, pull)
            texts = {p: blob_text(oracle.world, b) for p, b in files.items()}
            main_texts = {
                p: (oracle.world.file_at(repo, repo.default_branch, p) or b"").decode(
                    "utf-8", "replace"
                )
                for p in files
            }
        if not same_open_pull(chaos, repo.name, pull.number, files, pull.title):
            log.skipped += 1
            log.lines.append(f"round {round_}: {action} {repo.name}#{pull.number}: skipped")
            continue
        if action in ("fix-by-hand", "change") and any(t is None for t in texts.values()):
            action = "close"
        change: dict[str, str | None] | None = None
        if action == "change":
            change = changed_pipfile(rng, main_texts, private)
            if change is None:
                action = "unrelated-push"
        for site in (chaos, oracle):
            act(site, action, repo.name, pull.number, files, texts, change, round_)
        log.done[action] += 1
        log.lines.append(f"round {round_}: {action} {repo.name}#{pull.number}")
    new_needs(rng, chaos, oracle, share, private, log, round_)


def new_needs(
    rng: random.Random,
    chaos: Site,
    oracle: Site,
    share: float,
    private: list[str],
    log: HumanLog,
    round_: int,
) -> None:
    """Maintainers add unpinned private packages where no pull request is open: new work.

    Default branches change only by the humans' hands (pushes, merges), alike on both
    sites, so the change applies to both.
    """
    with oracle.world.lock:
        busy = {repo.name for repo, _ in bot_pulls(oracle.world)}
        candidates = []
        for name, repo in sorted(oracle.world.orgs.get(ORG, {}).items()):
            raw = oracle.world.file_at(repo, repo.default_branch, "Pipfile") if repo.head else None
            if name in busy or name.startswith("orb-hostile") or raw is None:
                continue
            candidates.append((name, raw.decode("utf-8", "replace")))
    for name, text in rng.sample(candidates, min(len(candidates), max(1, round(share * 5)))):
        change = changed_pipfile(rng, {"Pipfile": text}, private)
        if change is None:
            continue
        for site in (chaos, oracle):
            act(site, "change", name, 0, {}, {}, change, round_)
        log.done["new-need"] += 1
        log.lines.append(f"round {round_}: new-need {name}")


def changed_pipfile(
    rng: random.Random, main_texts: dict[str, str], private: list[str]
) -> dict[str, str | None] | None:
    """A maintainer adds an unpinned private package to one Pipfile: the fix must grow."""
    for path, text in sorted(main_texts.items()):
        if not path.endswith("Pipfile") or "\n[packages]\n" not in "\n" + text:
            continue
        fresh = [name for name in private if name not in text]
        if not fresh:
            return None
        name = rng.choice(fresh)
        head, _, tail = ("\n" + text).partition("\n[packages]\n")
        return {path: (head + f'\n[packages]\n{name} = "*"\n' + tail)[1:]}
    return None


def act(
    site: Site,
    action: str,
    repo: str,
    number: int,
    files: dict[str, str],
    texts: dict[str, str | None],
    change: dict[str, str | None] | None,
    round_: int,
) -> None:
    base = f"{site.control}/repos/{ORG}/{repo}"
    if action == "merge":
        answer = httpx.post(f"{base}/pulls/{number}/merge")
        if answer.status_code == 200:
            world = site.world
            with world.lock:
                found = world.repository(ORG, repo)
                branch = found.pulls[number].head if found else None
            if branch and round_ % 2 == 0:  # "Delete branch" after the merge, every other round
                httpx.delete(f"{base}/branches/{branch}")
    elif action == "close":
        assert httpx.post(f"{base}/pulls/{number}/close").status_code == 200
        site.human_closed[(repo, number)] = files
    elif action == "fix-by-hand":
        body = {"files": dict(texts), "message": "Pin private packages by hand\n"}
        assert httpx.post(f"{base}/commits", json=body).status_code == 201
    elif action == "change":
        assert change is not None
        body = {"files": change, "message": "Add a dependency\n"}
        assert httpx.post(f"{base}/commits", json=body).status_code == 201
    elif action == "unrelated-push":
        body = {"files": {"NOTES.md": f"Round {round_}: notes.\n"}, "message": "Notes\n"}
        assert httpx.post(f"{base}/commits", json=body).status_code == 201


# -- invariants ----------------------------------------------------------------------------------


@dataclass
class Watch:
    """What the chaos site's GitHub looked like before a run, to judge what the run did."""

    open_before: dict[tuple[str, int], dict[str, str]]


def watch(site: Site) -> Watch:
    world = site.world
    with world.lock:
        opened = {}
        for repo, pull in bot_pulls(world):
            opened[(repo.name, pull.number)] = pull_files(world, repo, pull)
    return Watch(opened)


@dataclass
class Verdicts:
    violations: list[str] = field(default_factory=list)
    wrongful_closures: int = 0
    duplicate_prs: int = 0
    duplicate_comments: int = 0
    tracebacks: int = 0
    bad_exits: int = 0
    rightful_closures: int = 0
    seen: set[str] = field(default_factory=set)  # what was counted already
    comment_times: dict[tuple[str, int, str], int] = field(default_factory=dict)

    def add(self, line: str) -> None:
        self.violations.append(line)

    def first(self, key: str) -> bool:
        """True the first time ``key`` is seen: later runs see the same state again."""
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def judge_run(
    site: Site, before: Watch, result: RunResult, verdicts: Verdicts, context: str
) -> None:
    """The invariants every run on the chaos site keeps, killed, faulted or clean."""
    where = f"{context}: {result.label} (exit {result.returncode})"
    if "Traceback (most recent call last)" in result.stderr + result.stdout:
        verdicts.tracebacks += 1
        tail = result.stderr.strip().splitlines()[-1:] or [""]
        verdicts.add(f"{where}: a traceback: {tail[0][:300]}")
    if not result.killed and result.returncode not in (0, 3):
        verdicts.bad_exits += 1
        verdicts.add(f"{where}: exit {result.returncode}: {result.stderr.strip()[:300]}")
    world = site.world
    with world.lock:
        for (name, number), files in before.open_before.items():
            repo = world.repository(ORG, name)
            assert repo is not None
            pull = repo.pulls[number]
            if pull.state == "open" or pull.merged or (name, number) in site.human_closed:
                continue
            # Closed by pipfleet in this run: rightful only if the default branch now holds
            # every file as the pull request had it (the humans' fixes copy them exactly).
            still_needed = [
                path
                for path, blob in files.items()
                if blob != "<deleted>"
                and (world.store.files(world.store.tree_of(repo.head)).get(path) or _NO).sha != blob
            ]
            if still_needed:
                verdicts.wrongful_closures += 1
                verdicts.add(
                    f"{where}: wrongful closure of {name}#{number}: {', '.join(still_needed)} "
                    "still need the fix on the default branch"
                )
            else:
                verdicts.rightful_closures += 1
        for _, repo in sorted(world.orgs.get(ORG, {}).items()):
            bot = [p for _, p in sorted(repo.pulls.items()) if p.user == BOT_LOGIN]
            opened = [p for p in bot if p.state == "open"]
            numbers = ", ".join(f"#{p.number}" for p in opened)
            if len(opened) > 1 and verdicts.first(f"open {repo.name} {numbers}"):
                verdicts.duplicate_prs += 1
                verdicts.add(
                    f"{where}: {repo.name} has {len(opened)} open pull requests ({numbers})"
                )
            for pull in opened:
                files = pull_files(world, repo, pull)
                for (closed_repo, closed), closed_files in site.human_closed.items():
                    if (
                        closed_repo == repo.name
                        and closed < pull.number
                        and closed_files == files
                        and verdicts.first(f"again {repo.name} {pull.number}")
                    ):
                        verdicts.duplicate_prs += 1
                        verdicts.add(
                            f"{where}: {repo.name}#{pull.number} proposes again the change a "
                            f"human closed in #{closed}"
                        )
            for number, comments in sorted(repo.comments.items()):
                seen = Counter(c.body for c in comments)
                for body, times in seen.items():
                    counted = verdicts.comment_times.get((repo.name, number, body), 1)
                    if times > counted:
                        verdicts.comment_times[(repo.name, number, body)] = times
                        verdicts.duplicate_comments += times - counted
                        verdicts.add(
                            f"{where}: {repo.name}#{number} has the same comment {times} times: "
                            f"{body[:120]!r}"
                        )
    # A violation found once is reported once: later runs see the same state.
    _dedupe(verdicts)


class _Missing:
    sha = "<missing>"


_NO = _Missing()


def _dedupe(verdicts: Verdicts) -> None:
    seen: set[str] = set()
    kept = []
    for line in verdicts.violations:
        key = line.split(": ", 2)[-1]
        if key not in seen:
            seen.add(key)
            kept.append(line)
    verdicts.violations[:] = kept


def leftover_runs(site: Site) -> list[str]:
    if not site.database.exists():
        return []
    with sqlite3.connect(site.database) as db:
        rows = db.execute("SELECT id, status FROM scan_runs WHERE status = 'running'").fetchall()
    return [f"scan run {run_id} is still '{status}'" for run_id, status in rows]


def database_dump(path: Path) -> str:
    if not path.exists():
        return ""
    with sqlite3.connect(path) as db:
        return "\n".join(db.iterdump())


def leaks(site: Site) -> list[str]:
    """Every place a secret shows up: run outputs, logs, database, dashboard, cache, GitHub text."""
    found: list[str] = []
    places: list[tuple[str, str]] = [(f"run {r.label} stdout", r.stdout) for r in site.runs] + [
        (f"run {r.label} stderr", r.stderr) for r in site.runs
    ]
    places.append(("database dump", database_dump(site.database)))
    for folder in ("site", "cache", "home"):
        for path in (
            sorted((site.root / folder).rglob("*")) if (site.root / folder).is_dir() else ()
        ):
            if path.is_file():
                places.append(
                    (str(path.relative_to(site.root)), path.read_text("utf-8", "replace"))
                )
    world = site.world
    with world.lock:
        for name, repo in sorted(world.orgs.get(ORG, {}).items()):
            for number, pull in sorted(repo.pulls.items()):
                places.append((f"{name}#{number} title and body", pull.title + "\n" + pull.body))
                for comment in repo.comments.get(number, []):
                    places.append((f"{name}#{number} comment", comment.body))
            for sha in set(repo.refs.values()):
                commit = world.store.commit(sha)
                if commit is not None:
                    places.append((f"{name} commit message", commit.message))
    for label, secret in secrets_of(site).items():
        for where, text in places:
            if secret and secret in text:
                found.append(f"{site.name}: {label} in {where}")
    return found


# -- the scenario --------------------------------------------------------------------------------


@dataclass
class ChaosReport:
    config: ChaosConfig
    kills_landed: int = 0
    kill_attempts: int = 0
    finished_before_kill: int = 0
    faulty_runs: int = 0
    faulty_exits: Counter[int] = field(default_factory=Counter)
    faulty_requests: int = 0  # requests the faulty runs sent (faults met included)
    faults: Counter[str] = field(default_factory=Counter)
    hostile_inputs: int = 0
    humans: HumanLog = field(default_factory=HumanLog)
    verdicts: Verdicts = field(default_factory=Verdicts)
    divergence: list[str] = field(default_factory=list)  # final chaos state vs oracle
    first_divergent_round: int | None = None
    leaks: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0
    chaos_runs: int = 0
    oracle_runs: int = 0
    repositories: int = 0
    open_prs_final: int = 0

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    def problems(self) -> list[str]:
        out = list(self.verdicts.violations)
        out += [f"final state differs from the oracle's: {line}" for line in self.divergence]
        out += [f"secret leaked: {line}" for line in self.leaks]
        out += self.leftovers
        return out

    def describe(self) -> str:
        lines = [
            f"seed {self.config.seed}, {self.config.repos} generated repositories "
            f"+ {self.hostile_inputs} hostile, {self.config.rounds} rounds",
            f"kills: {self.kills_landed} landed of {self.kill_attempts} attempts "
            f"({self.finished_before_kill} runs ended first)",
            f"faulty runs: {self.faulty_runs}, exits {dict(self.faulty_exits)}, "
            f"faults met: {self.faults_injected} of {self.faulty_requests} requests "
            f"{dict(sorted((k, n) for k, n in self.faults.items() if n))}",
            f"humans: {dict(self.humans.done)}, {self.humans.skipped} skipped",
            f"closures by pipfleet: {self.verdicts.rightful_closures} rightful, "
            f"{self.verdicts.wrongful_closures} wrongful",
            f"runs: {self.chaos_runs} chaos, {self.oracle_runs} oracle, {self.seconds:.0f} s",
        ]
        if self.first_divergent_round is not None:
            lines.append(f"first round ending unlike the oracle: {self.first_divergent_round}")
        problems = self.problems()
        lines.append(f"problems: {len(problems)}")
        lines += [f"  - {p}" for p in problems[:60]]
        return "\n".join(lines)


def write_fleet(root: Path, config: ChaosConfig) -> tuple[Path, int]:
    fleet = root / "fleet"
    make_fleet(fleet, config.repos, seed=config.seed % 1000)
    hostile = 0
    if config.hostile:
        private = sorted(load_fleet(fleet).internal_names())
        for name, text in hostile_pipfiles(private[0]).items():
            folder = fleet / "github" / ORG / name
            folder.mkdir(parents=True)
            (folder / "Pipfile").write_text(text, encoding="utf-8")
            hostile += 1
    return fleet, hostile


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once (the chaos and oracle sites' runs); re-raise the first error."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def target(index: int, call: Callable[[], Any]) -> None:
        try:
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def snapshot(site: Site) -> dict[str, Any]:
    return {"github": world_state(site.world), "database": database_state(site.database)}


def run_scenario(
    config: ChaosConfig, root: Path, progress: Callable[[str], None] | None = None
) -> ChaosReport:
    say = progress or (lambda line: None)
    started = time.monotonic()
    report = ChaosReport(config)
    rng = random.Random(config.seed)
    fleet, report.hostile_inputs = write_fleet(root, config)
    # A dropped connection is the sandbox's doing on purpose: uvicorn need not log it.
    chaos = make_site("chaos", fleet, root / "chaos", latency=config.latency)
    oracle = make_site("oracle", fleet, root / "oracle")
    # A dropped connection is the sandbox's doing on purpose: uvicorn need not log it.
    uvicorn_log = logging.getLogger("uvicorn.error")
    level = uvicorn_log.level
    uvicorn_log.setLevel(logging.CRITICAL)
    private = sorted(oracle.world.internal_names())
    report.repositories = len(oracle.world.orgs.get(ORG, {}))
    ledger = FaultLedger()
    verdicts = report.verdicts
    work: list[float] = []
    try:
        # Calibrate: the oracle's first (cold) run gives the kill window.
        first = oracle.run("clean")
        _expect_clean(first, "oracle calibration", verdicts)
        if first.work_seconds:
            work.append(first.work_seconds)
        with oracle.world.lock:
            # The most requests one run sent to each route: the faulty runs' aim.
            expected: Counter[tuple[str, str]] = Counter(oracle.world.counters)

        def chaos_run(label: str, context: str, kind: str, narrower: int = 0) -> RunResult:
            before = watch(chaos)
            counters_before = Counter(chaos.world.counters)
            if kind == "kill":
                report.kill_attempts += 1
                window = max(sorted(work)[len(work) // 2] if work else 2.0, 0.05)
                window /= 2**narrower  # a run that ended first: the next try aims earlier
                result = chaos.run(label, kill_after=rng.uniform(0.0, window))
                if result.killed:
                    report.kills_landed += 1
                else:
                    report.finished_before_kill += 1
            elif kind == "faulty":
                plant_faults(
                    rng, chaos.world, expected, config.fault_rate, report.faulty_runs, ledger
                )
                result = chaos.run(label)
                ledger.settle(chaos.world)
                report.faulty_runs += 1
                report.faulty_requests += sum(
                    (Counter(chaos.world.counters) - counters_before).values()
                )
                report.faulty_exits[result.returncode] += 1
            else:
                result = chaos.run(label)
                _expect_clean(result, f"{context} chaos", verdicts)
                if result.work_seconds:
                    work.append(result.work_seconds)
            if not result.killed:
                sent = Counter(chaos.world.counters) - counters_before
                for route, requests in sent.items():
                    expected[route] = max(expected[route], requests)
            judge_run(chaos, before, result, verdicts, context)
            return result

        def chaos_steps(context: str, steps: list[str]) -> None:
            for kind in steps:
                label = f"r{context.split()[-1]}-{kind}"
                if kind == "kill":
                    # Bounded: a kill that came after the run ended is tried again, earlier,
                    # four times at most.
                    for narrower in range(5):
                        if chaos_run(label, context, "kill", narrower).killed:
                            break
                else:
                    chaos_run(label, context, kind)

        for round_ in range(1, config.rounds + 1):
            context = f"round {round_}"
            steps = ["kill"] * config.kills_per_round + ["faulty"] * config.faulty_runs_per_round
            if round_ == 1:
                chaos_steps(context, steps[:1])
            else:
                _, first_clean = in_parallel(
                    partial(chaos_steps, context, steps[:1]), partial(oracle.run, "clean")
                )
                _expect_clean(first_clean, f"{context} oracle", verdicts)
            human_round(rng, chaos, oracle, config.act_share, private, report.humans, round_)
            say(f"{context}: humans {dict(report.humans.done)}")
            _, second_clean = in_parallel(
                partial(chaos_steps, context, [*steps[1:], "clean"]), partial(oracle.run, "clean")
            )
            _expect_clean(second_clean, f"{context} oracle", verdicts)
            if report.first_divergent_round is None and differences(
                snapshot(chaos), snapshot(oracle)
            ):
                report.first_divergent_round = round_
            say(
                f"{context}: kills {report.kills_landed}, faulty runs {report.faulty_runs}, "
                f"faults {report.faults_injected}, problems {len(report.problems())}"
            )
        for final in ("final-1", "final-2"):
            results = in_parallel(
                partial(chaos_run, final, "final", "clean"), partial(oracle.run, final)
            )
            _expect_clean(results[1], "final oracle", verdicts)
        report.divergence = differences(snapshot(chaos), snapshot(oracle))
        report.leaks = leaks(chaos) + leaks(oracle)
        report.leftovers = [f"chaos: {line}" for line in leftover_runs(chaos)]
        report.faults = ledger.injected
        report.open_prs_final = len(bot_pulls(chaos.world))
    finally:
        chaos.server.__exit__(None, None, None)
        oracle.server.__exit__(None, None, None)
        uvicorn_log.setLevel(level)
    report.chaos_runs, report.oracle_runs = len(chaos.runs), len(oracle.runs)
    report.runs = report.chaos_runs + report.oracle_runs
    report.seconds = time.monotonic() - started
    return report


def _expect_clean(result: RunResult, context: str, verdicts: Verdicts) -> None:
    """A run with nothing disturbing it finishes: exit 0, one paragraph, no traceback."""
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        verdicts.add(
            f"{context}: a clean run exited {result.returncode}: "
            f"{(lines[-1] if lines else result.stdout.strip()[-300:])[:300]}"
        )


def ceil_div(a: int, b: int) -> int:
    return max(1, math.ceil(a / max(b, 1)))
