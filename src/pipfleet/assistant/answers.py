"""The tools' answers, built from the engine and the report's rows. Pure.

Each answer is a frozen dataclass (its fields are the tool's output schema) and a short
text for the model to read. A check answer's findings carry exactly the fields of
``pipfleet check --format json``; fleet figures are ``pipfleet report``'s dataclasses.
``check_manifest`` checks any manifest ``pipfleet check`` does, through the same code
(``check_text`` for a Pipfile, ``checkmanifests.check_manifests`` for the others).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from pipfleet.assistant.fleetdata import KnownListing, PipfileState
from pipfleet.assistant.guidance import guidance
from pipfleet.checkoutput import finding_json
from pipfleet.config import GitHubSettings
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import parse
from pipfleet.errors import PipfileError, UsageError
from pipfleet.github.queries import MAX_BLOB_BYTES
from pipfleet.jobs.check import FileResult, FileStatus, Mode, check_text, is_other_manifest
from pipfleet.manifests import PYPROJECT_NAME, pyproject_kind
from pipfleet.report.model import (
    FindingRow,
    FleetSummary,
    PackageRow,
    Report,
    RepositoryRow,
    TrendPoint,
)
from pipfleet.states import ManifestKind

_UNPINNED = frozenset({"missing-index", "wrong-index", "undefined-index"})


@dataclass(frozen=True)
class CheckedFinding:
    """One finding as ``pipfleet check --format json`` writes it, with its guidance."""

    kind: str
    severity: str
    fixable: bool
    category: str | None
    package: str | None
    current: str | None
    expected: str | None
    line: int | None
    column: int | None
    source: str | None
    message: str
    file: str  # the file the finding is in: a requirements file's may be one it includes
    manual: bool  # ``expected`` is a change for a person to make, not one pipfleet makes
    why: str
    what_to_do: str


@dataclass(frozen=True)
class CheckAnswer:
    path: str
    status: str  # compliant | needs-action (an invalid Pipfile is a tool error)
    index_name: str
    listing: str  # where the private names came from
    private_packages: int
    listing_digest: str
    findings: tuple[CheckedFinding, ...]
    fixed_pipfile: str | None  # the whole Pipfile after the fix, when the fix changes it
    diff: str | None  # unified diff of the fix
    fix_error: str | None  # why a needed fix could not be made


def _size_checked(text: str, what: str) -> None:
    size = len(text.encode("utf-8"))
    if size > MAX_BLOB_BYTES:
        raise UsageError(
            f"the {what} is {size:,} bytes, over the {MAX_BLOB_BYTES:,} pipfleet reads "
            "(the scan skips such files too): send the file itself, not an archive or a log"
        )


def check_pipfile(
    pipfile: str, lock: str | None, path: str, known: KnownListing, options: AuditOptions
) -> tuple[CheckAnswer, str]:
    """Audit a pasted Pipfile (and lock) as ``pipfleet check --diff`` does; PipfileError when
    it cannot be read, so that the caller answers with an error naming line and column."""
    _size_checked(pipfile, "Pipfile")
    if lock is not None:
        _size_checked(lock, "Pipfile.lock")
    result = check_text(pipfile, path, known.listing, options, Mode.DIFF, lock_text=lock)
    findings = _findings(result, path)
    answer = CheckAnswer(
        path=path,
        status=result.status.value,
        index_name=options.index_name,
        listing=known.origin,
        private_packages=len(known.listing),
        listing_digest=known.listing.digest(),
        findings=findings,
        fixed_pipfile=result.new_text,
        diff=result.diff or None,
        fix_error=result.fix_error,
    )
    return answer, _check_text(result, findings)


@dataclass(frozen=True)
class LockAnswer:
    """What the fix does to the lock beside the manifest."""

    path: str
    fixed_text: str | None  # the lock after the fix, when the fix updates it
    problem: str | None  # why it is left alone, or what must lock again (e.g. `uv lock`)


@dataclass(frozen=True)
class ChangedFileAnswer:
    """Another file the fix changes: one a requirements file includes."""

    path: str
    fixed_text: str


@dataclass(frozen=True)
class ManifestAnswer:
    path: str
    kind: str | None  # pipfile | uv | poetry | requirements; None: a pyproject.toml not audited
    status: str  # compliant | needs-action | not-audited (an invalid file is a tool error)
    index_name: str
    listing: str  # where the private names came from
    private_packages: int
    listing_digest: str
    findings: tuple[CheckedFinding, ...]
    fixed_text: str | None  # the whole file after the fix, when the fix changes it
    diff: str | None  # unified diff of the fix: every file it changes but the lock
    fix_error: str | None  # why a needed fix could not be made
    lock: LockAnswer | None  # what the fix does to the lock, when it concerns it
    also_changed: tuple[ChangedFileAnswer, ...]


def _kind(path: str, text: str, lock: str | None) -> ManifestKind | None:
    """The kind of the manifest at ``path`` as ``pipfleet check`` decides it: by its name,
    a pyproject.toml by its tables (a lock given with a plain one is taken as a uv.lock,
    which is what makes such a project uv's)."""
    if not is_other_manifest(Path(path)):
        return ManifestKind.PIPFILE
    if path.rpartition("/")[2] == PYPROJECT_NAME:
        return pyproject_kind(text, lock is not None)
    return ManifestKind.REQUIREMENTS


def _manifest_result(
    text: str,
    path: str,
    kind: ManifestKind,
    lock: str | None,
    includes: dict[str, str],
    known: KnownListing,
    options: AuditOptions,
) -> FileResult:
    if kind is ManifestKind.PIPFILE:
        return check_text(text, path, known.listing, options, Mode.DIFF, lock_text=lock)
    # Imported here: the server answers fleet questions without the uv and Poetry engines.
    from pipfleet.engine.requirementsincludes import missing_includes
    from pipfleet.jobs.checkmanifests import Manifest, check_manifests

    if kind is ManifestKind.REQUIREMENTS:
        lock = None  # pip has none
        if missing := missing_includes(path, {**includes, path: text}):
            raise UsageError(
                f"{path} includes {', '.join(missing)} (-r/-c): give the text of each in "
                "`includes`, by that path"
            )
    manifest = Manifest(path, path, kind, text, lock)
    (result,) = check_manifests([manifest], includes, known.listing, options, Mode.DIFF)
    return result


def check_manifest(
    text: str,
    path: str,
    lock: str | None,
    includes: dict[str, str],
    known: KnownListing,
    options: AuditOptions,
) -> tuple[ManifestAnswer, str]:
    """Audit a pasted manifest of any kind ``pipfleet check`` reads as ``pipfleet check
    --diff`` does: a Pipfile, a uv or Poetry pyproject.toml (with its lock) or a
    requirements file (with the files it includes); PipfileError when it cannot be read."""
    _size_checked(text, path)
    if lock is not None:
        _size_checked(lock, "lock")
    for name, included in includes.items():
        _size_checked(included, name)
    kind = _kind(path, text, lock)
    if kind is None:
        result = FileResult(path, FileReport(path, ()), kind=None)
    else:
        result = _manifest_result(text, path, kind, lock, includes, known, options)
    findings = _findings(result)
    lock_answer = None
    if result.lock is not None:
        lock_answer = LockAnswer(result.lock.path, result.lock.new_text, result.lock.problem)
    answer = ManifestAnswer(
        path=path,
        kind=None if result.kind is None else result.kind.value,
        status=result.status.value,
        index_name=options.index_name,
        listing=known.origin,
        private_packages=len(known.listing),
        listing_digest=known.listing.digest(),
        findings=findings,
        fixed_text=result.new_text,
        diff=result.diff or None,
        fix_error=result.fix_error,
        lock=lock_answer,
        also_changed=tuple(ChangedFileAnswer(c.path, c.new_text) for c in result.also),
    )
    if result.status is FileStatus.NOT_AUDITED:
        return answer, (
            f"{path}: not audited: neither [tool.uv] nor [tool.poetry] in it and no uv.lock "
            "given, so no installer pipfleet knows reads it."
        )
    return answer, _check_text(result, findings)


def _findings(result: FileResult, shown: str | None = None) -> tuple[CheckedFinding, ...]:
    """A check's findings with their guidance; PipfileError naming the file (``shown``, else
    the one the parse error is in), line and column when it cannot be read."""
    if (error := result.report.parse_error) is not None:
        raise PipfileError(
            f"{shown or error.file} cannot be read: {error.message}",
            line=error.line,
            column=error.column,
        )
    return tuple(_checked(finding_json(f), FindingKind(f.kind)) for f in result.report.findings)


def _checked(fields: dict[str, Any], kind: FindingKind) -> CheckedFinding:
    advice = guidance(kind)
    return CheckedFinding(**fields, why=advice.why, what_to_do=advice.what_to_do)


def _check_text(result: FileResult, findings: tuple[CheckedFinding, ...]) -> str:
    pending = [f for f in findings if f.severity != "info"]
    if not pending:
        return f"{result.path}: compliant, nothing needs action."
    lines = [f"{result.path}: {len(pending)} finding(s) need action:"]
    for finding in pending:
        where = f"line {finding.line}: " if finding.line else ""
        lines.append(f"- {finding.kind} ({finding.severity}) {where}{finding.message}")
    if result.new_text is not None or result.also:
        what = "Pipfile" if result.kind is ManifestKind.PIPFILE else "file(s)"
        lines.append(f"The fixed {what} and the diff are in the structured answer.")
    elif result.fix_error:
        lines.append(f"No automatic fix: {result.fix_error}")
    if any(f.manual for f in result.report.findings):
        lines.append("Some changes are proposals for a person to make: see their `expected`.")
    if result.lock is not None and result.lock.problem is not None:
        lines.append(f"{result.lock.path}: {result.lock.problem}")
    return "\n".join(lines)


@dataclass(frozen=True)
class FleetAnswer:
    summary: FleetSummary
    age_seconds: float  # since the run finished (or started, when it never finished)
    trend: tuple[TrendPoint, ...]  # oldest first, ending with this run


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def fleet_summary(report: Report, now: datetime) -> tuple[FleetAnswer, str]:
    s = report.summary
    age = (now - (s.finished_at or s.started_at)).total_seconds()
    trend = " -> ".join(_share(point.compliant_share) for point in report.trend)
    text = (
        f"Scan run {s.run_id} ({s.status}, {age / 3600:.1f} h ago): {s.compliant_repositories} "
        f"of {s.repositories_with_pipfiles} repositories with a manifest compliant "
        f"({_share(s.compliant_share)}); {s.findings_needing_action} findings need action, "
        f"{s.confusion_risks} confusion risks, {s.failed_repositories} repositories failed. "
        f"Trend over the last {len(report.trend)} runs: {trend}."
    )
    return FleetAnswer(s, age, report.trend), text


@dataclass(frozen=True)
class RepositoryAnswer:
    run_id: int
    repository: RepositoryRow
    state: str  # failed | skipped | no-pipfile | compliant | non-compliant
    opted_out: str | None  # why pull requests are not sent, as far as the database knows
    pipfiles: tuple[PipfileState, ...]
    findings: tuple[FindingRow, ...]


def find_repository(report: Report, name: str) -> RepositoryRow:
    """The repository called ``name`` (full or short, any case); an error naming close ones."""
    wanted = name.strip().lower()
    for row in report.repositories:
        if wanted in (row.full_name.lower(), row.name.lower()):
            return row
    # Matched on both spellings; each repository named once, in full.
    full = {row.full_name: row.full_name for row in report.repositories}
    full |= {row.name: row.full_name for row in report.repositories}
    matches = difflib.get_close_matches(name, list(full), n=6, cutoff=0.6)
    close = list(dict.fromkeys(full[match] for match in matches))[:3]
    hint = f": did you mean {' or '.join(close)}?" if close else ""
    raise UsageError(
        f"no repository {name!r} in scan run {report.summary.run_id}{hint} "
        "(names are as on GitHub, with or without the org)"
    )


def _manifests(files: tuple[PipfileState, ...]) -> str:
    """'3 manifest(s) (pipfile, uv)': how many, and of which kinds."""
    kinds = ", ".join(dict.fromkeys(f.manifest_kind for f in files))
    return f"{len(files)} manifest(s)" + (f" ({kinds})" if kinds else "")


def repository_status(
    report: Report,
    row: RepositoryRow,
    pipfiles: tuple[PipfileState, ...],
    topics: tuple[str, ...],
    github: GitHubSettings,
) -> tuple[RepositoryAnswer, str]:
    # As the fix job judges it: .pipfleet.toml as the last scan read it (row.opted_out).
    opted_out = None
    if github.opt_out_topic in topics:
        opted_out = f"topic {github.opt_out_topic}"
    elif any(fnmatch.fnmatchcase(row.name, pattern) for pattern in github.exclude):
        opted_out = "excluded by the configuration"
    elif row.opted_out is not None:
        opted_out = row.opted_out
    findings = tuple(f for f in report.findings if f.repository == row.full_name)
    answer = RepositoryAnswer(report.summary.run_id, row, row.state, opted_out, pipfiles, findings)
    pr = row.pull_request
    pull = f"pull request #{pr.number} {pr.state} {pr.html_url or ''}".strip() if pr else "none"
    text = (
        f"{row.full_name}: {row.state} in scan run {report.summary.run_id}, "
        f"{_manifests(pipfiles)}, {row.findings} finding(s) need action"
        + (f" (worst {row.worst_severity})" if row.worst_severity else "")
        + f"; pull request: {pull}"
        + (f"; opted out ({opted_out})" if opted_out else "")
        + (f"; error: {row.error}" if row.error else "")
        + "."
    )
    return answer, text


@dataclass(frozen=True)
class PackageUse:
    """One Pipfile entry, or Pipfile.lock entry (category "default" or "develop"), naming it."""

    repository: str
    path: str
    category: str | None
    spec: str | None  # the version spec as written ("==2.1.0", "*"), None when unknown
    written: str | None  # the entry's value as written in the Pipfile
    pinned_to_index: bool  # the entry names the private index
    kinds: tuple[str, ...]  # the findings on this entry


@dataclass(frozen=True)
class PackageAnswer:
    run_id: int
    package: PackageRow
    uses: tuple[PackageUse, ...]
    pinned_versions_in_use: tuple[str, ...]  # exact ==x pins found
    pinned_versions_missing: tuple[str, ...]  # of those, the ones CodeArtifact lacks


def _spec(written: str | None) -> str | None:
    """The version spec of an entry value as written (a TOML string or inline table)."""
    if written is None:
        return None
    try:
        return parse(f"[packages]\nx = {written}\n").categories["packages"][0].version
    except (PipfileError, KeyError, IndexError):
        pass
    # A lock entry's finding holds the locked spec ("==2.1.0") itself, not TOML.
    try:
        return str(SpecifierSet(written))
    except InvalidSpecifier:
        return None


def package_usage(report: Report, name: str) -> tuple[PackageAnswer, str]:
    wanted = canonicalize_name(name.strip())
    package = next((p for p in report.packages if p.name == wanted), None)
    if package is None:
        names = [p.name for p in report.packages]
        close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
        hint = f": did you mean {' or '.join(close)}?" if close else ""
        raise UsageError(
            f"{name!r} is not a private package in scan run {report.summary.run_id}{hint}"
        )
    entries: dict[tuple[str, str, str | None], list[FindingRow]] = defaultdict(list)
    for finding in report.findings:
        if finding.package is not None and canonicalize_name(finding.package) == wanted:
            entries[(finding.repository, finding.path, finding.category)].append(finding)
    uses = []
    for (repository, path, category), rows in sorted(entries.items(), key=lambda i: str(i[0])):
        written = next((row.current for row in rows if row.current is not None), None)
        kinds = tuple(sorted({row.kind for row in rows}))
        uses.append(
            PackageUse(
                repository,
                path,
                category,
                _spec(written),
                written,
                FindingKind.COMPLIANT.value in kinds and not _UNPINNED & set(kinds),
                kinds,
            )
        )
    published = Listing({wanted: frozenset(package.published) or None})
    exact = sorted(
        {u.spec for u in uses if u.spec and published.has_version(wanted, u.spec) is not None}
    )
    missing = tuple(spec for spec in exact if published.has_version(wanted, spec) is False)
    answer = PackageAnswer(report.summary.run_id, package, tuple(uses), tuple(exact), missing)
    text = (
        f"{package.name}: used by {len(package.repositories)} repositories in "
        f"{package.entries} entries ({package.pinned_entries} pinned to the private index, "
        f"{package.unpinned_entries} not); exact pins {', '.join(exact) or 'none'}"
        + (f", of which CodeArtifact lacks {', '.join(missing)}" if missing else "")
        + f"; CodeArtifact has {', '.join(package.published) or 'no recorded version'}."
    )
    return answer, text
