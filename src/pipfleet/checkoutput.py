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
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import typer

from pipfleet.engine.findings import Finding, FindingKind, Severity
from pipfleet.engine.listing import Listing
from pipfleet.jobs.check import CheckResult, FileResult, FileStatus, LockResult, Mode
from pipfleet.safetext import mask_credentials, printable
from pipfleet.states import ManifestKind

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
    FileStatus.NOT_AUDITED: DIM,
}
NOT_AUDITED = (
    "not audited: neither [tool.uv] nor [tool.poetry] in it and no uv.lock beside it, so "
    "no installer pipfleet knows reads it"
)


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
        "file": finding.file,  # a requirements install's findings name the file they are in
        "manual": finding.manual,  # ``expected`` is a change for a person to make
    }


def check_json(result: CheckResult, listing: Listing, index_name: str) -> str:
    files = []
    for item in result.files:
        files.append(
            {
                "path": item.path,
                "kind": None if item.kind is None else item.kind.value,
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
                "also_changed": [
                    {"path": change.path, "written": change.written} for change in item.also
                ],
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
    if lock.rehashed:  # a Pipfile.lock's: uv and Poetry locks are never rehashed
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


def _indented(text: str) -> str:
    return "".join(f"\n    {printable(line)}" for line in text.splitlines())


def _change_hint(item: FileResult, finding: Finding) -> str:
    """The change a finding's fix makes, or proposes for a person to make; "" for none."""
    if finding.expected is None:
        return ""
    if finding.manual:  # a requirements change pipfleet does not make (masked lines)
        return YELLOW(f"\n    proposed, for you to make:{_indented(finding.expected)}")
    if not finding.fixable or finding.kind is FindingKind.MISSING_SOURCE:
        return ""
    if item.kind is ManifestKind.REQUIREMENTS:  # file:line: new text, one per line changed
        return DIM(f"\n    --fix makes:{_indented(finding.expected)}")
    if finding.current is None:
        # A Pipfile entry the fix adds; Poetry's findings quote no current value.
        before = "not listed" if item.kind is ManifestKind.PIPFILE else "add"
        return DIM(f"\n    {printable(f'{before} -> {finding.expected}')}")
    return DIM(f"\n    {printable(f'{finding.current} -> {finding.expected}')}")


def _finding_line(item: FileResult, finding: Finding) -> str:
    # A requirements install's findings may be in a file it includes.
    path = finding.file if item.kind is ManifestKind.REQUIREMENTS else item.path
    where = f"{path}:{finding.line}" if finding.line else path
    if finding.column:
        where += f":{finding.column}"
    line = f"{BOLD(printable(where))}: {_SEVERITY_STYLE[finding.severity](finding.kind.value)} "
    if finding.category and finding.package:
        line += printable(f"[{finding.category}] {finding.package}: ")
    line += printable(finding.message)
    return line + _change_hint(item, finding)


def check_lines(result: CheckResult, *, verbose: bool = False) -> Iterator[str]:
    """Lint-style lines per finding, diffs in diff mode, then a one-line summary."""
    for item in result.files:
        if item.status is FileStatus.NOT_AUDITED:
            yield DIM(printable(f"{item.path}: {NOT_AUDITED}"))
        elif verbose:
            yield f"{BOLD(printable(item.path))} ({item.kind}): {item.status.value}"
        for finding in item.report.findings:
            if verbose or finding.needs_action:
                yield _finding_line(item, finding)
        if item.fix_error:
            yield YELLOW(printable(f"{item.path}: not fixed: {item.fix_error}"))
        if result.mode is Mode.DIFF and item.diff:
            yield printable(mask_credentials(item.diff.rstrip("\n")), multiline=True)
        if result.mode is Mode.FIX and item.written:
            yield GREEN(printable(f"{item.path}: fixed"))
        for change in item.also:
            done = "updated" if change.written else "--fix updates it too"
            yield printable(f"{change.path}: {done} (included by {item.path})")
        if item.lock is not None and (line := _lock_line(item.lock, result.mode)) is not None:
            yield line
    statuses = [item.status for item in result.files]
    kinds = Counter(item.kind for item in result.files if item.kind is not None)
    parts = [f"{len(statuses)} file(s)"]
    if kinds:
        parts[0] += f" ({', '.join(f'{kinds[k]} {k}' for k in ManifestKind if kinds[k])})"
    for status in FileStatus:
        if count := statuses.count(status):
            parts.append(_STATUS_STYLE[status](f"{count} {status.value}"))
    yield ", ".join(parts)


def print_check(result: CheckResult, *, verbose: bool = False, color: bool | None = None) -> None:
    for line in check_lines(result, verbose=verbose):
        typer.echo(line, color=color)
