"""``pipfleet check`` for uv and Poetry pyproject.toml files and requirements files.

The audit is the scan's: ``projects.project_report`` for a uv or Poetry manifest with the
lock beside it, ``requirementsrewrite.audit_with_proposals`` for a requirements install
with what it includes. ``--diff`` and ``--fix`` are the fix pull request's: one
``fixset.build_fix`` over every file checked, as over one repository, so poetry.lock is
updated in place when it can be, uv.lock never is (its result says to run ``uv lock``),
and a requirements file gets only the changes the file itself settles; the rest stay
proposals on its findings (``Finding.manual``) for a person to make.

A requirements file's includes (-r/-c) are read from disk as pip opens them, relative to
the file that names them. Paths are the engine's repository paths: relative to the working
directory (where pre-commit runs, the repository's top), so an include leaving it is
reported as not read, as the scan reports one leaving the repository; a file given by an
absolute path has its includes followed anywhere, as pip would.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipfleet.engine.audit import AuditOptions, parse_error_report
from pipfleet.engine.findings import FileReport, Finding, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.projects import (
    Project,
    ProjectLock,
    lock_or_none,
    parse_project,
    project_report,
)
from pipfleet.engine.requirementsincludes import MAX_READS, missing_includes
from pipfleet.engine.requirementsrewrite import audit_with_proposals
from pipfleet.engine.rewrite import unified_diff
from pipfleet.errors import PipfileError
from pipfleet.files import read_text
from pipfleet.jobs.check import ChangedFile, FileResult, LockResult, Mode
from pipfleet.manifests import PYPROJECT_NAME, UV_LOCK, lock_name, pyproject_kind, sibling
from pipfleet.safetext import mask_credentials
from pipfleet.states import ManifestKind

if TYPE_CHECKING:
    from pipfleet.engine.fixset import FileChange, ManifestFix


@dataclass(frozen=True)
class Manifest:
    """One uv, Poetry or requirements file to check, with its text."""

    path: str  # as the user named it, for output and for writing
    key: str  # the engine's path (see the module's docstring)
    kind: ManifestKind  # UV, POETRY or REQUIREMENTS
    text: str
    lock_text: str | None = None  # uv and Poetry: the lock beside it, when readable

    @property
    def lock_key(self) -> str | None:
        name = lock_name(self.kind)
        return None if name is None else sibling(self.key, name)


def engine_path(path: Path) -> str:
    """``path`` as the engine names files: relative to the working directory as given,
    or absolute when given so or when it climbs out of it (``..``)."""
    if path.is_absolute() or ".." in path.parts:
        return Path(os.path.abspath(path)).as_posix()
    return path.as_posix()


def _pending(report: FileReport) -> tuple[Finding, ...]:
    return tuple(f for f in report.findings if f.needs_action)


def _as_shown(report: FileReport, manifest: Manifest) -> FileReport:
    """``report`` naming the manifest as the user did rather than by its engine path."""
    if manifest.key == manifest.path:
        return report
    findings = tuple(
        replace(f, file=manifest.path) if f.file == manifest.key else f for f in report.findings
    )
    return replace(report, path=manifest.path, findings=findings)


def audit_manifest(
    manifest: Manifest,
    requirements: Mapping[str, str | None],
    listing: Listing,
    options: AuditOptions,
) -> FileReport:
    """One manifest's findings as the scan records them; ``requirements`` holds every
    requirements text a requirements file may include, by engine path."""
    if manifest.kind is ManifestKind.REQUIREMENTS:
        report = audit_with_proposals(manifest.key, requirements, listing, options)
    else:
        try:
            project = parse_project(manifest.kind, manifest.text, manifest.key)
        except PipfileError as exc:
            report = parse_error_report(manifest.key, exc)
        else:
            locked = lock_or_none(project, manifest.lock_text)
            report = project_report(project, listing, options, locked, manifest.lock_key)
    return _as_shown(report, manifest)


def _requirements_texts(
    manifests: Iterable[Manifest], includes: Mapping[str, str | None]
) -> dict[str, str | None]:
    texts = dict(includes)
    texts.update((m.key, m.text) for m in manifests if m.kind is ManifestKind.REQUIREMENTS)
    return texts


def _audit_all(
    manifests: Sequence[Manifest],
    includes: Mapping[str, str | None],
    listing: Listing,
    options: AuditOptions,
) -> list[FileReport]:
    texts = _requirements_texts(manifests, includes)
    return [audit_manifest(m, texts, listing, options) for m in manifests]


def check_manifests(
    manifests: Sequence[Manifest],
    includes: Mapping[str, str | None],
    listing: Listing,
    options: AuditOptions,
    mode: Mode,
) -> tuple[FileResult, ...]:
    """Each manifest's result, in order; ``includes`` are the texts requirements files
    include that are not among ``manifests`` (None: not there). Pure: writing is the
    caller's (``check.write_fix``)."""
    reports = _audit_all(manifests, includes, listing, options)
    if mode is Mode.AUDIT:
        return tuple(
            FileResult(m.path, r, remaining=_pending(r), kind=m.kind)
            for m, r in zip(manifests, reports, strict=True)
        )
    # Imported here: an audit, what a pre-commit hook runs, never rewrites anything.
    from pipfleet.engine.fixset import Manifests, build_fix

    kinds = {
        kind: {m.key: m.text for m in manifests if m.kind is kind}
        for kind in (ManifestKind.UV, ManifestKind.POETRY, ManifestKind.REQUIREMENTS)
    }
    locks = {
        m.lock_key: m.lock_text
        for m in manifests
        if m.lock_key is not None and m.lock_text is not None
    }
    fix = build_fix(
        {},
        locks,
        listing,
        options,
        Manifests(
            uv=kinds[ManifestKind.UV],
            poetry=kinds[ManifestKind.POETRY],
            requirements=kinds[ManifestKind.REQUIREMENTS],
            includes=includes,
        ),
    )
    changes = {change.path: change for change in fix.changes}
    owners = _owners(manifests, fix.manifests, changes)
    after = reports
    if mode is Mode.FIX:
        new = {path: change.new_text for path, change in changes.items()}
        fixed = [
            replace(
                m,
                text=new.get(m.key, m.text),
                lock_text=new.get(m.lock_key, m.lock_text) if m.lock_key else None,
            )
            for m in manifests
        ]
        texts = {path: new.get(path, text) for path, text in includes.items()}
        after = _audit_all(fixed, texts, listing, options)
    fixes = {manifest_fix.path: manifest_fix for manifest_fix in fix.manifests}
    results = []
    for manifest, report, report_after in zip(manifests, reports, after, strict=True):
        mine = [changes[path] for path, owner in owners.items() if owner == manifest.key]
        own = next((c for c in mine if c.path == manifest.key), None)
        also = [c for c in mine if c.path not in (manifest.key, manifest.lock_key)]
        diff = "".join(
            unified_diff(c.old_text, c.new_text, manifest.path if c is own else c.path)
            for c in ([own] if own else []) + also
        )
        results.append(
            FileResult(
                manifest.path,
                report,
                new_text=own.new_text if own else None,
                diff=mask_credentials(diff),
                fix_error=_fix_error(manifest, fix.unfixable),
                remaining=_pending(report_after),
                lock=_lock(manifest, fixes, changes),
                kind=manifest.kind,
                also=tuple(ChangedFile(c.path, c.new_text) for c in also),
            )
        )
    return tuple(results)


