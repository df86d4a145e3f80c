"""pip requirements and constraints files: what they ask for, and where pip looks for it.

``parse`` reads one file the way pip's own reader does (continuations, comments, options
before or after a requirement); ``-r``/``-c`` includes are recorded, not followed: the
caller reads the other file (``requirementsincludes`` follows them for a whole install).
``audit`` reports confusion and hygiene; ``requirementsrewrite`` turns the findings into
proposed changes and makes the few that the file settles.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as Pep508

from pipfleet.engine.audit import AuditOptions, is_codeartifact_url
from pipfleet.engine.findings import FileReport, Finding, FindingKind, Severity
from pipfleet.engine.hygiene import has_literal_credential, is_loopback_url, is_plain_http
from pipfleet.engine.listing import Listing
from pipfleet.errors import PipfileError
from pipfleet.safetext import mask_credentials

PYPI_SIMPLE = "https://pypi.org/simple"
# pip strips a comment that starts the line or follows whitespace; '#' inside a URL stays.
_COMMENT = re.compile(r"(^|\s+)#.*$")
# PEP 508's "name[extras] @ url": a direct reference that still says its name.
_NAMED_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@")
_EGG = re.compile(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


class IncludeKind(StrEnum):
    REQUIREMENTS = "-r"
    CONSTRAINTS = "-c"


class IndexRole(StrEnum):
    INDEX_URL = "--index-url"
    EXTRA_INDEX_URL = "--extra-index-url"
    FIND_LINKS = "--find-links"


@dataclass(frozen=True)
class Requirement:
    """One requirement as written; ``name`` is None for a bare URL or path without #egg=."""

    name: str | None
    text: str
    line: int
    specifier: str = ""
    marker: str | None = None
    url: str | None = None  # a direct reference: pip never asks an index for it
    editable: bool = False
    hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Include:
    kind: IncludeKind
    target: str
    line: int


@dataclass(frozen=True)
class IndexOption:
    role: IndexRole
    url: str
    line: int
    # Written after a requirement on its line: pip applies only per-requirement options
    # (--hash, --config-settings) there and drops this one without a word.
    ignored: bool = False


@dataclass(frozen=True)
class TrustedHost:
    host: str
    line: int


@dataclass(frozen=True)
class RequirementsFile:
    path: str
    requirements: tuple[Requirement, ...]
    includes: tuple[Include, ...]
    indexes: tuple[IndexOption, ...]
    trusted_hosts: tuple[TrustedHost, ...]
    pre: bool
    no_index: bool


_VALUE_OPTIONS = {
    "-r": "-r",
    "--requirement": "-r",
    "-c": "-c",
    "--constraint": "-c",
    "-i": "-i",
    "--index-url": "-i",
    "--extra-index-url": "--extra-index-url",
    "-f": "-f",
    "--find-links": "-f",
    "--trusted-host": "--trusted-host",
    "-e": "-e",
    "--editable": "-e",
    "--hash": "--hash",
    # Accepted by pip and irrelevant to where packages come from.
    "--no-binary": "",
    "--only-binary": "",
    "--use-feature": "",
    "--global-option": "",
    "--config-settings": "",
}
_FLAG_OPTIONS = {
    "--pre": "--pre",
    "--no-index": "--no-index",
    "--prefer-binary": "",
    "--require-hashes": "",
}


def _logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(first and last physical line numbers, text) after joining continuations and
    dropping comments."""
    joined: list[tuple[int, int, str]] = []
    start, parts = 0, list[str]()
    number = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        # A comment line ending in a backslash does not continue (pip's join_lines).
        if raw.endswith("\\") and not _COMMENT.match(raw):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        joined.append((start, number, "".join(parts)))
        parts = []
    if parts:
        joined.append((start, number, "".join(parts)))
    stripped = ((first, last, _COMMENT.sub("", line).strip()) for first, last, line in joined)
    return [(first, last, line) for first, last, line in stripped if line]


def line_ends(text: str) -> dict[int, int]:
    """The last physical line of each logical line that holds something, by its first."""
    return {first: last for first, last, _ in _logical_lines(text)}


def _split_args_options(line: str) -> tuple[str, str]:
    """The requirement part (before the first token starting with '-') and the options."""
    tokens = line.split(" ")
    for position, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:position]).strip(), " ".join(tokens[position:])
    return line.strip(), ""


def _options(text: str, line: int) -> list[tuple[str, str]]:
    """(canonical option, value) pairs; the value is "" for a flag, the option "" for a
    requirement written after an option."""
    try:
        tokens = shlex.split(text, comments=False)
    except ValueError as exc:
        raise PipfileError(f"cannot split options: {exc}", line=line) from None
    pairs: list[tuple[str, str]] = []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        name, value = token, ""
        if token.startswith("--"):
            name, equals, value = token.partition("=")
            has_value = bool(equals)
        else:
            # -rfile.txt: optparse takes the rest of a short option as its value.
            has_value = len(token) > 2 and token[:2] in _VALUE_OPTIONS
            if has_value:
                name, value = token[:2], token[2:]
        if not token.startswith("-"):
            # pip ignores a requirement after an option (-f URL name==1); it is still
            # what the author meant to install, so the audit sees it.
            pairs.append(("", token))
            continue
        if name in _FLAG_OPTIONS:
            pairs.append((_FLAG_OPTIONS[name], ""))
            continue
        if name not in _VALUE_OPTIONS:
            raise PipfileError(f"unknown pip option {mask_credentials(token)!r}", line=line)
        if not has_value:
            if position >= len(tokens):
                raise PipfileError(f"pip option {name} needs a value", line=line)
            value = tokens[position]
            position += 1
        pairs.append((_VALUE_OPTIONS[name], value))
    return pairs


def _direct(text: str, line: int, editable: bool, hashes: tuple[str, ...]) -> Requirement:
    """A bare URL or path: pip installs it as it is, its name only known from #egg=."""
    location, _, marker = text.partition("; ")
    egg = _EGG.search(location)
    return Requirement(
        egg.group(1) if egg else None,
        text,
        line,
        marker=marker.strip() or None,
        url=location.strip(),
        editable=editable,
        hashes=hashes,
    )


