"""Benchmark: the chaos harness (tests/chaos) at a bigger size, figures to BENCHMARKS.md.

The script runs the two scenarios of tests/chaos/test_chaos.py, each against two sandboxes
served in this process (the chaos site, disturbed, and a fault-free oracle with the same
human actions, see tests/chaos/harness.py):

1. **kills**: ``--kills`` SIGKILLs (default 60) of ``pipfleet run`` at a uniformly random
   (seeded) point between the process's first request to the sandbox and the median length
   of a clean run, four a round, with human merges, closes, hand fixes, Pipfile changes and
   unrelated pushes between them, then a clean run each round, then two clean runs;
2. **soak**: ``--runs`` consecutive runs (default 30), two a round, with about 10% of their
   requests meeting an injected fault of every kind the sandbox offers (5xx, 429 and 403
   rate limits with and without Retry-After, dropped connections, 200s with an empty or cut
   body, answers lost after the write was done) on GitHub REST, GraphQL, the CodeArtifact
   API and the public index, the same humans between runs, a clean run each round and two
   at the end;
3. **hostile inputs**: the fleet of both scenarios holds six hostile Pipfiles (a 5000-digit
   version, 600-deep nested arrays, a 3000-deep table header, NUL in a key, ANSI escapes
   and formula-like package names, a literal credential in a source URL), and each is also
   given to ``pipfleet check -v`` and ``pipfleet check --diff``.

It counts kills that landed, faults met by kind, hostile inputs tried, and what must stay
at zero: wrongful closures, duplicate pull requests and comments, tracebacks, secrets in
any output (run output, database dump, dashboard, cache, pull request text) and differences
from the oracle's final state. It rewrites its own section of BENCHMARKS.md and exits 1 when
any of those is not zero.

    .venv/bin/python bench/chaos.py                         # writes BENCHMARKS.md
    .venv/bin/python bench/chaos.py --kills 20 --runs 6 --no-write --keep
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _report import ROOT, context_lines, update_section
from scan import code_line

sys.path.insert(0, str(ROOT))  # the harness lives with the tests it serves

from tests.chaos.harness import (  # noqa: E402
    PIPFLEET,
    ChaosConfig,
    ChaosReport,
    ceil_div,
    hostile_pipfiles,
    run_scenario,
)

SECTION_TITLE = "## chaos: kills, faults and hostile inputs against the sandbox"
DEFAULT_KILLS = 60
DEFAULT_RUNS = 30
DEFAULT_REPOS = 40
DEFAULT_SEED = 20261130
KILLS_PER_ROUND = 4
FAULTY_RUNS_PER_ROUND = 2


@dataclass(frozen=True)
class CheckTry:
    name: str
    mode: str
    returncode: int
    traceback: bool


def try_check(root: Path, private: str) -> list[CheckTry]:
    """``pipfleet check`` on each hostile Pipfile: one line and a documented exit, no traceback."""
    listing = root / "listing.txt"
    listing.write_text(private + "\n", encoding="utf-8")
    tries = []
    for name, text in hostile_pipfiles(private).items():
        folder = root / "check" / name
        folder.mkdir(parents=True)
        (folder / "Pipfile").write_text(text, encoding="utf-8")
        for mode in ("-v", "--diff"):
            done = subprocess.run(
                [str(PIPFLEET), "check", str(folder / "Pipfile"), "--listing", str(listing), mode],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=120,
            )
            traceback = "Traceback (most recent call last)" in done.stdout + done.stderr
            tries.append(CheckTry(name, mode, done.returncode, traceback))
    return tries


def zero(value: int) -> str:
    return f"**{value}**" if value else "0"


def render_section(
    command: str,
    kills: ChaosReport,
    soak: ChaosReport,
    checks: Sequence[CheckTry],
    seconds: float,
    load: tuple[float, float],
) -> str:
    both = (kills, soak)
    faults: Counter[str] = Counter()
    for report in both:
        faults.update({k: n for k, n in report.faults.items() if n})
    apis = sorted({k.split(" ", 1)[0] for k in faults})
    kinds = sorted({k.split(" ", 1)[1] for k in faults})
    humans: Counter[str] = Counter()
    for report in both:
        humans.update(report.humans.done)
    fleet = kills.repositories
    hostile = kills.hostile_inputs + soak.hostile_inputs
    check_bad = [c for c in checks if c.traceback or c.returncode not in (0, 1, 2)]
    soak_share = soak.faults_injected / soak.faulty_requests if soak.faulty_requests else 0.0
    wrongful = sum(r.verdicts.wrongful_closures for r in both)
    duplicate_prs = sum(r.verdicts.duplicate_prs for r in both)
    duplicate_comments = sum(r.verdicts.duplicate_comments for r in both)
    tracebacks = sum(r.verdicts.tracebacks for r in both)
    bad_exits = sum(r.verdicts.bad_exits for r in both)
    secrets = sum(len(r.leaks) for r in both)
    diverged = sum(len(r.divergence) for r in both)
    problems = [f"kills: {p}" for p in kills.problems()] + [f"soak: {p}" for p in soak.problems()]
    lines = [
        SECTION_TITLE,
        "",
        *context_lines(command),
        code_line(),
        f"- Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f}; "
        f"wall time {seconds:.0f} s for both scenarios and the check tries",
        f"- Fleet: `make_fleet(DIR, {kills.config.repos}, seed={kills.config.seed % 1000})` plus "
        f"{kills.hostile_inputs} hostile repositories: {fleet} repositories in org `acme`, "
        "served by two in-process sandboxes (chaos and oracle), SQLite databases, "
        "`pipfleet run --report` as a subprocess, `write_pause = 0`, `max_prs_per_run = 1000`, "
        "`max_wait = 2`",
        "- Method: tests/chaos/harness.py. Kills: SIGKILL at uniform(0, median clean-run "
        "length) after the run's first request to the sandbox, four a round. Soak: before "
        "each faulty run, one fault from a cycle over every API and broken-answer kind (met "
        "by the route's first request), then for every route each of its first n requests "
        "(n: the most one run has sent it so far) gets a fault with chance 10%, kind drawn "
        "for its API; faults are as dense early in a run as late, so a run stopped by one "
        "has still met about 10% of the requests it sent; faults a run never reached are "
        "cleared and not counted. Humans act between runs on "
        "both sites alike, only where both hold the same open pull request. After each "
        "round one clean run, at the end two; the final state (pull requests with number, "
        "title, body, state, changed files, comments and labels; branches and their trees; "
        "the database's last completed run figures, each repository's latest status and pull "
        "request record) must equal the oracle's",
        "",
        "| Measure | Kills | Soak | Target |",
        "|---|---:|---:|---|",
        f"| rounds | {kills.config.rounds} | {soak.config.rounds} | |",
        f"| `pipfleet run` processes (chaos + oracle) | {kills.runs} | {soak.runs} | |",
        f"| SIGKILLs landed (attempts; runs that ended first) | {kills.kills_landed} "
        f"({kills.kill_attempts}; {kills.finished_before_kill}) | – | >= 20 |",
        f"| faulty runs (exit codes) | – | {soak.faulty_runs} "
        f"({', '.join(f'{c}: {n}' for c, n in sorted(soak.faulty_exits.items()))}) | 0 or 3 |",
        f"| requests in faulty runs; faults met | – | {soak.faulty_requests:,}; "
        f"{soak.faults_injected:,} ({soak_share:.0%}) | about 10% |",
        f"| human actions (skipped: not the same on both sites) | "
        f"{sum(kills.humans.done.values())} ({kills.humans.skipped}) | "
        f"{sum(soak.humans.done.values())} ({soak.humans.skipped}) | |",
        f"| closures by pipfleet, rightful | {kills.verdicts.rightful_closures} | "
        f"{soak.verdicts.rightful_closures} | |",
        f"| wrongful closures | {zero(kills.verdicts.wrongful_closures)} | "
        f"{zero(soak.verdicts.wrongful_closures)} | 0 |",
        f"| duplicate pull requests | {zero(kills.verdicts.duplicate_prs)} | "
        f"{zero(soak.verdicts.duplicate_prs)} | 0 |",
        f"| duplicate comments | {zero(kills.verdicts.duplicate_comments)} | "
        f"{zero(soak.verdicts.duplicate_comments)} | 0 |",
        f"| tracebacks; undocumented exits | {zero(kills.verdicts.tracebacks)}; "
        f"{zero(kills.verdicts.bad_exits)} | {zero(soak.verdicts.tracebacks)}; "
        f"{zero(soak.verdicts.bad_exits)} | 0 |",
        f"| secrets found in any output | {zero(len(kills.leaks))} | {zero(len(soak.leaks))} | 0 |",
        f"| differences from the oracle's final state | {zero(len(kills.divergence))} | "
        f"{zero(len(soak.divergence))} | 0 |",
        f"| runs left 'running' | {zero(len(kills.leftovers))} | {zero(len(soak.leftovers))} | 0 |",
        "",
        f"Faults met, by API and kind (both scenarios; {sum(faults.values()):,} in all):",
        "",
        "| Kind | " + " | ".join(apis) + " |",
        "|---|" + "---:|" * len(apis),
        *(
            f"| {kind} | " + " | ".join(str(faults.get(f"{api} {kind}", 0)) for api in apis) + " |"
            for kind in kinds
        ),
        "",
        f"Human actions: {', '.join(f'{k} {n}' for k, n in sorted(humans.items()))}.",
        "",
        f"Hostile inputs tried: {hostile} hostile repositories scanned, fixed and reported in "
        f"the runs ({kills.hostile_inputs} in each scenario, each in every run), and "
        f"{len(checks)} `pipfleet check` runs on them (`-v` and `--diff` each): "
        f"{len(check_bad)} ended with a traceback or an undocumented exit"
        + (": " + ", ".join(f"{c.name} {c.mode} ({c.returncode})" for c in check_bad))
        * bool(check_bad)
        + ".",
        "",
        "Every figure that must be 0: wrongful closures "
        f"{wrongful}, duplicate pull requests {duplicate_prs}, duplicate comments "
        f"{duplicate_comments}, tracebacks {tracebacks}, undocumented exits {bad_exits}, "
        f"secrets found {secrets}, differences from the oracle {diverged}.",
    ]
    if problems:
        lines += ["", f"Problems found ({len(problems)}):", ""]
        lines += [f"- {p}" for p in problems[:40]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=DEFAULT_KILLS, help="SIGKILLs to land")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="faulty runs in the soak")
    parser.add_argument("--repos", type=int, default=DEFAULT_REPOS, help="generated repositories")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the harness's seed")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if min(args.kills, args.runs, args.repos) < 1:
        parser.error("--kills, --runs and --repos must be at least 1")
    if not PIPFLEET.exists():
        parser.error(f"{PIPFLEET} not found: run with the project's .venv/bin/python")

    load_before = os.getloadavg()[0]
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="pipfleet-bench-chaos-"))
    try:
        kills = run_scenario(
            ChaosConfig(
                repos=args.repos,
                seed=args.seed,
                rounds=ceil_div(args.kills, KILLS_PER_ROUND),
                kills_per_round=KILLS_PER_ROUND,
            ),
            root / "kills",
            progress=lambda line: print(f"kills {line}", flush=True),
        )
        print(kills.describe(), flush=True)
        soak = run_scenario(
            ChaosConfig(
                repos=args.repos,
                seed=args.seed + 1,
                rounds=ceil_div(args.runs, FAULTY_RUNS_PER_ROUND),
                faulty_runs_per_round=FAULTY_RUNS_PER_ROUND,
            ),
            root / "soak",
            progress=lambda line: print(f"soak {line}", flush=True),
        )
        print(soak.describe(), flush=True)
        checks = try_check(root, "orb-common")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    seconds = time.monotonic() - started
    load = (load_before, os.getloadavg()[0])
    failed = bool(kills.problems() or soak.problems()) or kills.kills_landed < args.kills
    failed |= any(c.traceback or c.returncode not in (0, 1, 2) for c in checks)
    if not args.no_write:
        shown = list(sys.argv[1:] if argv is None else argv)
        command = " ".join([".venv/bin/python", "bench/chaos.py", *shown])
        update_section(SECTION_TITLE, render_section(command, kills, soak, checks, seconds, load))
        print(f"updated {(ROOT / 'BENCHMARKS.md').relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
