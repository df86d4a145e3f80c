"""Tried as a new user would: a fresh clone, `make demo`, then `make test`, as CI does."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from tests.conftest import ROOT

# Tests that between them need everything `make test` sets up, one each: whole files
# took this test to 5.5 minutes of CI's 15, running beside the suite.
SETUP_PROBES = (
    "tests/engine/test_corpus.py::test_corpus_is_present_and_has_both_kinds",  # ../shared
    # the sandbox, SQLite and a PostgreSQL of its own
    "tests/jobs/test_scan.py::test_scan_records_every_repository_and_finding",
    "tests/report/test_browser.py::test_failed_run_dashboard_in_chromium",  # Debian's chromium
)


def _clean_environment(tmp_path: Path) -> dict[str, str]:
    """The machine's environment without this test run's own: no venv, no pipfleet settings."""
    drop = (
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTEST_ADDOPTS",
        "PYTEST_CURRENT_TEST",
        "MAKELEVEL",  # a make run by CI's make would act as a sub-make, not as a user's
        "MAKEFLAGS",
        "MFLAGS",
    )
    environ = {
        k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PIPFLEET_")
    }
    environ["PATH"] = os.pathsep.join(
        p for p in environ.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    environ["HOME"] = str(tmp_path / "home")
    return environ


@pytest.mark.slow
def test_fresh_clone_runs_make_demo_then_make_test(tmp_path: Path) -> None:
    workplace = tmp_path / "workplace"
    workplace.mkdir()
    (workplace / "shared").symlink_to(ROOT.parent / "shared")  # as CI lays shared/ beside it
    clone = workplace / "main"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    environ = _clean_environment(tmp_path)

    demo = subprocess.run(
        ["make", "demo"], cwd=clone, env=environ, capture_output=True, text=True, timeout=900
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert (
        "Pull requests:" in demo.stdout and (clone / "pipfleet-demo" / "dashboard.html").is_file()
    )

    # CI itself is `make test` in a fresh clone, so the whole suite already runs from
    # scratch there; here the clone's `make test` proves the set-up from nothing (venv,
    # installs, the sandbox, PostgreSQL, chromium) on one test each, not a second full
    # run; in one process (the Makefile's TEST_WORKERS=0), as three xdist workers each
    # starting up for four tests cost CI more than the tests themselves.
    environ["PYTEST_ADDOPTS"] = "-q " + " ".join(SETUP_PROBES)
    tests = subprocess.run(
        ["make", "test", "TEST_WORKERS=0"],
        cwd=clone,
        env=environ,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-3000:]
    summary = [line for line in tests.stdout.splitlines() if re.search(r"\d+ passed", line)]
    assert summary and "failed" not in summary[-1], tests.stdout[-2000:]
    # The scan's test runs on SQLite and PostgreSQL: none of the probes was left out.
    assert re.search(r"\b4 passed", summary[-1]) and "skipped" not in summary[-1], summary
