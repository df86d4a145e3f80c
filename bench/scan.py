"""Benchmark: `pipfleet scan` against the sandbox on synthetic fleets, and the naive REST path.

For each fleet size (``--sizes``, default 100,1000,5000) the script

1. writes a synthetic fleet with ``pipfleet sandbox make-fleet DIR --repos N --seed S``;
2. starts ``pipfleet sandbox serve --fleet DIR --port 0 --write-config CFG`` in its own
   process and waits until its control endpoint answers;
3. runs ``pipfleet scan --config CFG --log-format json`` in its own process against a
   fresh SQLite database (cold), then at once again against the same database with
   nothing changed (warm). The sandbox's counters are reset before each scan and read
   after it; the scan runs under GNU time (else a small python reaper), which reports
   the scan process's own peak RSS and CPU (see ``run_measured`` for why not wait4 here);
4. runs the naive path in this process, for comparison: PyGithub lists the org's
   repositories over REST (100 a page) and calls ``get_contents("Pipfile")`` once per
   non-empty repository (404s caught), counted by the same sandbox counters;
5. repeats 3 and 4 ``--repeat`` times (default 3) and reports the median round;
6. stops the sandbox.

Then it checks the targets and rewrites its own section of BENCHMARKS.md (other sections
are kept). Timings belong here, never in the test suite.

    .venv/bin/python bench/scan.py                      # all sizes, writes BENCHMARKS.md
    .venv/bin/python bench/scan.py --sizes 1000 --repeat 1 --no-write
    .venv/bin/python bench/scan.py --graphql-batch 50   # add graphql_batch to the config
    .venv/bin/python bench/scan.py --profile 1000       # cProfile a cold and a warm scan
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from _report import ROOT, context_lines, update_section
from github import Auth, Github, GithubException

import pipfleet
from pipfleet.config import GitHubSettings, load_settings

SECTION_TITLE = "## scan: fleet scan against the sandbox"
BIN = Path(sys.executable).parent  # the venv's bin: `pipfleet` sits beside this python
PIPFLEET = str(BIN / "pipfleet")
TOKEN = "sandbox-token"
DEFAULT_SIZES = "100,1000,5000"
DEFAULT_SEED = 7

# Targets. At 1,000 repositories:
COLD_REQUESTS_1000 = 60
COLD_SECONDS_1000 = 20.0
WARM_REQUESTS_1000 = 15
WARM_SECONDS_1000 = 5.0
# At 5,000 repositories: cold within this factor of the 1,000 figures, and peak RSS.
SCALE_5000 = 5.0
PEAK_RSS_MB_5000 = 300.0
# Requests grow with N/100: cold requests per 100 repositories, largest over smallest size.
PER_100_SPREAD = 1.5


# -- processes -------------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any GitHub, AWS, CodeArtifact or pipfleet variable, plus extra."""
    drop = ("PIPFLEET_", "GITHUB_", "AWS_", "CODEARTIFACT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def scan_env(database: Path) -> dict[str, str]:
    return clean_env(
        GITHUB_TOKEN=TOKEN,
        AWS_ACCESS_KEY_ID="sandbox",
        AWS_SECRET_ACCESS_KEY="sandbox",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        PIPFLEET_DATABASE_URL=f"sqlite:///{database}",
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (/proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    returncode: int
    wall: float  # seconds from spawn to exit, measured here
    maxrss_kb: int  # the process's own peak RSS (ru_maxrss, KiB on Linux)
    cpu: float  # its user + system CPU seconds
    started_at: float  # time.time() at spawn, to compare with the scan's log timestamps


GNU_TIME = "/usr/bin/time"
# The fallback when GNU time is missing: a small interpreter that forks, execs cmd, and
# reports its child's rusage. Its own RSS (a few MB) becomes a floor under the figure.
_REAPER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{ru.ru_maxrss} {ru.ru_utime} {ru.ru_stime} {os.waitstatus_to_exitcode(status)}")
sys.exit(min(max(os.waitstatus_to_exitcode(status), 0), 255))
"""


def rss_method() -> str:
    return "GNU time" if os.access(GNU_TIME, os.X_OK) else "python reaper"


def run_measured(
    cmd: Sequence[str], env: dict[str, str], cwd: Path, out: Path, err: Path
) -> Measured:
    """Run cmd to its end, through a small reaper that reports cmd's own rusage.

    The reaper (GNU time, else a `python -S` one) forks and execs cmd and waits for it.
    Reaping cmd here with os.wait4 instead would be wrong: subprocess spawns with vfork,
    and exec keeps the parent's RSS high-water mark as the child's ru_maxrss floor, so
    every figure would be at least this bench process's own peak RSS.
    """
    usage_file = out.with_suffix(".rusage")
    if rss_method() == "GNU time":
        wrapped = [GNU_TIME, "-o", str(usage_file), "-f", "%M %U %S %x", *cmd]
    else:
        wrapped = [sys.executable, "-S", "-c", _REAPER, str(usage_file), *cmd]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started_at = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
        )
        try:
            proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - start
    # GNU time writes "Command exited with non-zero status N" before the format line.
    lines = usage_file.read_text(encoding="utf-8").strip().splitlines()
    maxrss, user, system, code = lines[-1].split()
    return Measured(int(code), wall, int(maxrss), float(user) + float(system), started_at)


def make_fleet(out: Path, repos: int, seed: int) -> tuple[dict[str, int], float]:
    start = time.perf_counter()
    done = subprocess.run(
        [PIPFLEET, "sandbox", "make-fleet", str(out), "--repos", str(repos), "--seed", str(seed)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"make-fleet failed ({done.returncode}): {done.stderr.strip()}")
    # "wrote DIR: repositories 1000, pipfiles 1292, ..."
    tail = done.stdout.strip().rsplit(": ", 1)[1]
    summary = {key: int(value) for key, value in (item.rsplit(" ", 1) for item in tail.split(", "))}
    return summary, seconds


class Sandbox:
    """`pipfleet sandbox serve` in its own process: its URLs, counters and CPU time."""

    def __init__(self, fleet: Path, config: Path, logs: Path):
        self.config = config
        self._out = logs / "sandbox.out"
        self._err = logs / "sandbox.err"
        cmd = [PIPFLEET, "sandbox", "serve", "--fleet", str(fleet), "--port", "0"]
        cmd += ["--token", TOKEN, "--write-config", str(config)]
        start = time.perf_counter()
        with self._out.open("wb") as out, self._err.open("wb") as err:
            self.proc = subprocess.Popen(
                cmd, env=clean_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
        try:
            self.base = self._wait_for_base(timeout=600)
            self.control = self.base + "/_sandbox"
            self._wait_ready(timeout=60)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - start

    def _wait_for_base(self, timeout: float) -> str:
        """The base URL from the banner's first line: `pipfleet sandbox: ... on URL`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self._out.read_text(encoding="utf-8", errors="replace")
            if "\n" in text:
                found = re.search(r" on (http://\S+)$", text.splitlines()[0])
                if not found:
                    raise SystemExit(f"unexpected sandbox banner: {text.splitlines()[0]!r}")
                return found.group(1)
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"the sandbox exited ({self.proc.returncode}): {self.stderr_tail()}"
                )
            time.sleep(0.05)
        raise SystemExit(f"the sandbox printed no URL within {timeout:.0f} s")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.counters()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the sandbox did not answer: {self.stderr_tail()}") from None
                time.sleep(0.05)

    def stderr_tail(self) -> str:
        return self._err.read_text(encoding="utf-8", errors="replace")[-2000:]

    def counters(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.control + "/counters", timeout=30) as answer:
            data: dict[str, Any] = json.load(answer)
            return data

    def reset(self) -> None:
        request = urllib.request.Request(self.control + "/counters/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- measurements ----------------------------------------------------------------------------


# The sandbox's routes for the CodeArtifact calls lock provenance adds (issue 11).
ASSETS_ROUTE = "/codeartifact/v1/package/version/assets"  # ListPackageVersionAssets
DEPENDENCIES_ROUTE = "/codeartifact/v1/package/version/dependencies"  # ...Dependencies


@dataclass(frozen=True)
class Requests:
    github: int
    graphql: int
    rest: int  # GitHub requests that are not GraphQL
    other: int  # CodeArtifact and PyPI (the registry intel a scan gathers)
    assets: int = 0  # of other: CodeArtifact ListPackageVersionAssets
    dependencies: int = 0  # of other: CodeArtifact ListPackageVersionDependencies

    @classmethod
    def of(cls, counters: dict[str, Any]) -> Requests:
        github = counters["github"]
        by_route = Counter[str]()
        for row in counters["requests"]:
            by_route[row["route"]] += row["count"]
        return cls(
            github=github["total"],
            graphql=github["graphql"],
            rest=github["total"] - github["graphql"],
            other=counters["total"] - github["total"],
            assets=by_route[ASSETS_ROUTE],
            dependencies=by_route[DEPENDENCIES_ROUTE],
        )

    @property
    def versions(self) -> str:
        """The CodeArtifact version requests, "assets / dependencies"."""
        return f"{self.assets} / {self.dependencies}"


@dataclass
class ScanRun:
    label: str  # cold / warm
    measured: Measured
    requests: Requests
    sandbox_cpu: float
    summary: dict[str, Any]
    listing_at: float  # ts of the scan.listing event: registry intel gathered, DB migrated

    @property
    def peak_mb(self) -> float:
        return self.measured.maxrss_kb / 1024

    @property
    def startup(self) -> float:
        """Spawn to scan.listing: interpreter, imports, migration, registry intel."""
        return self.listing_at - self.measured.started_at

    @property
    def phase(self) -> float:
        """scan.listing to scan.summary: list, read, audit and record the repositories."""
        return float(self.summary["ts"]) - self.listing_at


@dataclass
class NaiveRun:
    wall: float
    requests: Requests
    sandbox_cpu: float
    listed: int = 0
    contents_calls: int = 0
    pipfiles: int = 0
    not_found: int = 0
    errors: int = 0


@dataclass
class SizeResult:
    size: int
    fleet: dict[str, int]
    fleet_seconds: float
    sandbox_seconds: float
    cold_runs: list[ScanRun]
    warm_runs: list[ScanRun]
    naive_runs: list[NaiveRun]
    graphql_batch: int | None = None  # --graphql-batch, None: the config as written
    batch_in_effect: int = 0  # what pipfleet's config loader makes of the config

    # Times are the median run's (by wall time); peak RSS is the largest over the runs.
    @property
    def cold(self) -> ScanRun:
        return median_run(self.cold_runs)

    @property
    def warm(self) -> ScanRun:
        return median_run(self.warm_runs)

    @property
    def naive(self) -> NaiveRun:
        return median_run(self.naive_runs)

    @property
    def cold_peak_mb(self) -> float:
        return max(run.peak_mb for run in self.cold_runs)

    @property
    def warm_peak_mb(self) -> float:
        return max(run.peak_mb for run in self.warm_runs)

    @property
    def per_100(self) -> float:
        return self.cold.requests.github / (self.size / 100)

    def request_counts_vary(self) -> list[str]:
        """Labels whose GitHub request count differed between repeats (it should not)."""
        runs: dict[str, Sequence[ScanRun | NaiveRun]] = {
            "cold": self.cold_runs,
            "warm": self.warm_runs,
            "naive": self.naive_runs,
        }
        return [label for label, rs in runs.items() if len({r.requests for r in rs}) > 1]


R = TypeVar("R", ScanRun, NaiveRun)


def wall_of(run: ScanRun | NaiveRun) -> float:
    return run.measured.wall if isinstance(run, ScanRun) else run.wall


def median_run(runs: Sequence[R]) -> R:
    """The run with the median wall time (the lower middle one of an even count)."""
    ordered = sorted(runs, key=wall_of)
    return ordered[(len(ordered) - 1) // 2]


def walls(runs: Sequence[ScanRun | NaiveRun]) -> str:
    return ", ".join(f"{wall_of(run):.2f}" for run in runs)


def log_event(path: Path, event: str) -> dict[str, Any]:
    """The last JSON log line of this event in a scan's output."""
    for line in reversed(path.read_text(encoding="utf-8", errors="replace").splitlines()):
        if line.startswith("{"):
            data: dict[str, Any] = json.loads(line)
            if data.get("event") == event:
                return data
    raise ValueError(f"no {event} line in {path.name}")


def run_scan(
    label: str, sandbox: Sandbox, work: Path, database: Path, profile_to: Path | None = None
) -> ScanRun:
    scan_args = ["scan", "--config", str(sandbox.config), "--log-format", "json"]
    if profile_to is None:
        cmd = [PIPFLEET, *scan_args]
    else:
        cmd = [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(profile_to),
            "-m",
            "pipfleet",
            *scan_args,
        ]
    out, err = work / f"scan-{label}.out", work / f"scan-{label}.err"
    sandbox.reset()
    cpu_before = sandbox.cpu()
    measured = run_measured(cmd, scan_env(database), work, out, err)
    sandbox_cpu = sandbox.cpu() - cpu_before
    requests = Requests.of(sandbox.counters())
    try:
        summary = log_event(out, "scan.summary")  # stdout
        listing_at = log_event(err, "scan.listing")["ts"]  # progress lines go to stderr
    except ValueError as exc:
        tail = err.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{label} scan: {exc} (exit {measured.returncode}):\n{tail}") from None
    if measured.returncode not in (0, 3):  # 3: partial, still measured
        tail = err.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{label} scan failed (exit {measured.returncode}):\n{tail}")
    return ScanRun(label, measured, requests, sandbox_cpu, summary, listing_at)


def run_naive(sandbox: Sandbox, api_url: str, org: str) -> NaiveRun:
    """PyGithub over REST: list the org's repositories, then one get_contents per non-empty one."""
    github = Github(
        base_url=api_url,
        auth=Auth.Token(TOKEN),
        per_page=100,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    sandbox.reset()
    cpu_before = sandbox.cpu()
    run = NaiveRun(wall=0.0, requests=Requests(0, 0, 0, 0), sandbox_cpu=0.0)
    start = time.perf_counter()
    for repo in github.get_organization(org).get_repos():
        run.listed += 1
        if not repo.size:  # GitHub reports size 0 for an empty repository
            continue
        run.contents_calls += 1
        try:
            repo.get_contents("Pipfile")
        except GithubException as exc:
            if exc.status == 404:
                run.not_found += 1
            else:
                run.errors += 1
            continue
        run.pipfiles += 1
    run.wall = time.perf_counter() - start
    run.sandbox_cpu = sandbox.cpu() - cpu_before
    run.requests = Requests.of(sandbox.counters())
    github.close()
    return run


def config_value(config: Path, key: str) -> str:
    found = re.search(rf'^{key} = "([^"]*)"', config.read_text(encoding="utf-8"), re.MULTILINE)
    if not found:
        raise SystemExit(f"no {key} in {config}")
    return found.group(1)


def batch_in_effect(config: Path) -> int:
    """The graphql_batch pipfleet's own config loader reads from this config file."""
    return int(load_settings(config, {"GITHUB_TOKEN": TOKEN}).github.graphql_batch)


def set_graphql_batch(config: Path, batch: int) -> None:
    """Add ``graphql_batch`` to the [github] table of the config the sandbox wrote."""
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[github]\n", f"[github]\ngraphql_batch = {batch}\n", 1))


def measure_size(
    size: int, seed: int, root: Path, graphql_batch: int | None, repeat: int
) -> SizeResult:
    work = root / f"fleet-{size}"
    work.mkdir()
    fleet_dir = work / "fleet"
    print(f"[{size}] make-fleet --repos {size} --seed {seed}", flush=True)
    fleet, fleet_seconds = make_fleet(fleet_dir, size, seed)
    config = work / "pipfleet.toml"
    sandbox = Sandbox(fleet_dir, config, work)
    try:
        print(
            f"[{size}] sandbox on {sandbox.base} (up in {sandbox.startup_seconds:.1f} s)",
            flush=True,
        )
        if graphql_batch is not None:
            set_graphql_batch(config, graphql_batch)
        api_url, org = config_value(config, "api_url"), config_value(config, "org")
        colds, warms, naives = [], [], []
        for attempt in range(1, repeat + 1):
            database = work / f"pipfleet-{attempt}.db"  # fresh for every cold scan
            colds.append(run_scan("cold", sandbox, work, database))
            print(f"[{size}] #{attempt} {describe(colds[-1])}", flush=True)
            warms.append(run_scan("warm", sandbox, work, database))
            print(f"[{size}] #{attempt} {describe(warms[-1])}", flush=True)
            naive = run_naive(sandbox, api_url, org)
            naives.append(naive)
            print(
                f"[{size}] #{attempt} naive: {naive.wall:.2f} s, {naive.requests.github} GitHub "
                f"requests ({naive.listed} repositories listed, {naive.contents_calls} "
                f"get_contents, {naive.pipfiles} Pipfiles, {naive.not_found} 404, "
                f"{naive.errors} other errors)",
                flush=True,
            )
    finally:
        sandbox.stop()
    return SizeResult(
        size,
        fleet,
        fleet_seconds,
        sandbox.startup_seconds,
        colds,
        warms,
        naives,
        graphql_batch,
        batch_in_effect(config),
    )


def describe(run: ScanRun) -> str:
    s = run.summary
    return (
        f"{run.label}: {run.measured.wall:.2f} s wall (start-up {run.startup:.2f} s, "
        f"scan phase {run.phase:.2f} s), {run.measured.cpu:.2f} s CPU, "
        f"peak RSS {run.peak_mb:.0f} MB, {run.requests.github} GitHub requests "
        f"({run.requests.graphql} GraphQL), CodeArtifact version requests (assets / "
        f"dependencies) {run.requests.versions}, sandbox CPU {run.sandbox_cpu:.2f} s; "
        f"{s['repositories']} repositories ({s['fetched']} read, {s['carried']} unchanged, "
        f"{s['skipped']} skipped, {s['failed']} failed), {s['pipfiles']} Pipfiles, "
        f"exit {run.measured.returncode}"
    )


# -- targets and report ----------------------------------------------------------------------


@dataclass
class Target:
    text: str
    met: bool | None  # None: not measured (the size was not run)
    detail: str


def targets(results: Sequence[SizeResult]) -> list[Target]:
    by_size = {r.size: r for r in results}
    one, five = by_size.get(1000), by_size.get(5000)

    def check(text: str, value: float | None, limit: float | None, shown: str) -> Target:
        if value is None or limit is None:
            return Target(text, None, "not measured")
        return Target(text, value <= limit, shown.format(value))

    scale = f"{SCALE_5000:.0f}x the 1,000 cold"
    limit_req = SCALE_5000 * one.cold.requests.github if one else None
    limit_s = SCALE_5000 * one.cold.measured.wall if one else None
    out = [
        check(
            f"1,000 cold: <= {COLD_REQUESTS_1000} GitHub requests",
            one.cold.requests.github if one else None,
            COLD_REQUESTS_1000,
            "{:d} requests",
        ),
        check(
            f"1,000 cold: <= {COLD_SECONDS_1000:.0f} s",
            one.cold.measured.wall if one else None,
            COLD_SECONDS_1000,
            "{:.2f} s",
        ),
        check(
            f"1,000 warm: <= {WARM_REQUESTS_1000} GitHub requests",
            one.warm.requests.github if one else None,
            WARM_REQUESTS_1000,
            "{:d} requests",
        ),
        check(
            f"1,000 warm: <= {WARM_SECONDS_1000:.0f} s",
            one.warm.measured.wall if one else None,
            WARM_SECONDS_1000,
            "{:.2f} s",
        ),
        check(
            f"5,000 cold: <= {scale} requests"
            + (f" ({limit_req:.0f})" if limit_req is not None else ""),
            five.cold.requests.github if five else None,
            limit_req,
            "{:d} requests",
        ),
        check(
            f"5,000 cold: <= {scale} time" + (f" ({limit_s:.1f} s)" if limit_s is not None else ""),
            five.cold.measured.wall if five else None,
            limit_s,
            "{:.2f} s",
        ),
        check(
            f"5,000: peak RSS <= {PEAK_RSS_MB_5000:.0f} MB (cold and warm)",
            max(five.cold_peak_mb, five.warm_peak_mb) if five else None,
            PEAK_RSS_MB_5000,
            "{:.0f} MB",
        ),
    ]
    if len(results) >= 2:
        per_100 = [r.per_100 for r in results]
        spread = max(per_100) / min(per_100)
        shown = ", ".join(f"{r.size:,}: {r.per_100:.1f}" for r in results)
        out.append(
            Target(
                "cold requests grow with N/100, not N (cold requests per 100 repositories, "
                f"largest / smallest over the sizes <= {PER_100_SPREAD})",
                spread <= PER_100_SPREAD,
                f"{shown}; spread {spread:.2f}",
            )
        )
    return out


def verdict(met: bool | None) -> str:
    return {True: "met", False: "not met", None: "not measured"}[met]


def code_line() -> str:
    """Which pipfleet the scans ran: the checkout (commit, uncommitted files) or another tree."""
    package = Path(pipfleet.__file__).resolve().parent
    try:
        package.relative_to(ROOT)
    except ValueError:
        return f"- pipfleet under test: `{package}` (outside this checkout, through PYTHONPATH)"

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = len(git("status", "--porcelain", "--", "src", "migrations").splitlines())
    return f"- pipfleet under test: this checkout at commit {commit}" + (
        f", with {dirty} uncommitted file(s) under src/ and migrations/" if dirty else ""
    )


def render_section(
    command: str,
    seed: int,
    results: Sequence[SizeResult],
    checks: Sequence[Target],
    load: tuple[float, float],
) -> str:
    batch = results[0].graphql_batch if results else None
    in_effect = sorted({r.batch_in_effect for r in results})
    repeats = sorted({len(r.cold_runs) for r in results})
    mismatched = [
        f"{r.size:,} {run.label} (scan said {run.summary.get('github_requests')})"
        for r in results
        for run in (*r.cold_runs, *r.warm_runs)
        if run.summary.get("github_requests") != run.requests.github
    ]
    varied = [f"{r.size:,}: {', '.join(r.request_counts_vary())}" for r in results]
    varied = [v for v in varied if not v.endswith(": ")]
    lines = [
        SECTION_TITLE,
        "",
        *context_lines(command),
        code_line(),
        f"- Load average (1 min) before / after the run: {load[0]:.2f} / {load[1]:.2f} "
        f"on {os.cpu_count()} cores (a shared machine: the rounds' spread shows the noise)",
        f"- Fleets: `pipfleet sandbox make-fleet DIR --repos N --seed {seed}` for N in "
        + ", ".join(f"{r.size:,}" for r in results)
        + "; each served by `pipfleet sandbox serve --fleet DIR --port 0 --write-config CFG` "
        "in its own process, the config used as written"
        + ("" if batch is None else f" plus `graphql_batch = {batch}`")
        + ' (`include = ["orb-*"]`, skip archived, forks, disabled); `graphql_batch` in effect, '
        "as pipfleet's config loader reads that file: "
        + ", ".join(map(str, in_effect))
        + f" (`GitHubSettings.graphql_batch` default: {GitHubSettings.graphql_batch})",
        "- Scans: `pipfleet scan --config CFG --log-format json` in its own process, "
        "GITHUB_TOKEN=sandbox-token, AWS keys `sandbox`, AWS_CONFIG_FILE=/dev/null, "
        "PIPFLEET_DATABASE_URL=sqlite:///<tmp>/pipfleet.db (a fresh file per round); cold = "
        "first scan, warm = the same scan again at once, nothing changed",
        f"- Rounds: {'/'.join(map(str, repeats))} per size, each cold + warm + naive; a time is "
        "the median round's (by wall time; every round's wall time is listed), peak RSS the "
        "largest over the rounds, request counts "
        + ("identical in every round" if not varied else "NOT identical: " + "; ".join(varied)),
        "- Naive: PyGithub in the bench process, `Github(base_url=<api>, auth=Auth.Token(...), "
        "per_page=100, seconds_between_requests=0, seconds_between_writes=0)`: "
        '`get_organization(org).get_repos()`, then `get_contents("Pipfile")` per repository '
        "with size > 0 (404 caught); it reads root Pipfiles only, audits and records nothing",
        "",
        "Summary (GitHub requests from the sandbox's counters, reset before each run):",
        "",
        "| Repos | Cold req | Cold req / 100 repos | Cold s | Warm req | Warm s "
        "| CodeArtifact version req, cold; warm (assets / dependencies) "
        "| Peak RSS MB (cold / warm) | Naive req | Naive s | Naive / cold req "
        "| Naive / cold time (wall; scan phase) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.size:,} | {r.cold.requests.github} | {r.per_100:.1f} "
            f"| {r.cold.measured.wall:.2f} "
            f"| {r.warm.requests.github} | {r.warm.measured.wall:.2f} "
            f"| {r.cold.requests.versions}; {r.warm.requests.versions} "
            f"| {r.cold_peak_mb:.0f} / {r.warm_peak_mb:.0f} | {r.naive.requests.github:,} "
            f"| {r.naive.wall:.2f} | {r.naive.requests.github / r.cold.requests.github:.1f}x "
            f"| {r.naive.wall / r.cold.measured.wall:.2f}x; {r.naive.wall / r.cold.phase:.2f}x |"
        )
    for r in results:
        f = r.fleet
        lines += [
            "",
            f"### {r.size:,} repositories",
            "",
            f"Fleet: {f.get('repositories')} repositories, {f.get('pipfiles')} Pipfiles "
            f"({f.get('monorepos')} monorepos), {f.get('archived')} archived, "
            f"{f.get('forks')} forks, "
            f"{f.get('disabled')} disabled, {f.get('outside_prefix')} outside `orb-*`, "
            f"{f.get('without_pipfile')} without a Pipfile, {f.get('malformed')} malformed; "
            f"make-fleet {r.fleet_seconds:.1f} s, sandbox up in {r.sandbox_seconds:.1f} s.",
            "",
            "| Run | Wall s (median) | Every round s | Start-up s | Scan phase s "
            "| GitHub req (GraphQL / REST) | Other sandbox req "
            "| of which CodeArtifact version req (assets / dependencies) | Peak RSS MB "
            "| Scan CPU s | Sandbox CPU s | Repositories (read / unchanged / skipped / failed) "
            "| Pipfiles | Exit |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        ]
        for run, runs, peak in (
            (r.cold, r.cold_runs, r.cold_peak_mb),
            (r.warm, r.warm_runs, r.warm_peak_mb),
        ):
            s, q = run.summary, run.requests
            lines.append(
                f"| {run.label} | {run.measured.wall:.2f} | {walls(runs)} | {run.startup:.2f} "
                f"| {run.phase:.2f} | {q.github} ({q.graphql} / {q.rest}) "
                f"| {q.other} | {q.versions} | {peak:.0f} | {run.measured.cpu:.2f} "
                f"| {run.sandbox_cpu:.2f} "
                f"| {s['repositories']} ({s['fetched']} / {s['carried']} / {s['skipped']} / "
                f"{s['failed']}) | {s['pipfiles']} | {run.measured.returncode} |"
            )
        n, q = r.naive, r.naive.requests
        lines.append(
            f"| naive | {n.wall:.2f} | {walls(r.naive_runs)} | — | {n.wall:.2f} "
            f"| {q.github:,} ({q.graphql} / {q.rest:,}) "
            f"| {q.other} | {q.versions} | — | — "
            f"| {n.sandbox_cpu:.2f} | {n.listed} listed, {n.contents_calls} get_contents "
            f"({n.not_found} 404, {n.errors} other errors) | {n.pipfiles} (root only) | — |"
        )
    lines += ["", "Targets:", ""]
    for t in checks:
        lines.append(f"- {t.text}: **{verdict(t.met)}** ({t.detail})")
    lines += [
        "",
        "Method notes:",
        "",
        "- Wall time is spawn to exit of the `pipfleet scan` process (time.perf_counter in the "
        "bench), so it includes interpreter start-up, imports, the database migration "
        "(`alembic upgrade`, on every scan), the registry intel (CodeArtifact and PyPI, the "
        '"other sandbox req" column) and the wait on the sandbox. "Start-up" is spawn to '
        'the scan\'s `scan.listing` log line (all of that but the GitHub work); "scan phase" '
        "is `scan.listing` to `scan.summary` (list, read, audit, record), the part comparable "
        "with the naive path, which runs in the already started bench process.",
        "- CodeArtifact version requests are the sandbox's per-route counters for "
        'ListPackageVersionAssets and ListPackageVersionDependencies (part of "other sandbox '
        'req"), which lock provenance adds: a cold scan asks one of each per distinct private '
        "version the fleet's Pipfiles and locks use (and the private versions those depend "
        "on), never one per repository; a warm scan finds them all in the `package_versions` "
        "cache and asks none.",
        "- Peak RSS and scan CPU are the scan process's own rusage (ru_maxrss, the kernel's "
        f"high-water mark of its RSS), reported by {rss_method()} (`"
        + ("/usr/bin/time -f '%M %U %S %x'" if rss_method() == "GNU time" else "python -S reaper")
        + "`), which forks and execs the scan and waits for it. Not `RUSAGE_CHILDREN` deltas "
        "(a max over every child reaped so far: a smaller later child is hidden), not a "
        "VmHWM poll (a race with exit), and not `os.wait4` on a child spawned from the "
        "bench: subprocess spawns with vfork, and exec keeps the parent's high-water mark as "
        "the child's ru_maxrss floor, so every figure would be at least the bench's own peak "
        "(checked: a 300 MB parent makes `/bin/true` report 310 MB; through GNU time, 1 MB).",
        "- The sandbox runs in its own process, so its memory is not counted, but it shares the "
        'machine\'s cores with the scan: "sandbox CPU s" is its user + system CPU during the run '
        "(/proc/<pid>/stat). A scan's wall time is roughly its own CPU plus the sandbox's.",
        "- GitHub requests are the sandbox's counters (`GET /_sandbox/counters`, `github.total` "
        "and `github.graphql`), reset before every run; "
        + (
            "they agree with the scan's own `github_requests` in every run."
            if not mismatched
            else "they DIFFER from the scan's own `github_requests` in: " + "; ".join(mismatched)
        )
        + " The naive path's client is in the bench process: its time excludes interpreter "
        "start-up; its 404s are repositories without a root Pipfile, its other errors the "
        "sandbox's 403 for disabled repositories.",
    ]
    return "\n".join(lines) + "\n"


# -- profiling ---------------------------------------------------------------------------------


def print_profile(path: Path, top: int) -> None:
    stats = pstats.Stats(str(path))
    print(f"--- {path.name}: cumulative, pipfleet frames ---")
    stats.sort_stats("cumulative").print_stats(r"pipfleet", top)
    print(f"--- {path.name}: tottime, all frames ---")
    stats.sort_stats("tottime").print_stats(top)


def profile(size: int, seed: int, root: Path, graphql_batch: int | None, top: int) -> None:
    work = root / f"profile-{size}"
    work.mkdir()
    make_fleet(work / "fleet", size, seed)
    config = work / "pipfleet.toml"
    sandbox = Sandbox(work / "fleet", config, work)
    try:
        if graphql_batch is not None:
            set_graphql_batch(config, graphql_batch)
        database = work / "pipfleet.db"
        for label in ("cold", "warm"):
            prof = work / f"scan-{label}.prof"
            run = run_scan(label, sandbox, work, database, profile_to=prof)
            print(f"[{size}] profiled {describe(run)}", flush=True)
            print_profile(prof, top)
            kept = Path(tempfile.gettempdir()) / f"pipfleet-bench-scan-{size}-{label}.prof"
            shutil.copyfile(prof, kept)
            print(f"profile kept in {kept} (python -m pstats {kept})")
    finally:
        sandbox.stop()


# -- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=DEFAULT_SIZES, help=f"fleet sizes (default {DEFAULT_SIZES})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="make-fleet seed")
    parser.add_argument(
        "--graphql-batch",
        type=int,
        default=None,
        help="add graphql_batch = N to the config the sandbox writes (default: config as written)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="cold + warm + naive rounds per size (fresh database each); the median is reported",
    )
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="cProfile a cold and a warm scan of an N-repository fleet instead of benchmarking",
    )
    parser.add_argument("--top", type=int, default=25, help="rows of each profile listing")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes is a comma-separated list of numbers")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes needs positive numbers")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not Path(PIPFLEET).exists():
        parser.error(f"{PIPFLEET} not found: run with the project's .venv/bin/python")

    load_before = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="pipfleet-bench-scan-"))
    try:
        if args.profile:
            profile(args.profile, args.seed, root, args.graphql_batch, args.top)
            return 0
        results = [
            measure_size(size, args.seed, root, args.graphql_batch, args.repeat)
            for size in sorted(set(sizes))
        ]
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    load = (load_before, os.getloadavg()[0])
    checks = targets(results)
    print()
    for r in results:
        print(
            f"{r.size:>6,} repos: cold {r.cold.requests.github} req ({r.per_100:.1f}/100 repos) "
            f"{r.cold.measured.wall:.2f} s, warm {r.warm.requests.github} req "
            f"{r.warm.measured.wall:.2f} s, CodeArtifact version req (assets / dependencies) "
            f"cold {r.cold.requests.versions}, warm {r.warm.requests.versions}, "
            f"peak RSS {r.cold_peak_mb:.0f}/{r.warm_peak_mb:.0f} MB; "
            f"naive {r.naive.requests.github} req {r.naive.wall:.2f} s = "
            f"{r.naive.requests.github / r.cold.requests.github:.1f}x requests, "
            f"{r.naive.wall / r.cold.measured.wall:.2f}x time"
        )
    for t in checks:
        print(f"target {t.text}: {'NOT MET' if t.met is False else verdict(t.met)} ({t.detail})")

    if not args.no_write:
        shown = list(sys.argv[1:] if argv is None else argv)
        command = " ".join([".venv/bin/python", "bench/scan.py", *shown])
        if os.environ.get("PYTHONPATH"):
            command = f"PYTHONPATH={os.environ['PYTHONPATH']} {command}"
        update_section(SECTION_TITLE, render_section(command, args.seed, results, checks, load))
        print(f"updated {(ROOT / 'BENCHMARKS.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
