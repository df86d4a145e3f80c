"""Benchmark: `pipfleet run` with pull-request creation on, against the sandbox (issue 5, "Cost").

The script

1. writes a synthetic fleet with ``pipfleet sandbox make-fleet DIR --repos N --seed S``
   (default 1,000 repositories, seed 7, as bench/scan.py);
2. starts ``pipfleet sandbox serve --fleet DIR --port 0 --write-config CFG`` in its own
   process and adds ``write_pause = 0.0`` to the config's ``[github]`` table and
   ``max_prs_per_run = 100000`` to a ``[fix]`` table, so every fixable repository gets its
   pull request in one run and nothing sleeps between writes;
3. runs ``pipfleet run --config CFG --report <tmp>/dashboard.html --log-format json`` in its
   own process against a fresh SQLite database (cold: scan, then fix opening a pull request
   for every fixable repository, then the dashboard), under GNU time (wall, peak RSS, CPU),
   with the sandbox's counters reset before it, polled every 0.1 s while it runs (when the
   writes start and end) and read after it; then the same ``pipfleet run`` again at once
   (warm: it must send no write request);
4. picks a repository with exactly one Pipfile and its Pipfile.lock beside it that got a
   pull request in step 3, and on a fresh sandbox and database runs ``pipfleet scan`` (its
   counters split the cold run into scan and fix phases) and then
   ``pipfleet fix --config CFG --repo NAME`` with the counters reset: the exact requests one
   such pull request costs; it checks through the sandbox's REST API that the pull request's
   branch changed both files;
5. derives how many pull requests an hour and a minute fit GitHub's secondary limits for
   content-creating requests, checks the target (<= 5 write requests per pull request) and
   rewrites its own section of BENCHMARKS.md (other sections are kept).

    .venv/bin/python bench/fix.py                 # writes BENCHMARKS.md
    .venv/bin/python bench/fix.py --no-write --keep
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _report import ROOT, context_lines, update_section
from scan import (
    DEFAULT_SEED,
    PIPFLEET,
    TOKEN,
    Measured,
    Sandbox,
    code_line,
    config_value,
    log_event,
    make_fleet,
    rss_method,
    run_measured,
    scan_env,
)

from pipfleet.config import FixSettings, GitHubSettings, load_settings

SECTION_TITLE = "## fix: pull requests against the sandbox"
DEFAULT_REPOS = 1000
POLL_SECONDS = 0.1

# Target (issue 5): write requests per pull request, repository with one Pipfile and its lock.
WRITES_PER_PR = 5
# GitHub's secondary rate limits for content-creating requests (REST API docs, "Rate limits
# for the REST API": no more than 80 a minute and 500 an hour). Every write is counted as one,
# the conservative reading: git trees, commits and refs as well as pull requests and labels.
GITHUB_WRITES_PER_MINUTE = 80
GITHUB_WRITES_PER_HOUR = 500

REPO_ROUTE = "/github/repos/{owner}/{repo}"
PULLS_ROUTE = ("POST", REPO_ROUTE + "/pulls")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


# -- counters ----------------------------------------------------------------------------------


def short_route(route: str) -> str:
    """``/github/repos/{owner}/{repo}/git/trees`` -> ``/git/trees``; ``/github/graphql`` -> same."""
    if route.startswith(REPO_ROUTE):
        return route[len(REPO_ROUTE) :] or "/"
    return route.removeprefix("/github")


def is_write(method: str, route: str) -> bool:
    # As the sandbox counts: a GraphQL query is POSTed but reads (pipfleet sends no mutation).
    return method not in _READS and not route.endswith("/graphql")


@dataclass(frozen=True)
class Counts:
    """The GitHub part of the sandbox's counters, by (method, route), and the rest's total."""

    routes: dict[tuple[str, str], int]
    other: int  # CodeArtifact and PyPI requests
    sandbox_github: dict[str, int]  # the sandbox's own totals, to check the sums against

    @classmethod
    def of(cls, counters: dict[str, Any]) -> Counts:
        routes = {
            (row["method"], row["route"]): int(row["count"])
            for row in counters["requests"]
            if row["route"].startswith("/github")
        }
        return cls(routes, counters["total"] - counters["github"]["total"], counters["github"])

    def __sub__(self, other: Counts) -> Counts:
        keys = set(self.routes) | set(other.routes)
        routes = {k: self.routes.get(k, 0) - other.routes.get(k, 0) for k in keys}
        github = {k: self.sandbox_github[k] - other.sandbox_github[k] for k in self.sandbox_github}
        return Counts({k: v for k, v in routes.items() if v}, self.other - other.other, github)

    @property
    def total(self) -> int:
        return sum(self.routes.values())

    @property
    def writes(self) -> int:
        return sum(n for (m, r), n in self.routes.items() if is_write(m, r))

    @property
    def reads(self) -> int:
        return self.total - self.writes

    @property
    def graphql(self) -> int:
        return sum(n for (m, r), n in self.routes.items() if r.endswith("/graphql"))

    @property
    def rest_reads(self) -> int:
        return self.reads - self.graphql

    @property
    def prs(self) -> int:
        return self.routes.get(PULLS_ROUTE, 0)

    def write_routes(self) -> dict[tuple[str, str], int]:
        return {k: n for k, n in sorted(self.routes.items()) if is_write(*k)}

    def consistent(self) -> bool:
        """Whether the per-route sums agree with the sandbox's own GitHub totals."""
        g = self.sandbox_github
        return (g["total"], g["writes"], g["graphql"]) == (self.total, self.writes, self.graphql)