def _is_location(text: str) -> bool:
    if _NAMED_REFERENCE.match(text):
        return False
    return "://" in text.split(";")[0] or text.startswith((".", "/", "~"))


def _requirements(text: str, line: int, hashes: tuple[str, ...]) -> list[Requirement]:
    if _is_location(text):
        return [_direct(text, line, False, hashes)]
    try:
        parsed = [Pep508(text)]
    except InvalidRequirement as exc:
        # Some files list several requirements on one line; pip itself rejects that,
        # but the tools that read such files install each of them.
        words = text.split()
        try:
            parsed = [Pep508(word) for word in words] if len(words) > 1 else []
        except InvalidRequirement:
            parsed = []
        if not parsed:
            message = str(exc).splitlines()[0]
            raise PipfileError(
                f"invalid requirement {mask_credentials(text)!r}: {message}", line=line
            ) from None
    return [
        Requirement(
            requirement.name,
            str(requirement) if len(parsed) > 1 else text,
            line,
            specifier=str(requirement.specifier),
            marker=str(requirement.marker) if requirement.marker else None,
            url=requirement.url,
            hashes=hashes,
        )
        for requirement in parsed
    ]


def parse(text: str, path: str = "requirements.txt") -> RequirementsFile:
    """The file's requirements and options; a line pip cannot read raises ``PipfileError``."""
    requirements: list[Requirement] = []
    includes: list[Include] = []
    indexes: list[IndexOption] = []
    trusted: list[TrustedHost] = []
    pre = no_index = False
    for line, _, logical in _logical_lines(text):
        argument, option_text = _split_args_options(logical)
        options = _options(option_text, line)
        hashes = tuple(value for option, value in options if option == "--hash")
        ignored = bool(argument)
        for text in [argument] + [value for option, value in options if not option]:
            if text:
                requirements.extend(_requirements(text, line, hashes))
        for option, value in options:
            match option:
                case "-r" | "-c":
                    includes.append(Include(IncludeKind(option), value, line))
                case "-i":
                    indexes.append(IndexOption(IndexRole.INDEX_URL, value, line, ignored))
                case "--extra-index-url":
                    indexes.append(IndexOption(IndexRole.EXTRA_INDEX_URL, value, line, ignored))
                case "-f":
                    indexes.append(IndexOption(IndexRole.FIND_LINKS, value, line, ignored))
                case "--trusted-host":
                    trusted.append(TrustedHost(value, line))
                case "-e":
                    requirements.append(_editable(value, line))
                case "--pre":
                    pre = True
                case "--no-index":
                    no_index = True
    return RequirementsFile(
        path,
        tuple(requirements),
        tuple(includes),
        tuple(indexes),
        tuple(trusted),
        pre,
        no_index,
    )


def _editable(value: str, line: int) -> Requirement:
    return _direct(value, line, True, ())


def _where(option: IndexOption) -> str:
    return f"{option.role.value} {mask_credentials(option.url)} (line {option.line})"


def hygiene_findings(requirements: RequirementsFile) -> list[Finding]:
    findings = []
    for option in requirements.indexes:
        if has_literal_credential(option.url):
            findings.append(
                Finding(
                    FindingKind.HARDCODED_CREDENTIAL,
                    requirements.path,
                    f"{option.role.value} on line {option.line} has a literal credential in its "
                    "URL: anyone who can read the repository can use it; write ${VARIABLE} "
                    "(pip expands it from the environment), e.g. "
                    "${CODEARTIFACT_AUTH_TOKEN}, and revoke the exposed credential",
                    line=option.line,
                )
            )
        if is_plain_http(option.url) and not is_loopback_url(option.url):
            findings.append(
                Finding(
                    FindingKind.INSECURE_SOURCE,
                    requirements.path,
                    f"{_where(option)} uses plain http: packages and any credential travel "
                    "unencrypted; use https",
                    line=option.line,
                    severity=Severity.HIGH,
                )
            )
    for trusted in requirements.trusted_hosts:
        if is_loopback_url(f"https://{trusted.host}"):
            continue
        findings.append(
            Finding(
                FindingKind.INSECURE_SOURCE,
                requirements.path,
                f"--trusted-host {trusted.host} (line {trusted.line}) turns off TLS "
                "verification for that host: a man in the middle can serve any package; "
                "remove it and reach the index over verified https",
                line=trusted.line,
            )
        )
    return findings


