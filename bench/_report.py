"""Shared by the bench scripts: the machine description and rewriting one section of BENCHMARKS.md.

Each bench script owns one ``## ...`` section of BENCHMARKS.md; ``update_section``
replaces that section (or appends it) and keeps every other byte of the file.
Import it from a script under bench/ as ``from _report import ...`` (a script's own
folder is first on sys.path).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"
BENCHMARKS_HEADER = """\
# Benchmarks

Every figure in this file is produced by a script under `bench/` (run with
`make bench`) on the machine named in its section. Timed assertions never live in
the test suite: tests check behaviour, `bench/` scripts measure speed. Each script
rewrites only its own section, so re-running one leaves the others as they are.
"""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def context_lines(command: str) -> list[str]:
    """The Date, Machine, Python and Command bullets every section starts with."""
    return [
        f"- Date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Machine: {platform.platform()}; CPU: {cpu_model()}; os.cpu_count() = {os.cpu_count()}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        f"- Command: `{command}`",
    ]


def update_section(title: str, section: str, path: Path = BENCHMARKS) -> None:
    """Replace the section headed ``title`` (up to the next ``## `` line) or append it.

    ``section`` is the whole section text, starting with the ``title`` line.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else BENCHMARKS_HEADER
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == title), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        before = "".join(lines[:start])
        after = "".join(lines[end:])
        new = before + section + ("\n" + after if after else "")
    path.write_text(new, encoding="utf-8")
