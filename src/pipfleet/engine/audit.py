"""Decide, for one Pipfile and a private-package listing, which entries comply."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipfleet.engine import rewrite
from pipfleet.engine.confusion import PackageIntel, confusion_findings
from pipfleet.engine.findings import FileReport, Finding, FindingKind, Severity
from pipfleet.engine.hygiene import hygiene_findings
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import Entry, Pipfile, Source, parse
from pipfleet.engine.provenance import LockedPackage, locked_packages, provenance_findings
from pipfleet.errors import PipfileError
from pipfleet.safetext import mask_credentials

DEFAULT_INDEX_NAME = "codeartifact"
# <domain>-<owner>.d.codeartifact.<region>.amazonaws.com
_CODEARTIFACT_HOST = re.compile(r"^.+\.d\.codeartifact\.[a-z0-9-]+\.amazonaws\.com$", re.I)


@dataclass(frozen=True)
class AuditOptions:
    index_name: str = DEFAULT_INDEX_NAME
    source_url: str | None = None  # used when a Pipfile has no private source yet
    # What the registries say about private names (PEP 503 name -> intel), when known.
    intel: Mapping[str, PackageIntel] = field(default_factory=dict)


def is_codeartifact_url(url: str) -> bool:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return bool(host and _CODEARTIFACT_HOST.match(host))


def private_source(pipfile: Pipfile, index_name: str) -> tuple[Source | None, str | None]:
    """The source private packages belong to, and how it was recognised ("name" or "url-host")."""
    if (named := pipfile.source_named(index_name)) is not None:
        return named, "name"
    for source in pipfile.sources:
        if source.name and is_codeartifact_url(source.url):
            return source, "url-host"
    return None, None


def audit_text(
    text: str,
    path: str,
    listing: Listing,
    options: AuditOptions = AuditOptions(),
    lock_text: str | None = None,
    lock_path: str | None = None,
) -> tuple[Pipfile | None, FileReport]:
    """Parse and audit; an invalid file gives a report with one ``parse-error`` finding.

    ``lock_text`` is the Pipfile.lock beside it (at ``lock_path``, by default the
    sibling path), if any: see ``audit``.
    """
    try:
        pipfile = parse(text, path)
    except PipfileError as exc:
        return None, parse_error_report(path, exc)
    locked = locked_packages(lock_text) if lock_text is not None else None
    return pipfile, audit(pipfile, listing, options, locked, lock_path)


def parse_error_report(path: str, error: PipfileError) -> FileReport:
    """The report of a Pipfile that does not parse: one ``parse-error`` finding."""
    finding = Finding(
        FindingKind.PARSE_ERROR, path, error.message, line=error.line, column=error.column
    )
    return FileReport(path, (finding,))


def audit(
    pipfile: Pipfile,
    listing: Listing,
    options: AuditOptions = AuditOptions(),
    locked: Sequence[LockedPackage] | None = None,
    lock_path: str | None = None,
) -> FileReport:
    """Findings for every private entry, every non-registry entry and every undefined index.

    Then, from ``provenance``: the lock's provenance when ``locked`` (the packages of
    the Pipfile.lock beside it, from ``locked_packages``) is given and private
    transitive dependencies (from the lock, else from the listing's dependencies).
    Without a lock, and with a listing that carries no dependencies, these add nothing.
    """
    source, match = private_source(pipfile, options.index_name)
    target = source.name if source and source.name else options.index_name
    first = pipfile.sources[0].name if pipfile.sources else None
    default_index = f"{first!r} (the first source)" if first else "the first source"
    findings: list[Finding] = []
    private_entries = 0
    for entry in pipfile.entries():
        if entry.non_registry_key is not None:
            findings.append(_non_registry(pipfile, entry, private=entry.name in listing))
            continue
        if entry.name not in listing:
            if entry.index is not None and pipfile.source_named(entry.index) is None:
                findings.append(
                    _entry_finding(
                        FindingKind.UNDEFINED_INDEX,
                        pipfile,
                        entry,
                        f"index {entry.index!r} names no [[source]]: pipenv cannot lock it",
                        expected=None,
                    )
                )
            continue
        private_entries += 1
        verdict = _private_entry(pipfile, entry, target, source, default_index)
        findings.append(verdict)
        if (intel := options.intel.get(entry.name)) is not None:
            # An entry that relies on the private source being first cannot get the
            # public package either: pipenv asks only the first source for it.
            pinned = verdict.kind is FindingKind.COMPLIANT or verdict.severity is Severity.INFO
            findings.extend(
                confusion_findings(
                    pipfile.path, entry.category, entry.key, entry.line, pinned, intel
                )
            )
        version = entry.version
        if version and listing.has_version(entry.name, version) is False:
            known = ", ".join(sorted(listing.versions(entry.name) or ())) or "none"
            findings.append(
                _entry_finding(
                    FindingKind.VERSION_NOT_FOUND,
                    pipfile,
                    entry,
                    f"{entry.key} {version} is not in the private repository (it has: {known})",
                    expected=None,
                    source=target,
                )
            )
    if private_entries and source is None:
        findings.insert(0, _missing_source(pipfile, target, options.source_url))
    findings[:0] = hygiene_findings(pipfile, source, private_entries > 0)
    findings.extend(provenance_findings(pipfile, listing, locked, target, lock_path))
    return FileReport(
        pipfile.path,
        tuple(findings),
        private_source=target if source else None,
        private_source_match=match,
    )


def _private_entry(
    pipfile: Pipfile, entry: Entry, target: str, source: Source | None, default_index: str
) -> Finding:
    if entry.index == target and source is not None:
        return _entry_finding(
            FindingKind.COMPLIANT,
            pipfile,
            entry,
            f"{entry.key} resolves from the private source {target!r}",
            expected=None,
            source=target,
        )
    expected = rewrite.pinned_value(pipfile.text, entry, target)
    if entry.index is None and source is not None and source.position == 0:
        # pipenv asks only the first source for an entry without an index: here that is
        # the private one, so the entry resolves, but only as long as the order holds.
        message = (
            f"{entry.key} has no index: pipenv finds it on {target!r} only because that is "
            "the first source; pin it so that adding or reordering sources cannot change that"
        )
        return _entry_finding(
            FindingKind.MISSING_INDEX,
            pipfile,
            entry,
            message,
            expected=expected,
            source=target,
            severity=Severity.INFO,
        )
    if entry.index is None:
        kind = FindingKind.MISSING_INDEX
        message = (
            f"{entry.key} is private but has no index: pipenv looks for it on "
            f"{default_index}, where it is missing or could be an impostor"
        )
    elif pipfile.source_named(entry.index) is None:
        kind = FindingKind.UNDEFINED_INDEX
        message = f"{entry.key} names index {entry.index!r}, which is no [[source]] of this file"
    else:
        kind = FindingKind.WRONG_INDEX
        message = f"{entry.key} is private but pinned to {entry.index!r} instead of {target!r}"
    return _entry_finding(kind, pipfile, entry, message, expected=expected, source=target)


def _non_registry(pipfile: Pipfile, entry: Entry, private: bool) -> Finding:
    origin = entry.non_registry_key
    message = f"{entry.key} comes from {origin}, not a package index: reported, never rewritten"
    if private:
        message += "; it is a private package fetched outside CodeArtifact"
    return _entry_finding(FindingKind.NON_REGISTRY, pipfile, entry, message, expected=None)


def _missing_source(pipfile: Pipfile, target: str, source_url: str | None) -> Finding:
    if source_url is None:
        message = (
            f"private packages are present but no [[source]] named {target!r} or with a "
            "CodeArtifact URL exists; give --source-url (or the config's source URL) to add one"
        )
        expected = None
    else:
        message = f"private packages are present but no CodeArtifact source: adds {target!r}"
        expected = rewrite.source_block(target, source_url, "\n", with_implicit=not pipfile.sources)
    return Finding(
        FindingKind.MISSING_SOURCE, pipfile.path, message, expected=expected, source=target
    )


def _entry_finding(
    kind: FindingKind,
    pipfile: Pipfile,
    entry: Entry,
    message: str,
    *,
    expected: str | None,
    source: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    return Finding(
        kind,
        pipfile.path,
        message,
        category=entry.category,
        package=entry.key,
        # The entry as written goes to reports, the database and PR bodies: a literal
        # credential in a file or git URL must not go with it.
        current=mask_credentials(rewrite.current_value(pipfile.text, entry)),
        expected=expected,
        line=entry.line,
        source=source,
        severity=kind.severity if severity is None else severity,
    )