@dataclass(frozen=True)
class PlacedIndex:
    """An index option and the file it is written in."""

    file: str
    option: IndexOption


def index_urls(indexes: Sequence[PlacedIndex], no_index: bool) -> list[str]:
    """The indexes pip asks for every name once it has read ``indexes`` in order, as its
    handle_option_line does: PyPI to start with, an --index-url replaces the whole list
    (extra indexes read before it included), an --extra-index-url adds to it, one written
    after a requirement on its line counts for nothing, and --no-index anywhere empties it
    for good."""
    if no_index:
        return []
    urls = [PYPI_SIMPLE]
    for placed in indexes:
        if placed.option.ignored:
            continue
        if placed.option.role is IndexRole.INDEX_URL:
            urls = [placed.option.url]
        elif placed.option.role is IndexRole.EXTRA_INDEX_URL:
            urls.append(placed.option.url)
    return urls


def is_codeartifact(url: str, options: AuditOptions) -> bool:
    """A CodeArtifact URL, or one on the host of the configured private source."""
    if is_codeartifact_url(url):
        return True
    if options.source_url is None:
        return False
    try:
        return urlsplit(url).hostname == urlsplit(options.source_url).hostname
    except ValueError:
        return False


def _private(requirement: Requirement, listing: Listing) -> bool:
    """A private name pip looks up on its indexes (a direct reference names its own URL)."""
    return requirement.name is not None and requirement.url is None and requirement.name in listing


def _written(placed: PlacedIndex) -> str:
    return f"{placed.option.role.value} on line {placed.option.line} of {placed.file}"


def confusion_findings(
    files: Sequence[RequirementsFile],
    indexes: Sequence[PlacedIndex],
    no_index: bool,
    listing: Listing,
    options: AuditOptions,
) -> list[Finding]:
    """Private names in ``files`` (one pip invocation) that pip may take from another index
    than CodeArtifact: it asks every index for every name and installs the highest version."""
    urls = index_urls(indexes, no_index)
    private = [(f.path, r) for f in files for r in f.requirements if _private(r, listing)]
    if not private:
        return []
    if not any(is_codeartifact(url, options) for url in urls):
        written = [p for p in indexes if is_codeartifact(p.option.url, options)]
        if not written or no_index:
            return []
        ignored = next((p for p in written if p.option.ignored), None)
        if ignored is not None:
            why = (
                f"{_written(ignored)} follows a requirement on its line, where pip ignores "
                "index options"
            )
        else:
            # An --index-url read later dropped CodeArtifact.
            last = next(
                p
                for p in reversed(indexes)
                if p.option.role is IndexRole.INDEX_URL and not p.option.ignored
            )
            why = (
                f"{_written(last)} is read after {_written(written[-1])} and replaces every "
                "index before it"
            )
        message = (
            f"is private, but pip never asks CodeArtifact for it: {why}, so pip looks only "
            f"on {', '.join(mask_credentials(url) for url in urls)}. Make CodeArtifact the only "
            "index (--index-url <CodeArtifact URL> on a line of its own, PyPI reached through "
            "the repository's upstream)"
        )
        kind = FindingKind.MISSING_INDEX
    elif others := [mask_credentials(u) for u in urls if not is_codeartifact(u, options)]:
        message = (
            "is private, but pip looks for it on every index of this install "
            f"({', '.join(others)} beside CodeArtifact) and installs the highest version it "
            "finds: a public package of the same name wins. Make CodeArtifact the only index "
            "(--index-url <CodeArtifact URL>, no --extra-index-url, PyPI reached through the "
            "repository's upstream), or move to a tool that pins a package to one index "
            "(pipenv, uv, Poetry)"
        )
        kind = FindingKind.EXTRA_INDEX_URL
    else:
        return []
    return [
        Finding(
            kind,
            path,
            f"{requirement.name} {message}",
            package=requirement.name,
            current=requirement.text,
            line=requirement.line,
        )
        for path, requirement in private
    ]


def audit(
    requirements: RequirementsFile, listing: Listing, options: AuditOptions | None = None
) -> FileReport:
    """Dependency confusion and source hygiene of one requirements file, its includes
    unread (``requirementsincludes.audit_tree`` follows them)."""
    indexes = [PlacedIndex(requirements.path, option) for option in requirements.indexes]
    findings = confusion_findings(
        [requirements], indexes, requirements.no_index, listing, options or AuditOptions()
    )
    findings += hygiene_findings(requirements)
    return FileReport(requirements.path, tuple(sorted(findings, key=lambda f: f.line or 0)))