def _owners(
    manifests: Sequence[Manifest], fixes: Iterable[ManifestFix], changes: Mapping[str, FileChange]
) -> dict[str, str]:
    """Which manifest's result shows (and, with --fix, writes) each changed file: the file
    itself when checked, else the manifest whose lock it is, else the requirements install
    whose applied changes touch it (the only other files a fix changes). One owner each,
    so each change is shown and written once."""
    owners: dict[str, str] = {}
    for manifest in manifests:
        for path in (manifest.key, manifest.lock_key):
            if path is not None and path in changes:
                owners.setdefault(path, manifest.key)
    for manifest_fix in fixes:
        for proposal in manifest_fix.applied:
            for line in proposal.changes:
                if line.file in changes:
                    owners.setdefault(line.file, manifest_fix.path)
    return owners


def _fix_error(manifest: Manifest, unfixable: Iterable[str]) -> str | None:
    """Why the fix left this manifest alone: its own entries of ``RepoFix.unfixable`` (its
    path dropped), or its lock's (which name the lock)."""
    own = f"{manifest.key}: "
    lock = f"{manifest.lock_key}: " if manifest.lock_key else None
    reasons = [
        entry.removeprefix(own)
        for entry in unfixable
        if entry.startswith(own) or (lock is not None and entry.startswith(lock))
    ]
    return "; ".join(reasons) or None


