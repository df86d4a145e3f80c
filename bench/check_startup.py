"""Benchmark: ``pipfleet check`` as a pre-commit hook runs it, one whole process at a time.

A hook starts a new process on every commit, so what counts is the wall time and
peak memory of the whole process, imports included. Each round runs, one after the
other so they share the machine's state:

* floor      -- ``python -c "import tomlkit, packaging.requirements"``: the least a
  Python linter built on those libraries can cost on this machine;
* check      -- ``pipfleet check PIPFILE --listing FILE`` on a real corpus Pipfile
  with its Pipfile.lock (findings to report, so exit 1, as a hook that catches
  something);
* check-json -- the same with ``--format json``;
* help       -- ``pipfleet --help``.

Medians over ``--rounds`` rounds; peak memory is the largest resident set size of
each command's process (``wait4``). The target is judged as a ratio against the
floor measured in the same run, so a busy machine slows both alike: the issue's
0.15 s against a 0.07 s floor is a ratio of 2.14. Rewrites its own section of
BENCHMARKS.md.

    .venv/bin/python bench/check_startup.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _report import ROOT, context_lines, update_section  # bench/ is first on sys.path

SECTION_TITLE = "## check_startup: `pipfleet check` as a whole process (pre-commit)"
CORPUS_PROJECT = "005-python-discord__bot__Pipfile"  # a Pipfile with its Pipfile.lock
PRIVATE = ("markdownify", "deepdiff")  # made "private" so the check has findings
TARGET_SECONDS = 0.15
TARGET_FLOOR_SECONDS = 0.07
TARGET_RATIO = TARGET_SECONDS / TARGET_FLOOR_SECONDS
TARGET_PEAK_MB = 40.0


@dataclass
class Measure:
    name: str
    label: str  # the command as the table shows it
    command: list[str]
    expected_exit: int
    seconds: list[float] = field(default_factory=list)
    peak_kb: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        return max(self.peak_kb) / 1024


def run_once(measure: Measure, env: dict[str, str]) -> None:
    start = time.perf_counter()
    process = subprocess.Popen(
        measure.command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode != measure.expected_exit:
        raise SystemExit(
            f"{measure.name}: exit {process.returncode}, expected {measure.expected_exit}: "
            f"{stderr.strip()[:300]}"
        )
    measure.seconds.append(seconds)
    measure.peak_kb.append(usage.ru_maxrss)  # KiB on Linux


def prepare(work: Path, corpus: Path) -> tuple[Path, Path]:
    project = work / "project"
    shutil.copytree(corpus / CORPUS_PROJECT, project)
    listing = work / "private-packages.txt"
    listing.write_text("".join(f"{name}\n" for name in PRIVATE), encoding="utf-8")
    return project / "Pipfile", listing


def section(
    measures: list[Measure], floor: Measure, rounds: int, command: str, load: tuple[float, float]
) -> str:
    check = next(m for m in measures if m.name == "check")
    ratio = check.median / floor.median
    met = ratio <= TARGET_RATIO and check.peak_mb <= TARGET_PEAK_MB
    lines = [
        SECTION_TITLE,
        "",
        *context_lines(command),
        f"- Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f}",
        f"- Rounds: {rounds}, after one untimed run of each (bytecode written, files cached)",
        "",
    ]
    lines += [
        "| command | median wall | vs. floor | peak RSS |",
        "|---|---:|---:|---:|",
    ]
    for measure in measures:
        lines.append(
            f"| `{measure.label}` | {measure.median:.3f} s "
            f"| {measure.median / floor.median:.2f}x | {measure.peak_mb:.1f} MB |"
        )
    lines += [
        "",
        f"Target: `pipfleet check` median at most {TARGET_RATIO:.2f}x the floor "
        f"({TARGET_SECONDS} s against {TARGET_FLOOR_SECONDS} s) and at most "
        f"{TARGET_PEAK_MB:.0f} MB peak: {'met' if met else 'NOT met'} "
        f"({ratio:.2f}x, {check.median:.3f} s, {check.peak_mb:.1f} MB).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus/pipfiles")
    parser.add_argument("--no-write", action="store_true", help="Leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    bin_dir = Path(sys.executable).parent
    pipfleet = shutil.which("pipfleet", path=str(bin_dir))
    if pipfleet is None:
        raise SystemExit(f"no pipfleet script beside {sys.executable}: run `make demo` first")
    # The hook's environment, not this machine's settings. PYTHONDONTWRITEBYTECODE goes
    # too: an installed package has its bytecode compiled, and with the variable set every
    # module edited since its .pyc was written would be compiled again in each timed run.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PIPFLEET_") and key != "PYTHONDONTWRITEBYTECODE"
    }
    with tempfile.TemporaryDirectory(prefix="pipfleet-startup-") as tmp:
        pipfile, listing = prepare(Path(tmp), args.corpus)
        check = [pipfleet, "check", str(pipfile), "--listing", str(listing)]
        floor = Measure(
            "floor",
            "python -c 'import tomlkit, packaging.requirements'",
            [sys.executable, "-c", "import tomlkit, packaging.requirements"],
            0,
        )
        measures = [
            floor,
            Measure("check", "pipfleet check Pipfile --listing FILE", check, 1),
            Measure(
                "check-json",
                "pipfleet check Pipfile --listing FILE --format json",
                [*check, "--format", "json"],
                1,
            ),
            Measure("help", "pipfleet --help", [pipfleet, "--help"], 0),
        ]
        for measure in measures:  # once untimed: bytecode caches written, files in page cache
            run_once(measure, env)
            measure.seconds.clear()
            measure.peak_kb.clear()
        for _ in range(args.rounds):
            for measure in measures:
                run_once(measure, env)
    for measure in measures:
        print(
            f"{measure.name:11} median {measure.median:.3f} s "
            f"({measure.median / floor.median:.2f}x floor), peak {measure.peak_mb:.1f} MB"
        )
    if not args.no_write:
        load = (load_before, os.getloadavg()[0])
        text = section(measures, floor, args.rounds, "python bench/check_startup.py", load)
        update_section(SECTION_TITLE, text)


if __name__ == "__main__":
    main()
