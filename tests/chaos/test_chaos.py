"""Chaos: `pipfleet run` SIGKILLed at random points, and a soak of runs with injected faults.

Each test drives two sandbox sites (see harness.py): the chaos site, disturbed, and the
oracle, fault-free, with the same human actions between runs. The final states must be
equal, with no duplicate pull request or comment, no wrongful closure and no secret in any
output. Both run in ``make test`` at a reduced size, so that the kills test (the suite's
longest) does not bound CI's wall time: 12 kills in 3 rounds and 4 faulty runs in 2 rounds,
every assertion kept (was 20 kills and 6 faulty runs; the kills test alone took 300 s of a
16-minute `pytest -n 3` at load 7 on 2 cores). The full size is bench/chaos.py's: 60 kills,
30 faulty runs and 40 repositories, its figures in BENCHMARKS.md. ``pytest -m chaos`` runs
them alone, and the environment sizes them for bigger runs:

    PIPFLEET_CHAOS_KILLS=60 PIPFLEET_CHAOS_RUNS=30 .venv/bin/python -m pytest -m chaos
    PIPFLEET_CHAOS_REPOS=40 PIPFLEET_CHAOS_SEED=7 ...
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.chaos.harness import ChaosConfig, ChaosReport, ceil_div, env_int, run_scenario

pytestmark = pytest.mark.chaos

KILLS = env_int("PIPFLEET_CHAOS_KILLS", 12)  # bench/chaos.py: 60
FAULTY_RUNS = env_int("PIPFLEET_CHAOS_RUNS", 4)  # bench/chaos.py: 30
REPOS = env_int("PIPFLEET_CHAOS_REPOS", 24)
SEED = env_int("PIPFLEET_CHAOS_SEED", 20261130)
KILLS_PER_ROUND = 4
FAULTY_RUNS_PER_ROUND = 2


def verdict(report: ChaosReport) -> str:
    return "\n" + report.describe()


def check_invariants(report: ChaosReport) -> None:
    verdicts = report.verdicts
    assert verdicts.wrongful_closures == 0, verdict(report)
    assert verdicts.duplicate_prs == 0, verdict(report)
    assert verdicts.duplicate_comments == 0, verdict(report)
    assert report.leaks == [], verdict(report)
    assert report.problems() == [], verdict(report)
    assert report.divergence == [], verdict(report)


def test_sigkills_at_random_points_then_a_clean_run_reach_the_oracles_state(
    tmp_path: Path,
) -> None:
    config = ChaosConfig(
        repos=REPOS,
        seed=SEED,
        rounds=ceil_div(KILLS, KILLS_PER_ROUND),
        kills_per_round=KILLS_PER_ROUND,
    )
    report = run_scenario(config, tmp_path)
    print(report.describe())
    assert report.kills_landed >= KILLS, verdict(report)
    assert report.humans.done, verdict(report)  # the humans did act between runs
    check_invariants(report)


def test_a_soak_with_faults_of_every_kind_reaches_the_oracles_state(tmp_path: Path) -> None:
    config = ChaosConfig(
        repos=REPOS,
        seed=SEED + 1,
        rounds=ceil_div(FAULTY_RUNS, FAULTY_RUNS_PER_ROUND),
        faulty_runs_per_round=FAULTY_RUNS_PER_ROUND,
    )
    report = run_scenario(config, tmp_path)
    print(report.describe())
    assert report.faulty_runs >= FAULTY_RUNS, verdict(report)
    kinds = {kind.split(" ", 1)[1] for kind, met in report.faults.items() if met}
    assert {"connection-drop", "200-empty-body", "200-cut-body"} <= kinds, verdict(report)
    apis = {kind.split(" ", 1)[0] for kind, met in report.faults.items() if met}
    assert {"graphql", "codeartifact", "rest"} <= apis, verdict(report)
    assert report.humans.done, verdict(report)
    check_invariants(report)