def _lock(
    manifest: Manifest, fixes: Mapping[str, ManifestFix], changes: Mapping[str, FileChange]
) -> LockResult | None:
    """What the fix does to a uv or Poetry manifest's lock: poetry.lock updated in place
    when it can be, uv.lock never (``relock`` says what to run)."""
    manifest_fix = fixes.get(manifest.key)
    name = lock_name(manifest.kind)
    if manifest_fix is None or manifest_fix.lock is None or name is None:
        return None
    change = changes.get(manifest_fix.lock)
    new_text = change.new_text if change is not None else None
    return LockResult(sibling(manifest.path, name), new_text, manifest_fix.relock)


def _read_or_none(path: Path) -> str | None:
    """An included file's text; None when pip could not open it either."""
    if not path.is_file():
        return None
    try:
        return read_text(path)
    except PipfileError:
        return None


def read_includes(manifests: Iterable[Manifest]) -> dict[str, str | None]:
    """What the requirements files among ``manifests`` include, read from disk round after
    round (``missing_includes``), by engine path; bounded as ``load_tree`` bounds its reads,
    so a symlink loop cannot keep it reading."""
    texts = _requirements_texts(manifests, {})
    roots, includes = list(texts), dict[str, str | None]()
    while len(includes) < MAX_READS:
        known = {**includes, **texts}
        missing = {path for root in roots for path in missing_includes(root, known)}
        if not missing:
            break
        includes.update((path, _read_or_none(Path(path))) for path in sorted(missing))
    return includes


def read_manifest(path: Path) -> Manifest | FileResult:
    """The manifest at ``path`` with its lock, or the result of one that is not checked:
    unreadable (invalid), or a pyproject.toml neither uv's nor Poetry's (not audited)."""
    shown = str(path)
    is_pyproject = path.name == PYPROJECT_NAME
    try:
        text = read_text(path)
    except PipfileError as exc:
        finding = Finding(FindingKind.PARSE_ERROR, shown, exc.message)
        kind = None if is_pyproject else ManifestKind.REQUIREMENTS
        return FileResult(shown, FileReport(shown, (finding,)), remaining=(finding,), kind=kind)
    if not is_pyproject:
        return Manifest(shown, engine_path(path), ManifestKind.REQUIREMENTS, text)
    kind = pyproject_kind(text, (path.parent / UV_LOCK).is_file())
    if kind is None:
        return FileResult(shown, FileReport(shown, ()), kind=None)
    name = lock_name(kind)
    lock_text = _read_or_none(path.parent / name) if name else None
    return Manifest(shown, engine_path(path), kind, text, lock_text)


def check_files(
    paths: Sequence[Path], listing: Listing, options: AuditOptions, mode: Mode
) -> tuple[FileResult, ...]:
    """``check_manifests`` on the files at ``paths`` (pyproject.toml or requirements files),
    one result each, in order."""
    read = [read_manifest(path) for path in paths]
    manifests = [item for item in read if isinstance(item, Manifest)]
    checked = iter(check_manifests(manifests, read_includes(manifests), listing, options, mode))
    return tuple(next(checked) if isinstance(item, Manifest) else item for item in read)


def projects_at(paths: Iterable[Path]) -> list[tuple[Project, ProjectLock | None]]:
    """The uv and Poetry projects among ``paths``, with their locks, parsed; others and
    unreadable ones skipped (the check reports them): what CodeArtifact is asked about."""
    found = []
    for path in paths:
        manifest = read_manifest(path)
        if not isinstance(manifest, Manifest) or manifest.kind is ManifestKind.REQUIREMENTS:
            continue
        try:
            project = parse_project(manifest.kind, manifest.text, manifest.key)
        except PipfileError:
            continue
        found.append((project, lock_or_none(project, manifest.lock_text)))
    return found