class Poller:
    """Samples the sandbox's GitHub counters every POLL_SECONDS while a command runs."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.samples: list[tuple[float, int, int]] = []  # (time.time(), total, writes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                github = self.sandbox.counters()["github"]
                self.samples.append((time.time(), github["total"], github["writes"]))
            except OSError:
                pass
            self._stop.wait(POLL_SECONDS)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def first(self, test: Any) -> float | None:
        """The time of the first sample passing ``test(total, writes)``."""
        return next((t for t, total, writes in self.samples if test(total, writes)), None)


# -- runs ----------------------------------------------------------------------------------------


@dataclass
class Step:
    label: str
    command: str  # as shown in the report, paths shortened
    measured: Measured
    counts: Counts
    sandbox_cpu: float
    stdout: str
    stderr_path: Path
    poller: Poller | None = None

    @property
    def peak_mb(self) -> float:
        return self.measured.maxrss_kb / 1024

    @property
    def ended_at(self) -> float:
        return self.measured.started_at + self.measured.wall


def bench_env(database: Path, cache: Path) -> dict[str, str]:
    """bench/scan.py's environment, plus a cache folder of the bench's own (PyPI ETags)."""
    return {**scan_env(database), "XDG_CACHE_HOME": str(cache)}


def run_step(
    label: str,
    args: Sequence[str],
    shown: str,
    sandbox: Sandbox,
    work: Path,
    env: dict[str, str],
    *,
    poll: bool = False,
    ok: Sequence[int] = (0,),
) -> Step:
    out, err = work / f"{label}.out", work / f"{label}.err"
    sandbox.reset()
    cpu_before = sandbox.cpu()
    poller = Poller(sandbox) if poll else None
    if poller:
        with poller:
            measured = run_measured([PIPFLEET, *args], env, work, out, err)
    else:
        measured = run_measured([PIPFLEET, *args], env, work, out, err)
    sandbox_cpu = sandbox.cpu() - cpu_before
    counts = Counts.of(sandbox.counters())
    stdout = out.read_text(encoding="utf-8", errors="replace")
    if measured.returncode not in ok:
        tail = err.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{label}: {shown} exited {measured.returncode}:\n{stdout[-2000:]}{tail}")
    step = Step(label, shown, measured, counts, sandbox_cpu, stdout, err, poller)
    print(f"  {describe(step)}", flush=True)
    return step


def describe(step: Step) -> str:
    c = step.counts
    return (
        f"{step.label}: {step.measured.wall:.2f} s wall, {step.measured.cpu:.2f} s CPU, "
        f"peak RSS {step.peak_mb:.0f} MB, GitHub {c.total} requests ({c.graphql} GraphQL, "
        f"{c.rest_reads} REST reads, {c.writes} writes), {c.prs} pull requests opened, "
        f"sandbox CPU {step.sandbox_cpu:.2f} s, exit {step.measured.returncode}"
    )


def prepare_config(config: Path) -> None:
    """write_pause = 0.0 under [github], max_prs_per_run = 100000 under [fix]."""
    text = config.read_text(encoding="utf-8")
    if "\n[github]\n" not in "\n" + text:
        raise SystemExit(f"no [github] table in {config}")
    text = text.replace("[github]\n", "[github]\nwrite_pause = 0.0\n", 1)
    if re.search(r"^\[fix\]$", text, re.MULTILINE):
        text = re.sub(
            r"^\[fix\]\n", "[fix]\nmax_prs_per_run = 100000\n", text, count=1, flags=re.MULTILINE
        )
    else:
        text = text.rstrip("\n") + "\n\n[fix]\nmax_prs_per_run = 100000\n"
    config.write_text(text, encoding="utf-8")
    # What pipfleet's own loader makes of it.
    settings = load_settings(config, {"GITHUB_TOKEN": TOKEN})
    if settings.github.write_pause != 0.0 or settings.fix.max_prs_per_run != 100000:
        raise SystemExit(f"{config}: write_pause / max_prs_per_run not taken")


@dataclass
class Chosen:
    name: str
    pipfile: str  # path in the repository
    lock: str


def one_pipfile_repos(fleet: Path, org: str) -> list[Chosen]:
    """orb-* repositories, live, with exactly one Pipfile and one Pipfile.lock beside it."""
    base = fleet / "github" / org
    found = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        if not folder.name.startswith("orb-"):
            continue
        meta_path = base / f"{folder.name}.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        if meta.get("archived") or meta.get("fork") or meta.get("disabled"):
            continue
        pipfiles = sorted(folder.rglob("Pipfile"))
        locks = sorted(folder.rglob("Pipfile.lock"))
        if len(pipfiles) == 1 and len(locks) == 1 and locks[0].parent == pipfiles[0].parent:
            found.append(
                Chosen(
                    folder.name,
                    pipfiles[0].relative_to(folder).as_posix(),
                    locks[0].relative_to(folder).as_posix(),
                )
            )
    return found


def opened_in(database: Path) -> set[str]:
    """Full names of the repositories with an open pull request recorded in this database."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT r.full_name FROM pull_requests p JOIN repositories r "
            "ON r.id = p.repository_id WHERE p.state = 'open'"
        ).fetchall()
    return {name for (name,) in rows}


