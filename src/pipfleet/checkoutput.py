"""What ``pipfleet check`` prints: lint-style lines for a terminal, or the stable JSON schema.

The JSON schema is documented in docs/check-json.md; bump ``CHECK_SCHEMA`` on any
change that is not a pure addition.

Names, paths, messages and diffs come from repositories: every one passes through
``printable`` (controls and bidi characters escaped; JSON escapes them itself), and
a diff's URLs have their secrets masked.

Colours are plain ANSI styles (click's, vendored by Typer), not Rich: a pre-commit
hook starts ``check`` on every commit, and importing Rich costs about a third of a
bare Python start (bench/check_startup.py). Colour follows NO_COLOR and FORCE_COLOR,
else whether the output is a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import typer

from pipfleet.engine.findings import Finding, FindingKind, Severity
from pipfleet.engine.listing import Listing
from pipfleet.jobs.check import CheckResult, FileResult, FileStatus, LockResult, Mode
from pipfleet.safetext import mask_credentials, printable

CHECK_SCHEMA = "pipfleet.check/1"


@dataclass(frozen=True)
class Style:
    fg: str | None = None
    bg: str | None = None
    bold: bool = False
    dim: bool = False

    def __call__(self, text: str) -> str:
        return typer.style(
            text, fg=self.fg, bg=self.bg, bold=self.bold or None, dim=self.dim or None
        )


BOLD = Style(bold=True)
DIM = Style(dim=True)
GREEN = Style(fg="green")
YELLOW = Style(fg="yellow")

_SEVERITY_STYLE = {
    Severity.INFO: DIM,
    Severity.LOW: Style(fg="cyan"),
    Severity.MEDIUM: YELLOW,
    Severity.HIGH: Style(fg="red", bold=True),
    Severity.CRITICAL: Style(fg="white", bg="red", bold=True),
}
_STATUS_STYLE = {
    FileStatus.COMPLIANT: GREEN,
    FileStatus.FIXED: GREEN,
    FileStatus.NEEDS_ACTION: Style(fg="red"),
    FileStatus.INVALID: Style(fg="red", bold=True),
}


def use_color(environ: Mapping[str, str]) -> bool | None:
    """True or False when the environment decides (https://no-color.org, FORCE_COLOR);
    None leaves it to whether the output is a terminal."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return None


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "kind": finding.kind.value,
        "severity": finding.severity.label,
        "fixable": finding.fixable,
        "category": finding.category,
        "package": finding.package,
        "current": finding.current,
        "expected": finding.expected,
        "line": finding.line,
        "column": finding.column,
        "source": finding.source,
        "message": finding.message,
    }


def check_json(result: CheckResult, listing: Listing, index_name: str) -> str:
    files = []
    for item in result.files:
        files.append(
            {
                "path": item.path,
                "status": item.status.value,
                "private_source": item.report.private_source,
                "private_source_match": item.report.private_source_match,
                "changed": item.new_text is not None,
                "written": item.written,
                "fix_error": item.fix_error,
                "findings": [finding_json(f) for f in item.report.findings],
                "remaining": [finding_json(f) for f in item.remaining],
                "diff": item.diff if result.mode is not Mode.AUDIT else None,
                "lock": None if item.lock is None else _lock_json(item.lock),
            }
        )
    statuses = [item.status for item in result.files]
    document = {
        "schema": CHECK_SCHEMA,
        "mode": result.mode.value,
        "index_name": index_name,
        "listing": {"packages": len(listing), "digest": listing.digest()},
        "files": files,
        "summary": {
            "files": len(files),
            **{status.value: statuses.count(status) for status in FileStatus},
            "findings": dict(sorted(result.counts().items())),
        },
        "exit_code": result.exit_code,
    }
    return json.dumps(document, indent=2) + "\n"


def _lock_json(lock: LockResult) -> dict[str, Any]:
    return {
        "path": lock.path,
        "changed": lock.new_text is not None,
        "written": lock.written,
        "rehashed": lock.rehashed,
        "problem": lock.problem,
    }


def _lock_line(lock: LockResult, mode: Mode) -> str | None:
    """What the fix does to the lock; None when there is nothing to say."""
    rehashed = ""
    if lock.rehashed:
        rehashed = (
            f" ({lock.rehashed} {'entry' if lock.rehashed == 1 else 'entries'} given "
            "CodeArtifact's files: the ones locked before came from another index; reinstall "
            "with `pipenv sync`)"
        )
    if lock.written:
        line = GREEN(printable(f"{lock.path}: updated{rehashed}"))
    elif mode is Mode.DIFF and lock.new_text is not None:
        line = printable(f"{lock.path}: --fix updates it too{rehashed}")
    elif lock.problem is None:
        return None
    else:
        return YELLOW(printable(f"{lock.path}: not updated: {lock.problem}"))
    if lock.problem is not None:
        line += YELLOW(printable(f"; {lock.problem}"))
    return line


def _finding_line(item: FileResult, finding: Finding) -> str:
    where = f"{item.path}:{finding.line}" if finding.line else item.path
    if finding.column:
        where += f":{finding.column}"
    line = f"{BOLD(printable(where))}: {_SEVERITY_STYLE[finding.severity](finding.kind.value)} "
    if finding.category and finding.package:
        line += printable(f"[{finding.category}] {finding.package}: ")
    line += printable(finding.message)
    if finding.fixable and finding.kind is not FindingKind.MISSING_SOURCE:
        before = "not listed" if finding.current is None else finding.current
        line += DIM(f"\n    {printable(f'{before} -> {finding.expected}')}")
    return line


def check_lines(result: CheckResult, *, verbose: bool = False) -> Iterator[str]:
    """Lint-style lines per finding, diffs in diff mode, then a one-line summary."""
    for item in result.files:
        for finding in item.report.findings:
            if verbose or finding.needs_action:
                yield _finding_line(item, finding)
        if item.fix_error:
            yield YELLOW(printable(f"{item.path}: not fixed: {item.fix_error}"))
        if result.mode is Mode.DIFF and item.diff:
            yield printable(mask_credentials(item.diff.rstrip("\n")), multiline=True)
        if result.mode is Mode.FIX and item.written:
            yield GREEN(printable(f"{item.path}: fixed"))
        if item.lock is not None and (line := _lock_line(item.lock, result.mode)) is not None:
            yield line
    statuses = [item.status for item in result.files]
    parts = [f"{len(statuses)} Pipfile(s)"]
    for status in FileStatus:
        if count := statuses.count(status):
            parts.append(_STATUS_STYLE[status](f"{count} {status.value}"))
    yield ", ".join(parts)


def print_check(result: CheckResult, *, verbose: bool = False, color: bool | None = None) -> None:
    for line in check_lines(result, verbose=verbose):
        typer.echo(line, color=color)
