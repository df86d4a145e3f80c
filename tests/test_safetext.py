"""What repository text looks like once made safe to show."""

from __future__ import annotations

import pytest

from pipfleet.engine.hygiene import has_literal_credential
from pipfleet.safetext import mask_credentials, printable, without_controls

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_printable_shows_every_control_and_bidi_character_as_an_escape() -> None:
    hostile = "orb\x1b[2J\x00\x07\x7f\x9b" + BIDI + "\t\n\r!"
    shown = printable(hostile)
    assert shown == (
        "orb\\x1b[2J\\x00\\x07\\x7f\\x9b"
        "\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069"
        "\\t\\n\\r!"
    )
    assert shown.isprintable()


def test_printable_keeps_line_breaks_only_where_they_are_structure() -> None:
    diff = "-a = 1  # \u202eevil\r\n+a = 2\n overwrite\rme\n"
    assert printable(diff, multiline=True) == "-a = 1  # \\u202eevil\r\n+a = 2\n overwrite\\rme\n"


def test_printable_leaves_ordinary_text_alone() -> None:
    text = "orb-común [packages] ==2.1.0 → 日本 \\x1b"
    assert printable(text) == printable(text, multiline=True) == text


def test_without_controls_removes_them() -> None:
    assert without_controls("\t=cmd\x1b[0m\u202e\r\n") == "=cmd[0m"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://aws:SECRET@host/simple/", "https://aws:****@host/simple/"),
        (
            'url = "https://aws:eyJ2ZXIiOjEsImlzdSI6MTcx@a-1.d.codeartifact.x/pypi/r/simple/"',
            'url = "https://aws:****@a-1.d.codeartifact.x/pypi/r/simple/"',
        ),
        ("https://ghp_0123456789abcdefghijABCDEF@host/", "https://****@host/"),
        (
            "git+https://x:tok@github.com/a/b.git#egg=b",
            "git+https://x:****@github.com/a/b.git#egg=b",
        ),
        ("see http://a:b@c and https://d:e@f/", "see http://a:****@c and https://d:****@f/"),
    ],
)
def test_mask_credentials_hides_literal_secrets(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "https://aws:${CODEARTIFACT_AUTH_TOKEN}@a-1.d.codeartifact.x/pypi/r/simple/",
        "https://aws:$TOKEN@host/",
        "https://${TOKEN}@host/",
        "https://user@host/",  # a plain user name is no secret
        "https://pypi.org/simple",
        "mail me@example.com, https://host/path@v1",
    ],
)
def test_mask_credentials_keeps_what_is_no_secret(text: str) -> None:
    assert mask_credentials(text) == text


@pytest.mark.parametrize(
    "url",
    [
        "https://aws:SECRET@host/",
        "https://aws:${TOKEN}@host/",
        "https://ghp_0123456789abcdefghijABCDEF@host/",
        "https://user@host/",
    ],
)
def test_masked_exactly_when_the_audit_reports_a_credential(url: str) -> None:
    assert (mask_credentials(url) != url) == has_literal_credential(url)
    assert not has_literal_credential(mask_credentials(url).replace("****", "${TOKEN}"))
