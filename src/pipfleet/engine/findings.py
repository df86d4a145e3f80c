"""Typed findings: what the audit says about one Pipfile."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import assert_never


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class FindingKind(StrEnum):
    COMPLIANT = "compliant"
    MISSING_INDEX = "missing-index"
    WRONG_INDEX = "wrong-index"
    UNDEFINED_INDEX = "undefined-index"
    MISSING_SOURCE = "missing-source"
    VERSION_NOT_FOUND = "version-not-found"
    NON_REGISTRY = "non-registry"
    PARSE_ERROR = "parse-error"
    # Source hygiene
    HARDCODED_CREDENTIAL = "hardcoded-credential"
    INSECURE_SOURCE = "insecure-source"
    PUBLIC_FIRST = "public-first"
    # Index settings of uv, Poetry and pip that let a private name resolve elsewhere
    INDEX_NOT_EXPLICIT = "index-not-explicit"
    UNSAFE_INDEX_STRATEGY = "unsafe-index-strategy"
    EXTRA_INDEX_URL = "extra-index-url"
    # Dependency confusion, from the registries' answers
    CONFUSION_RISK = "confusion-risk"
    NAME_CLAIMABLE = "name-claimable"
    ORIGIN_DRIFT = "origin-drift"
    # What gets installed, from the Pipfile.lock and the private packages' dependencies
    FOREIGN_HASHES = "foreign-hashes"
    PRIVATE_TRANSITIVE = "private-transitive"

    @property
    def severity(self) -> Severity:
        """The kind's usual severity; a finding may change it (confusion-risk when unpinned
        is critical, missing-index where the private source is the first source is info)."""
        match self:
            case (
                FindingKind.COMPLIANT
                | FindingKind.NON_REGISTRY
                | FindingKind.PUBLIC_FIRST
                | FindingKind.NAME_CLAIMABLE
            ):
                return Severity.INFO
            case (
                FindingKind.VERSION_NOT_FOUND
                | FindingKind.INSECURE_SOURCE
                | FindingKind.INDEX_NOT_EXPLICIT
            ):
                return Severity.MEDIUM
            case (
                FindingKind.MISSING_INDEX
                | FindingKind.WRONG_INDEX
                | FindingKind.UNDEFINED_INDEX
                | FindingKind.MISSING_SOURCE
                | FindingKind.PARSE_ERROR
                | FindingKind.CONFUSION_RISK
                | FindingKind.ORIGIN_DRIFT
                | FindingKind.PRIVATE_TRANSITIVE
                | FindingKind.UNSAFE_INDEX_STRATEGY
            ):
                return Severity.HIGH
            case (
                FindingKind.HARDCODED_CREDENTIAL
                | FindingKind.FOREIGN_HASHES
                | FindingKind.EXTRA_INDEX_URL
            ):
                return Severity.CRITICAL
            case _:
                assert_never(self)


@dataclass(frozen=True)
class Finding:
    """One observation about one entry (or the whole file, when ``package`` is None)."""

    kind: FindingKind
    file: str
    message: str
    category: str | None = None
    package: str | None = None  # the key as written in the Pipfile
    current: str | None = None  # the entry's value as written
    expected: str | None = None  # the value the fix writes; None when no fix applies
    line: int | None = None
    column: int | None = None
    source: str | None = None  # the private source's name that was used, if any
    severity: Severity = None  # type: ignore[assignment]  # the kind's severity unless given
    # ``expected`` is a change proposed for a person to make, not one pipfleet makes: a
    # requirements file's fix where the file alone does not settle the answer.
    manual: bool = False

    def __post_init__(self) -> None:
        if self.severity is None:
            object.__setattr__(self, "severity", self.kind.severity)

    @property
    def needs_action(self) -> bool:
        """Whether someone has to change the file (a fix or a human decision)."""
        return self.severity > Severity.INFO

    @property
    def fixable(self) -> bool:
        return self.expected is not None and self.kind in FIXABLE_KINDS and not self.manual

    @property
    def breaks_compliance(self) -> bool:
        """Whether the Pipfile itself is wrong (not the registries around it).

        An info finding never is: a missing index where the private source comes first
        still resolves from it, so it is offered as a fix without counting against the file.
        """
        return self.kind in NONCOMPLIANT_KINDS and self.needs_action


# private-transitive is fixed by adding the entry to the Pipfile (the lock follows with
# CodeArtifact's hashes). foreign-hashes is no Pipfile rewrite: build_fix replaces the
# lock's hashes with CodeArtifact's, so it stays out of this set.
FIXABLE_KINDS = frozenset(
    {
        FindingKind.MISSING_INDEX,
        FindingKind.WRONG_INDEX,
        FindingKind.UNDEFINED_INDEX,
        FindingKind.MISSING_SOURCE,
        FindingKind.PRIVATE_TRANSITIVE,
        # uv and Poetry: the private index becomes explicit (its pins are fixed alongside).
        FindingKind.INDEX_NOT_EXPLICIT,
    }
)
# In a requirements file, where the file alone settles the fix (requirementsrewrite):
# CodeArtifact as the only index, its token from the environment, https. Elsewhere, and
# where it does not, these findings carry no ``expected`` or a ``manual`` one.
REQUIREMENTS_FIXABLE_KINDS = frozenset(
    {FindingKind.EXTRA_INDEX_URL, FindingKind.HARDCODED_CREDENTIAL, FindingKind.INSECURE_SOURCE}
)
FIXABLE_KINDS |= REQUIREMENTS_FIXABLE_KINDS


# What a repository fixes in its own Pipfile (or its lock: foreign hashes, and a private
# dependency it must list). Confusion risk on a pinned entry, a claimable
# name or origin drift are about the registries, and public-first or non-registry are notes.
NONCOMPLIANT_KINDS = frozenset(
    {
        FindingKind.MISSING_INDEX,
        FindingKind.WRONG_INDEX,
        FindingKind.UNDEFINED_INDEX,
        FindingKind.MISSING_SOURCE,
        FindingKind.VERSION_NOT_FOUND,
        FindingKind.PARSE_ERROR,
        FindingKind.HARDCODED_CREDENTIAL,
        FindingKind.INSECURE_SOURCE,
        FindingKind.FOREIGN_HASHES,
        FindingKind.PRIVATE_TRANSITIVE,
        FindingKind.INDEX_NOT_EXPLICIT,
        FindingKind.UNSAFE_INDEX_STRATEGY,
        FindingKind.EXTRA_INDEX_URL,
    }
)


@dataclass(frozen=True)
class FileReport:
    """Everything the audit found in one Pipfile."""

    path: str
    findings: tuple[Finding, ...]
    private_source: str | None = None  # the [[source]] name the private packages belong to
    private_source_match: str | None = None  # "name" or "url-host": how it was recognised

    @property
    def needs_action(self) -> bool:
        return any(finding.needs_action for finding in self.findings)

    @property
    def compliant(self) -> bool:
        return not any(finding.breaks_compliance for finding in self.findings)

    @property
    def parse_error(self) -> Finding | None:
        return next((f for f in self.findings if f.kind is FindingKind.PARSE_ERROR), None)

    @property
    def fixable(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.fixable)
