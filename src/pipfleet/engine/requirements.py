"""pip requirements and constraints files: what they ask for, and where pip looks for it.

``parse`` reads one file the way pip's own reader does (continuations, comments, options
before or after a requirement); ``-r``/``-c`` includes are recorded, not followed: the
caller reads the other file. ``audit`` reports what a rewrite cannot fix safely, so every
finding proposes its change in its message instead of an automatic fix.
"""

from __future__ import annotations

import re
import shlex
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


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, text) after joining continuations and dropping comments."""
    joined: list[tuple[int, str]] = []
    start, parts = 0, list[str]()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        # A comment line ending in a backslash does not continue (pip's join_lines).
        if raw.endswith("\\") and not _COMMENT.match(raw):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        joined.append((start, "".join(parts)))
        parts = []
    if parts:
        joined.append((start, "".join(parts)))
    stripped = ((number, _COMMENT.sub("", line).strip()) for number, line in joined)
    return [(number, line) for number, line in stripped if line]


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
    for line, logical in _logical_lines(text):
        argument, option_text = _split_args_options(logical)
        options = _options(option_text, line)
        hashes = tuple(value for option, value in options if option == "--hash")
        for text in [argument] + [value for option, value in options if not option]:
            if text:
                requirements.extend(_requirements(text, line, hashes))
        for option, value in options:
            match option:
                case "-r" | "-c":
                    includes.append(Include(IncludeKind(option), value, line))
                case "-i":
                    indexes.append(IndexOption(IndexRole.INDEX_URL, value, line))
                case "--extra-index-url":
                    indexes.append(IndexOption(IndexRole.EXTRA_INDEX_URL, value, line))
                case "-f":
                    indexes.append(IndexOption(IndexRole.FIND_LINKS, value, line))
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


def _hygiene(requirements: RequirementsFile) -> list[Finding]:
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


def _index_urls(requirements: RequirementsFile) -> list[str]:
    """Every index pip asks for a name: PyPI unless an --index-url replaces it."""
    if requirements.no_index:
        return []
    urls = [
        option.url
        for option in requirements.indexes
        if option.role in (IndexRole.INDEX_URL, IndexRole.EXTRA_INDEX_URL)
    ]
    if not any(option.role is IndexRole.INDEX_URL for option in requirements.indexes):
        urls.insert(0, PYPI_SIMPLE)
    return urls


def _codeartifact(url: str, options: AuditOptions) -> bool:
    if is_codeartifact_url(url):
        return True
    if options.source_url is None:
        return False
    try:
        return urlsplit(url).hostname == urlsplit(options.source_url).hostname
    except ValueError:
        return False


def _confusion(
    requirements: RequirementsFile, listing: Listing, options: AuditOptions
) -> list[Finding]:
    """A private name pip may take from any index: it picks the highest version among all."""
    urls = _index_urls(requirements)
    if not any(_codeartifact(url, options) for url in urls) or len(urls) < 2:
        return []
    others = ", ".join(mask_credentials(url) for url in urls if not _codeartifact(url, options))
    findings = []
    for requirement in requirements.requirements:
        if requirement.name is None or requirement.url is not None:
            continue
        if requirement.name not in listing:
            continue
        findings.append(
            Finding(
                FindingKind.EXTRA_INDEX_URL,
                requirements.path,
                f"{requirement.name} is private, but pip looks for it on every index of this "
                f"file ({others} beside CodeArtifact) and installs the highest version it "
                "finds: a public package of the same name wins. Make CodeArtifact the only "
                "index (--index-url <CodeArtifact URL>, no --extra-index-url, PyPI reached "
                "through the repository's upstream), or move to a tool that pins a package "
                "to one index (pipenv, uv, Poetry)",
                package=requirement.name,
                current=requirement.text,
                line=requirement.line,
            )
        )
    return findings


def audit(
    requirements: RequirementsFile, listing: Listing, options: AuditOptions | None = None
) -> FileReport:
    """Dependency confusion and source hygiene of one requirements file."""
    findings = _confusion(requirements, listing, options or AuditOptions())
    findings += _hygiene(requirements)
    return FileReport(requirements.path, tuple(sorted(findings, key=lambda f: f.line or 0)))
