from __future__ import annotations

import pytest

from pipfleet.engine.listing import Listing, parse_listing
from pipfleet.errors import ListingError


def test_parse_names_versions_comments_and_blank_lines() -> None:
    listing = parse_listing("# private\n\norb-common 2.0.0 2.1.0  # c\nOrb_Utils\n")
    assert "orb-common" in listing and "orb.utils" in listing and "ORB_COMMON" in listing
    assert listing.versions("orb_common") == frozenset({"2.0.0", "2.1.0"})
    assert listing.versions("orb-utils") is None
    assert "requests" not in listing and len(listing) == 2


def test_repeated_names_merge_their_versions() -> None:
    listing = parse_listing("a 1.0\nA 2.0\n")
    assert listing.versions("a") == frozenset({"1.0", "2.0"})


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("bad/name 1.0\n", "line.txt:1: 'bad/name' is not a valid package name"),
        ("ok\nok2 not-a-version\n", "line.txt:2: 'not-a-version' is not a valid version of ok2"),
    ],
)
def test_bad_lines_name_file_and_line(text: str, error: str) -> None:
    with pytest.raises(ListingError, match=error.replace(".", r"\.")):
        parse_listing(text, "line.txt")


@pytest.mark.parametrize(
    ("spec", "answer"),
    [
        ("==2.1.0", True),
        ("==2.1", True),
        ("== 2.1.0", True),
        ("==9.9", False),
        ("===2.1.0", True),
        ("==2.*", None),
        (">=2", None),
        ("*", None),
        ("==2.1,<3", None),
        ("garbage", None),
    ],
)
def test_has_version_only_judges_exact_pins(spec: str, answer: bool | None) -> None:
    assert parse_listing("orb-common 2.0.0 2.1.0\n").has_version("orb-common", spec) is answer


def test_unknown_versions_are_never_judged() -> None:
    assert Listing.of(["orb-common"]).has_version("orb-common", "==1.0") is None


def test_digest_is_stable_and_tracks_content() -> None:
    one = parse_listing("b 1.0\na\n")
    assert one.digest() == parse_listing("A\nb 1.0\n").digest()
    assert one.digest() != parse_listing("a\nb 1.1\n").digest()
