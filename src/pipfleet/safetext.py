"""Text from repositories made safe to show a person. Pure.

A Pipfile's author chooses package names, comments, paths and source URLs. Shown
raw, an ESC sequence in a name rewrites the reader's terminal, a bidi override in
a comment makes a diff read differently from what it changes, and a literal token
in a source URL is handed to whoever sees the output. These functions are applied
where such text is shown, never to what is written back to a repository.
"""

from __future__ import annotations

import re

from pipfleet.engine.hygiene import has_literal_credential

# C1 controls, DEL, and the bidi controls that reorder how text is displayed
# (embeddings, overrides, isolates and the implicit marks).
_C1_AND_BIDI = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_CHARACTER = re.compile(f"[\x00-\x1f{_C1_AND_BIDI}]")
# Where line breaks are structure (a diff), LF and CRLF stay; a lone CR, which
# returns to the line's start to overwrite what was shown, does not.
_UNSAFE_BETWEEN_LINES = re.compile(f"\r(?!\n)|[\x00-\x09\x0b\x0c\x0e-\x1f{_C1_AND_BIDI}]")
_UNSAFE_IN_LINES = re.compile(f"[\x00-\x09\x0b-\x1f{_C1_AND_BIDI}]")
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
MASK = "****"
# scheme://authority, the authority ending where urlsplit ends a netloc.
_URL_AUTHORITY = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<authority>[^/?#\s\"'<>`]*)"
)


def _escaped(match: re.Match[str]) -> str:
    character = match.group()
    if short := _SHORT_ESCAPES.get(character):
        return short
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control and bidi character shown as an escape (``\\x1b``, ``\\u202e``).

    ``multiline`` keeps line breaks (LF, CRLF) for text whose lines are its structure.
    """
    pattern = _UNSAFE_BETWEEN_LINES if multiline else _UNSAFE_CHARACTER
    return pattern.sub(_escaped, text)


def without_controls(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control and bidi character removed; ``multiline`` keeps LF."""
    return (_UNSAFE_IN_LINES if multiline else _UNSAFE_CHARACTER).sub("", text)


def _masked_authority(match: re.Match[str]) -> str:
    scheme, authority = match.group("scheme"), match.group("authority")
    userinfo, at, host = authority.rpartition("@")
    # The engine's own test of what a credential is, so what it reports is what is hidden.
    if not at or not has_literal_credential(scheme + authority):
        return match.group()
    user, colon, password = userinfo.partition(":")
    if password:
        return f"{scheme}{user}:{MASK}@{host}"
    return f"{scheme}{MASK}{colon}@{host}"


def mask_credentials(text: str) -> str:
    """``text`` with the literal secret of every URL in it replaced by ``****``.

    ``https://aws:SECRET@host`` becomes ``https://aws:****@host``, a token alone in
    the user part is masked likewise; environment references such as
    ``${CODEARTIFACT_AUTH_TOKEN}`` are not secrets and stay.
    """
    return _URL_AUTHORITY.sub(_masked_authority, text)
