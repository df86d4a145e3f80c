"""Source hygiene: credentials, transport security and source order of a Pipfile.

A credential found in a URL is reported by the fact and the source's name only;
the credential itself never leaves this module.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pipfleet.engine.findings import Finding, FindingKind, Severity
from pipfleet.engine.pipfile import Pipfile, Source

# ${VAR} or $VAR: pipenv expands these from the environment when it reads the Pipfile.
_ENV_REFERENCE = re.compile(r"^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$")
# A user name alone can be a token (e.g. https://<token>@host): long and not a plain word.
_TOKEN_LIKE_USER = re.compile(r"^[A-Za-z0-9_\-.~%]{20,}$")


def _userinfo(url: str) -> tuple[str | None, str | None]:
    netloc = urlsplit(url).netloc
    if "@" not in netloc:
        return None, None
    userinfo = netloc.rsplit("@", 1)[0]
    user, has_password, password = userinfo.partition(":")
    return user, password if has_password else None


def has_literal_credential(url: str) -> bool:
    """Whether a source URL carries a password or token written out, not referenced."""
    try:
        user, password = _userinfo(url)
    except ValueError:
        return False
    if password:
        return not _ENV_REFERENCE.match(password)
    return bool(user and not _ENV_REFERENCE.match(user) and _TOKEN_LIKE_USER.match(user))


def is_loopback_url(url: str) -> bool:
    """Traffic to this machine itself cannot be intercepted on the way."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return host in ("localhost", "::1") or host.startswith("127.")


def is_plain_http(url: str) -> bool:
    try:
        return urlsplit(url).scheme.lower() == "http"
    except ValueError:
        return False


def _source_label(source: Source) -> str:
    return repr(source.name) if source.name else f"#{source.position + 1}"


def hygiene_findings(
    pipfile: Pipfile, private_source: Source | None, has_private_entries: bool
) -> list[Finding]:
    """hardcoded-credential, insecure-source and public-first findings for one Pipfile."""
    findings = []
    for source in pipfile.sources:
        label = _source_label(source)
        if has_literal_credential(source.url):
            findings.append(
                Finding(
                    FindingKind.HARDCODED_CREDENTIAL,
                    pipfile.path,
                    f"source {label} has a literal credential in its URL: anyone who can read "
                    "the repository can use it; reference an environment variable instead, "
                    "e.g. ${CODEARTIFACT_AUTH_TOKEN}, and revoke the exposed credential",
                    line=source.line,
                    source=source.name,
                )
            )
        if is_loopback_url(source.url):
            continue
        if is_plain_http(source.url):
            findings.append(
                Finding(
                    FindingKind.INSECURE_SOURCE,
                    pipfile.path,
                    f"source {label} uses plain http: packages and any credential travel "
                    "unencrypted; use https",
                    line=source.line,
                    source=source.name,
                    severity=Severity.HIGH,
                )
            )
        elif source.verify_ssl is False:
            findings.append(
                Finding(
                    FindingKind.INSECURE_SOURCE,
                    pipfile.path,
                    f"source {label} sets verify_ssl = false: a man in the middle can serve "
                    "any package; remove it or set it to true",
                    line=source.line,
                    source=source.name,
                )
            )
    if has_private_entries and pipfile.sources and pipfile.sources[0] is not private_source:
        first = pipfile.sources[0]
        findings.append(
            Finding(
                FindingKind.PUBLIC_FIRST,
                pipfile.path,
                f"the first source {_source_label(first)} is the default index: every package "
                "without an index, and every transitive dependency, resolves there",
                line=first.line,
                source=first.name,
            )
        )
    return findings
