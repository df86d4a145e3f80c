"""A uv or Poetry manifest as one thing: parse it and its lock, audit both together.

A Pipfile's audit reads its lock through ``audit.audit`` and a requirements file's the
files it includes through ``requirementsincludes``; a pyproject.toml goes to the engine of
the installer that reads it (``pipfleet.manifests.pyproject_kind`` tells which). The scan,
``pipfleet check`` and the fix all judge a manifest through ``project_report``, so they
agree on what is wrong with it.
"""

from __future__ import annotations

from pipfleet.engine import poetrylock, poetryproject, uvlock, uvproject
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport, Finding
from pipfleet.engine.listing import Listing
from pipfleet.engine.poetryproject import PoetryProject
from pipfleet.engine.uvproject import UvProject
from pipfleet.errors import PipfileError
from pipfleet.states import ManifestKind

# A uv or Poetry manifest, parsed.
Project = UvProject | PoetryProject
# Its lock, parsed: a uv.lock's packages or a poetry.lock.
ProjectLock = tuple[uvlock.UvLockedPackage, ...] | poetrylock.PoetryLock


def parse_project(kind: ManifestKind, text: str, path: str) -> Project:
    """Parse a uv or Poetry manifest; raise PipfileError when it is invalid."""
    match kind:
        case ManifestKind.UV:
            return uvproject.parse(text, path)
        case ManifestKind.POETRY:
            return poetryproject.parse(text, path)
    raise ValueError(f"a {kind} manifest is not parsed here")


def audit_project(project: Project, listing: Listing, options: AuditOptions) -> FileReport:
    """The findings of a parsed uv or Poetry manifest, by its own engine."""
    match project:
        case UvProject():
            return uvproject.audit(project, listing, options)
        case PoetryProject():
            return poetryproject.audit(project, listing, options)


def parse_project_lock(project: Project, text: str) -> ProjectLock:
    """Parse the lock beside a uv or Poetry manifest; raise PipfileError when it is not one."""
    match project:
        case UvProject():
            return uvlock.parse_lock(text)
        case PoetryProject():
            return poetrylock.parse_lock(text)


def lock_or_none(project: Project, text: str | None) -> ProjectLock | None:
    """The lock beside a project, parsed; None without one or when it is not one: the scan
    and ``check`` audit such a project as one without a lock, as they do a Pipfile."""
    if text is None:
        return None
    try:
        return parse_project_lock(project, text)
    except PipfileError:
        return None


def project_report(
    project: Project,
    listing: Listing,
    options: AuditOptions,
    locked: ProjectLock | None,
    lock_path: str | None = None,
) -> FileReport:
    """A uv or Poetry manifest's findings with what its lock installs (provenance, private
    packages arriving through other ones) or, without a lock, the private packages its
    private dependencies need by the listing: what the scan records, ``check`` reports and
    the fix rewrites. ``lock_path`` defaults to the lock beside the manifest."""
    report = audit_project(project, listing, options)
    extra: list[Finding]
    match project:
        case UvProject():
            assert locked is None or isinstance(locked, tuple)
            extra = (
                uvlock.listing_transitive_findings(project, listing, options)
                if locked is None
                else uvlock.lock_findings(project, locked, listing, options, lock_path)
            )
        case PoetryProject():
            assert locked is None or isinstance(locked, poetrylock.PoetryLock)
            target = report.private_source or options.index_name
            extra = (
                poetrylock.listing_transitive_findings(project, listing, target)
                if locked is None
                else poetrylock.lock_findings(project, locked, listing, target, lock_path)
            )
    if not extra:
        return report
    return FileReport(
        report.path,
        report.findings + tuple(extra),
        report.private_source,
        report.private_source_match,
    )


def project_versions(
    project: Project, locked: ProjectLock | None, listing: Listing
) -> set[tuple[str, str]]:
    """The private (package, version) pairs a uv or Poetry manifest installs (see
    ``uvlock.versions_used``)."""
    match project:
        case UvProject():
            assert locked is None or isinstance(locked, tuple)
            return uvlock.versions_used(project, locked, listing)
        case PoetryProject():
            assert locked is None or isinstance(locked, poetrylock.PoetryLock)
            return poetrylock.versions_used(project, locked, listing)
