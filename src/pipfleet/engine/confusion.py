"""Dependency confusion: what the registries say about each private package name.

The scan asks CodeArtifact where a package's versions come from and whether its
origin configuration lets upstream versions in, and asks the public index whether
the name is taken. This module turns those answers into findings per entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipfleet.engine.findings import Finding, FindingKind, Severity


class Origin(StrEnum):
    INTERNAL = "internal"  # every version published to CodeArtifact
    MIXED = "mixed"  # internal versions beside versions cached from upstream
    EXTERNAL = "external"  # only cached from upstream: not private under the default policy


class PublicStatus(StrEnum):
    TAKEN = "taken"  # the public index has a project of that name
    FREE = "free"  # it answered 404: anyone could register the name
    UNKNOWN = "unknown"  # no clear answer; never read as free


@dataclass(frozen=True)
class PackageIntel:
    name: str  # PEP 503 normalised
    origin: Origin
    upstream_allowed: bool
    public: PublicStatus
    versions: tuple[str, ...] = ()


def confusion_findings(
    path: str,
    category: str,
    package: str,
    line: int | None,
    pinned: bool,
    intel: PackageIntel,
) -> list[Finding]:
    """confusion-risk, name-claimable and origin-drift findings for one private entry."""

    def finding(kind: FindingKind, message: str, severity: Severity | None = None) -> Finding:
        return Finding(
            kind,
            path,
            message,
            category=category,
            package=package,
            line=line,
            severity=kind.severity if severity is None else severity,
        )

    findings = []
    if intel.public is PublicStatus.TAKEN:
        if pinned:
            message = (
                f"{package} also exists on public PyPI; this entry resolves from the private "
                "index, but any Pipfile that forgets the index installs the public one"
            )
        else:
            message = (
                f"{package} also exists on public PyPI and this entry is not pinned to the "
                "private index: pipenv can install the public package instead"
            )
        severity = Severity.HIGH if pinned else Severity.CRITICAL
        findings.append(finding(FindingKind.CONFUSION_RISK, message, severity))
    elif intel.public is PublicStatus.FREE:
        message = (
            f"{package} is not registered on public PyPI: anyone could claim the name; "
            "consider registering a placeholder"
        )
        findings.append(finding(FindingKind.NAME_CLAIMABLE, message))
    if intel.origin is not Origin.EXTERNAL and intel.upstream_allowed:
        message = (
            f"{package} is internal but its CodeArtifact origin configuration allows "
            "upstream versions: CodeArtifact itself could serve a public look-alike; "
            "set upstream to BLOCK"
        )
        findings.append(finding(FindingKind.ORIGIN_DRIFT, message))
    return findings