def api_get(api_url: str, path: str) -> Any:
    request = urllib.request.Request(
        api_url + path,
        headers={"Authorization": f"token {TOKEN}", "Accept": "application/vnd.github+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def changed_on_branch(api_url: str, org: str, chosen: Chosen, branch: str) -> dict[str, bool]:
    """Whether each of the two files differs on ``branch`` from the default branch (blob sha)."""
    changed = {}
    ref = urllib.parse.quote(branch, safe="")
    for path in (chosen.pipfile, chosen.lock):
        where = f"/repos/{org}/{chosen.name}/contents/{urllib.parse.quote(path)}"
        changed[path] = (
            api_get(api_url, where)["sha"] != api_get(api_url, f"{where}?ref={ref}")["sha"]
        )
    return changed


def paragraph_figures(stdout: str) -> tuple[int | None, int | None]:
    """(opened, write requests) as `pipfleet run` states them in its closing paragraph."""
    opened = re.search(r"Pull requests: (\d+) opened", stdout)
    writes = re.search(r"\((\d+) write requests\)", stdout)
    return (
        int(opened.group(1)) if opened else None,
        int(writes.group(1)) if writes else None,
    )


# -- results -------------------------------------------------------------------------------------


@dataclass
class Phases:
    """Where the cold run's time went, from its log lines and the polled counters."""

    listing: float  # spawn -> scan.listing (start-up, migration, registry intel)
    scan: float  # scan.listing -> the last scan.progress line
    fix: float  # last scan.progress -> GitHub counters at their final value
    report: float  # -> exit (the fix's last database writes, the HTML dashboard, exit)
    first_write: float | None  # seconds after spawn
    last_write: float | None  # seconds after spawn, when writes reached their final count


def phases(step: Step) -> Phases:
    assert step.poller is not None
    start = step.measured.started_at
    listing_at = float(log_event(step.stderr_path, "scan.listing")["ts"])
    scanned_at = float(log_event(step.stderr_path, "scan.progress")["ts"])
    final_total, final_writes = step.counts.sandbox_github["total"], step.counts.writes
    quiet = step.poller.first(lambda total, writes: total >= final_total) or step.ended_at
    first_write = step.poller.first(lambda total, writes: writes > 0)
    last_write = step.poller.first(lambda total, writes: writes >= final_writes)
    return Phases(
        listing=listing_at - start,
        scan=scanned_at - listing_at,
        fix=quiet - scanned_at,
        report=step.ended_at - quiet,
        first_write=None if first_write is None or not final_writes else first_write - start,
        last_write=None if last_write is None or not final_writes else last_write - start,
    )


@dataclass
class Result:
    repos: int
    seed: int
    fleet: dict[str, int]
    cold: Step
    warm: Step
    scan: Step  # scan alone, fresh sandbox and database
    one: Step  # fix --repo NAME after that scan
    chosen: Chosen
    candidates: int  # one-Pipfile-and-lock repositories that got a pull request
    changed: dict[str, bool]
    labels: tuple[str, ...]
    notes: list[str] = field(default_factory=list)

    @property
    def fix_phase(self) -> Counts:
        return self.cold.counts - self.scan.counts

    @property
    def writes_per_pr(self) -> int:
        """Writes of the one-repository fix, which opened exactly one pull request."""
        return self.one.counts.writes

    @property
    def mean_writes_per_pr(self) -> float:
        c = self.cold.counts
        return c.writes / c.prs if c.prs else float("nan")


def rates(writes_per_pr: int, default_pause: float) -> dict[str, int]:
    paced_per_minute = math.floor(60 / default_pause) if default_pause > 0 else None
    per_minute_cap = min(GITHUB_WRITES_PER_MINUTE, paced_per_minute or GITHUB_WRITES_PER_MINUTE)
    return {
        "per_hour": GITHUB_WRITES_PER_HOUR // writes_per_pr,
        "per_minute": GITHUB_WRITES_PER_MINUTE // writes_per_pr,
        "paced_writes_per_minute": paced_per_minute or 0,
        "paced_per_minute": per_minute_cap // writes_per_pr,
        "paced_per_hour": min(GITHUB_WRITES_PER_HOUR, per_minute_cap * 60) // writes_per_pr,
    }


def route_table(result: Result) -> list[str]:
    columns = [
        ("cold run", result.cold.counts),
        ("scan alone", result.scan.counts),
        ("fix phase (cold − scan)", result.fix_phase),
        ("warm run", result.warm.counts),
        ("one-repository fix", result.one.counts),
    ]
    keys = sorted(
        set().union(*(c.routes for _, c in columns)), key=lambda k: (is_write(*k), k[1], k[0])
    )
    lines = [
        "| Method | Route | Write | " + " | ".join(name for name, _ in columns) + " |",
        "|---|---|---|" + "---:|" * len(columns),
    ]
    for key in keys:
        method, route = key
        lines.append(
            f"| {method} | `{short_route(route)}` | {'yes' if is_write(*key) else 'no'} | "
            + " | ".join(str(c.routes.get(key, 0)) for _, c in columns)
            + " |"
        )
    lines.append(
        "| | **GitHub total** | | " + " | ".join(f"**{c.total}**" for _, c in columns) + " |"
    )
    lines.append("| | **writes** | | " + " | ".join(f"**{c.writes}**" for _, c in columns) + " |")
    return lines


def render_section(command: str, result: Result, load: tuple[float, float]) -> str:
    cold, warm, one = result.cold, result.warm, result.one
    ph = phases(cold)
    wpp = result.writes_per_pr
    default_pause = GitHubSettings.write_pause
    r = rates(wpp, default_pause)
    fix = result.fix_phase
    prs = cold.counts.prs
    opened, said_writes = paragraph_figures(cold.stdout)
    f = result.fleet
    write_span = (
        ph.last_write - ph.first_write
        if ph.first_write is not None and ph.last_write is not None
        else None
    )
    met = wpp <= WRITES_PER_PR
    one_routes = ", ".join(
        f"{m} `{short_route(route)}` × {n}" for (m, route), n in one.counts.write_routes().items()
    )
    lines = [
        SECTION_TITLE,
        "",
        *context_lines(command),
        code_line(),
        f"- Load average (1 min) before / after the run: {load[0]:.2f} / {load[1]:.2f} "
        f"on {os.cpu_count()} cores",
        f"- Fleet: `pipfleet sandbox make-fleet DIR --repos {result.repos} --seed {result.seed}`: "
        f"{f.get('repositories')} repositories, {f.get('pipfiles')} Pipfiles, "
        f"{f.get('lockfiles')} locks; served by `pipfleet sandbox serve --fleet DIR --port 0 "
        "--write-config CFG` in its own process; CFG as written plus `write_pause = 0.0` under "
        "`[github]` and `max_prs_per_run = 100000` under `[fix]` (labels: "
        + (", ".join(f"`{label}`" for label in result.labels) or "none")
        + ")",
        "- Runs: `pipfleet run --config CFG --report <tmp>/dashboard.html --log-format json` in "
        "its own process under GNU time, GITHUB_TOKEN=sandbox-token, AWS keys `sandbox`, "
        "AWS_CONFIG_FILE=/dev/null, PIPFLEET_DATABASE_URL=sqlite:///<tmp>/pipfleet.db (fresh), "
        "XDG_CACHE_HOME=<tmp>/cache; cold = the first run (scan, fix opening every pull "
        "request, dashboard), warm = the same run again at once, nothing changed. One round.",
        f"- One pull request: `{result.chosen.name}` (first by name of the "
        f"{result.candidates} repositories with exactly one Pipfile and its lock that got a "
        f"pull request in the cold run; `{result.chosen.pipfile}` + `{result.chosen.lock}`), "
        "on a fresh sandbox and database: `pipfleet scan --config CFG --log-format json`, then "
        f"`pipfleet fix --config CFG --repo {result.chosen.name}` with the counters reset. "
        "Its branch changes "
        + ", ".join(
            f"`{path}` ({'changed' if changed else 'NOT changed'})"
            for path, changed in result.changed.items()
        )
        + " (blob sha on the branch against the default branch, through the sandbox's REST API).",
        "",
        "| Run | Wall s | Peak RSS MB | CPU s | Sandbox CPU s | GitHub req | GraphQL | REST reads "
        "| Writes | PRs opened | Writes / PR | Exit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, step in (
        ("`pipfleet run`, cold", cold),
        ("`pipfleet run`, warm", warm),
        ("`pipfleet scan` alone (fresh)", result.scan),
        (f"`pipfleet fix --repo {result.chosen.name}`", one),
    ):
        c = step.counts
        per = f"{c.writes / c.prs:.2f}" if c.prs else "—"
        lines.append(
            f"| {label} | {step.measured.wall:.2f} | {step.peak_mb:.0f} | {step.measured.cpu:.2f} "
            f"| {step.sandbox_cpu:.2f} | {c.total} | {c.graphql} | {c.rest_reads} | {c.writes} "
            f"| {c.prs} | {per} | {step.measured.returncode} |"
        )
    lines += [
        "",
        "Cold run, phase by phase (from its JSON log lines and the counters polled every "
        f"{POLL_SECONDS} s, so the fix / dashboard boundary is good to about {POLL_SECONDS} s):",
        "",
        "| Phase | Seconds | GitHub requests |",
        "|---|---:|---:|",
        f"| start-up, migration, registry intel (spawn → `scan.listing`) | {ph.listing:.2f} | — |",
        f"| scan (`scan.listing` → last `scan.progress`) | {ph.scan:.2f} "
        f"| {result.scan.counts.total} (as the scan alone) |",
        f"| fix (→ GitHub counters at their final value) | {ph.fix:.2f} "
        f"| {fix.total}: {fix.graphql} GraphQL + {fix.rest_reads} REST reads "
        f"+ {fix.writes} writes |",
        f"| dashboard and exit | {ph.report:.2f} | 0 |",
        f"| **whole run (wall)** | **{cold.measured.wall:.2f}** | **{cold.counts.total}** |",
        "",
        f"Pull requests opened by the cold run: **{prs}** "
        f"(`pipfleet run` says {opened} opened, {said_writes} write requests); writes "
        + (
            f"from {ph.first_write:.2f} s to {ph.last_write:.2f} s after spawn: "
            f"{write_span:.2f} s, "
            f"about {prs / write_span:.0f} pull requests / {fix.writes / write_span:.0f} writes "
            "a second with no pause (the sandbox on loopback; GitHub is far slower)."
            if write_span
            else "not timed."
        ),
        "",
        "GitHub requests by route (sandbox counters, reset before each run; fix phase = "
        "cold run minus the scan alone on the same fleet):",
        "",
        *route_table(result),
        "",
        "Rate under GitHub's secondary limits for content-creating requests "
        f"({GITHUB_WRITES_PER_MINUTE} a minute, {GITHUB_WRITES_PER_HOUR} an hour; every write "
        "counted as content-creating, the conservative reading), at "
        f"{wpp} writes per pull request:",
        "",
        f"- At most **{r['per_hour']} pull requests an hour** "
        f"(floor({GITHUB_WRITES_PER_HOUR} / {wpp})) and **{r['per_minute']} a minute** "
        f"(floor({GITHUB_WRITES_PER_MINUTE} / {wpp})); the hourly limit binds for any run "
        f"longer than {GITHUB_WRITES_PER_HOUR / GITHUB_WRITES_PER_MINUTE:.2f} minutes.",
        f"- With pipfleet's default `write_pause = {default_pause:g}` s (the config default; "
        "PyGithub's `seconds_between_writes`) a run sends at most "
        f"{r['paced_writes_per_minute']} writes a minute, under the {GITHUB_WRITES_PER_MINUTE} "
        f"a minute: {r['paced_per_minute']} pull requests a minute, and still "
        f"{r['paced_per_hour']} an hour (the {GITHUB_WRITES_PER_HOUR} an hour binds after "
        f"{GITHUB_WRITES_PER_HOUR / max(r['paced_writes_per_minute'], 1):.1f} minutes).",
        f"- The default `max_prs_per_run = {FixSettings.max_prs_per_run}` keeps one run at "
        f"{FixSettings.max_prs_per_run * wpp} writes, inside the hourly limit, and "
        f"{FixSettings.max_prs_per_run * wpp * default_pause / 60:.1f} minutes of write pauses. "
        f"This fleet's {prs} pull requests need at least {math.ceil(prs / r['per_hour'])} "
        f"hours at {r['per_hour']} an hour, or {math.ceil(prs / FixSettings.max_prs_per_run)} "
        "runs at the default cap. With `write_pause = 0` (this benchmark) nothing paces the "
        "writes: on GitHub the secondary limit can answer after "
        f"{GITHUB_WRITES_PER_MINUTE} writes in a minute, and pipfleet's rate-limit handling "
        "then waits (up to `max_wait`) or stops the run with the rest deferred.",
        "",
        "Targets:",
        "",
        f"- <= {WRITES_PER_PR} write requests per pull request (a repository with one Pipfile "
        f"and its lock): **{'met' if met else 'not met'}** ({wpp}: {one_routes}; "
        f"cold run over {prs} pull requests: mean {result.mean_writes_per_pr:.2f})",
        "- the warm run sends no write request: "
        f"**{'met' if warm.counts.writes == 0 else 'not met'}** ({warm.counts.writes} writes; "
        f"its {warm.counts.rest_reads} REST reads: "
        + (
            ", ".join(
                f"{m} `{short_route(route)}` × {n}"
                for (m, route), n in sorted(warm.counts.routes.items())
                if not is_write(m, route) and not route.endswith("/graphql")
            )
            or "none"
        )
        + ")",
        "",
        "Method notes:",
        "",
        "- Writes are every GitHub request that is not GET/HEAD/OPTIONS and not a GraphQL "
        "query, as the sandbox's `github.writes` counts them; every run's per-route sums agree "
        "with the sandbox's own totals"
        + (
            ""
            if all(s.counts.consistent() for s in (cold, warm, result.scan, one))
            else " (NOT: check)"
        )
        + ". Pull requests opened = `POST /pulls`.",
        "- Writes per pull request: the one-repository fix opened exactly one pull request, so "
        "its writes are that pull request's cost, exactly. The cold run's per-route counts give "
        "the same figure for the whole fleet: each write route is hit once per pull request.",
        "- Wall time is spawn to exit of the `pipfleet` process; peak RSS and CPU are its own "
        f"rusage, reported by {rss_method()} (see the scan section for why). The sandbox runs "
        "in its own process and shares the cores: its CPU is listed apart.",
        "- The run's phases: `scan.listing` and the last `scan.progress` are the run's own "
        "JSON log lines (stderr); the end of the fix phase is the first counter sample at the "
        "run's final GitHub request count (a 0.1 s poll of `GET /_sandbox/counters`, which the "
        "sandbox does not count); the rest is the dashboard and the process's exit.",
    ]
    lines += [
        f"- Reads: the fix phase's {fix.graphql} GraphQL queries list the org again and read the "
        "candidates' Pipfiles and locks; its REST reads are one `GET /git/commits/{sha}` per "
        "pull request (the head commit's tree). The warm run's REST reads are one "
        "`GET /pulls/{number}` per pull request recorded open (whether a human merged or "
        f"closed it). `fix --repo` sends {one.counts.graphql} GraphQL queries: it lists the "
        "whole org before reading the one repository.",
        *(f"- {note}" for note in result.notes),
    ]
    return "\n".join(lines) + "\n"


# -- main ----------------------------------------------------------------------------------------


def measure(repos: int, seed: int, root: Path) -> Result:
    fleet_dir = root / "fleet"
    print(f"make-fleet --repos {repos} --seed {seed}", flush=True)
    fleet, _ = make_fleet(fleet_dir, repos, seed)

    # The cold and the warm `pipfleet run`.
    work = root / "run"
    work.mkdir()
    config = work / "pipfleet.toml"
    sandbox = Sandbox(fleet_dir, config, work)
    try:
        prepare_config(config)
        labels = load_settings(config, {"GITHUB_TOKEN": TOKEN}).fix.labels
        org = config_value(config, "org")
        database = work / "pipfleet.db"
        env = bench_env(database, work / "cache")
        run_args = ["run", "--config", str(config), "--report", str(work / "dashboard.html")]
        run_args += ["--log-format", "json"]
        shown = "pipfleet run --config CFG --report <tmp>/dashboard.html --log-format json"
        print(f"sandbox on {sandbox.base}; pipfleet run (cold)", flush=True)
        cold = run_step("cold", run_args, shown, sandbox, work, env, poll=True, ok=(0, 3))
        print("pipfleet run (warm)", flush=True)
        warm = run_step("warm", run_args, shown, sandbox, work, env, poll=True, ok=(0, 3))
    finally:
        sandbox.stop()

    opened = opened_in(database)
    candidates = [c for c in one_pipfile_repos(fleet_dir, org) if f"{org}/{c.name}" in opened]
    if not candidates:
        raise SystemExit("no repository with exactly one Pipfile and its lock got a pull request")
    chosen = candidates[0]

    # On a fresh sandbox and database: the scan alone, then one pull request.
    work = root / "one"
    work.mkdir()
    config = work / "pipfleet.toml"
    sandbox = Sandbox(fleet_dir, config, work)
    try:
        prepare_config(config)
        env = bench_env(work / "pipfleet.db", work / "cache")
        print(
            f"sandbox on {sandbox.base}; pipfleet scan, then fix --repo {chosen.name}", flush=True
        )
        scan = run_step(
            "scan",
            ["scan", "--config", str(config), "--log-format", "json"],
            "pipfleet scan --config CFG --log-format json",
            sandbox,
            work,
            env,
            ok=(0, 3),
        )
        one = run_step(
            "one",
            ["fix", "--config", str(config), "--repo", chosen.name],
            f"pipfleet fix --config CFG --repo {chosen.name}",
            sandbox,
            work,
            env,
        )
        api_url = config_value(config, "api_url")
        branch = load_settings(config, {"GITHUB_TOKEN": TOKEN}).fix.branch
        changed = changed_on_branch(api_url, org, chosen, branch)
    finally:
        sandbox.stop()
    if one.counts.prs != 1:
        raise SystemExit(f"fix --repo {chosen.name} opened {one.counts.prs} pull requests, not 1")

    result = Result(
        repos, seed, fleet, cold, warm, scan, one, chosen, len(candidates), changed, labels
    )
    opened_said, writes_said = paragraph_figures(cold.stdout)
    if (opened_said, writes_said) != (cold.counts.prs, cold.counts.writes):
        result.notes.append(
            f"`pipfleet run` reports {opened_said} opened and {writes_said} write requests; the "
            f"sandbox counted {cold.counts.prs} `POST /pulls` and {cold.counts.writes} writes."
        )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=DEFAULT_REPOS, help="fleet size")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="make-fleet seed")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.repos < 1:
        parser.error("--repos must be at least 1")
    if not Path(PIPFLEET).exists():
        parser.error(f"{PIPFLEET} not found: run with the project's .venv/bin/python")

    load_before = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="pipfleet-bench-fix-"))
    try:
        result = measure(args.repos, args.seed, root)
        load = (load_before, os.getloadavg()[0])
        shown = list(sys.argv[1:] if argv is None else argv)
        command = " ".join([".venv/bin/python", "bench/fix.py", *shown])
        section = render_section(command, result, load)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    wpp = result.writes_per_pr
    r = rates(wpp, GitHubSettings.write_pause)
    print()
    print(
        f"cold run {result.cold.measured.wall:.2f} s, {result.cold.counts.prs} PRs, "
        f"{result.cold.counts.writes} writes (mean {result.mean_writes_per_pr:.2f}/PR); warm run "
        f"{result.warm.measured.wall:.2f} s, {result.warm.counts.writes} writes; one PR: {wpp} "
        f"writes -> {r['per_hour']} PRs/hour, {r['per_minute']}/minute "
        f"({r['paced_per_minute']}/minute at the default write pause)"
    )
    print(
        f"target <= {WRITES_PER_PR} writes per PR: {'met' if wpp <= WRITES_PER_PR else 'NOT MET'}"
    )
    if not args.no_write:
        update_section(SECTION_TITLE, section)
        print(f"updated {(ROOT / 'BENCHMARKS.md').relative_to(ROOT)}")
    else:
        print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
