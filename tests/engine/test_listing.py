from __future__ import annotations

import hashlib

import pytest

from pipfleet.engine.listing import Listing, listing_text, parse_listing
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


H1, H2, H3 = ("sha256:" + c * 64 for c in "abc")


def test_versions_carry_hashes_and_private_dependencies() -> None:
    listing = parse_listing(
        f"orb-http 2.5.1 {H1} {H2.upper().replace('SHA256', 'sha256')} 2.6.0 {H3}\n"
        "orb-api 1.3.0 1.4 -> orb-common>=2.0,<3, orb-events[a,b]  # comment\n"
        "orb-events 1.0 ->\n"
        "orb-api 1.3.0 -> orb-extra\n"
    )
    assert listing.versions("orb-http") == frozenset({"2.5.1", "2.6.0"})
    assert listing.hashes_of("orb-http", "2.5.1") == frozenset({H1, H2})
    assert listing.hashes_of("Orb_Http", "2.6") == frozenset({H3})
    assert listing.hashes_of("orb-api", "1.3.0") is None
    assert listing.dependencies_of("orb-api", "1.3.0") == (
        "orb-common<3,>=2.0",
        "orb-events[a,b]",
        "orb-extra",
    )
    assert listing.dependencies_of("orb-api", "1.4.0") == ("orb-common<3,>=2.0", "orb-events[a,b]")
    assert listing.dependencies_of("orb-events", "1.0") == ()
    assert listing.dependencies_of("orb-http", "2.5.1") is None


def test_old_listings_parse_and_digest_exactly_as_before() -> None:
    text = "# private\norb-common 2.0.0 2.1.0\norb-utils\n"
    listing = parse_listing(text)
    assert listing == Listing({"orb-common": frozenset({"2.0.0", "2.1.0"}), "orb-utils": None})
    assert not listing.dependencies and not listing.hashes
    old = "orb-common 2.0.0 2.1.0\norb-utils"  # the digest's input before hashes and deps
    assert listing.digest() == hashlib.sha256(old.encode()).hexdigest()


def test_digest_tracks_dependencies_and_hashes() -> None:
    base = parse_listing("a 1.0\nb 1.0\n").digest()
    with_dep = parse_listing("a 1.0 -> b\nb 1.0\n").digest()
    other_dep = parse_listing("a 1.0 -> b>=1\nb 1.0\n").digest()
    with_hash = parse_listing(f"a 1.0 {H1}\nb 1.0\n").digest()
    other_hash = parse_listing(f"a 1.0 {H2}\nb 1.0\n").digest()
    assert len({base, with_dep, other_dep, with_hash, other_hash}) == 5
    assert with_dep == parse_listing("b 1.0\na 1.0 -> b\n").digest()


def test_newest_version_satisfying_a_spec() -> None:
    listing = parse_listing("a 1.0 1.5 2.0 2.1rc1\nb 3.0rc1\nc\n")
    assert listing.newest("a", "*") == "2.0"
    assert listing.newest("a", "<2") == "1.5"
    assert listing.newest("a", "==1.0.0") == "1.0"
    assert listing.newest("a", ">=3") is None
    assert listing.newest("b", "") == "3.0rc1"  # only a pre-release: it counts
    assert listing.newest("c", "*") is None
    assert listing.newest("a", "garbage") is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (f"a {H1}\n", "line.txt:1: hash sha256:aaaaaaaa... follows no version of a"),
        ("a 1.0 sha256:abc\n", "line.txt:1: 'sha256:abc' is not sha256:<64 hex digits>"),
        ("a -> b\n", "line.txt:1: '->' needs a version of a before it"),
        ("-> b\n", "line.txt:1: '->' needs a package and a version"),
        ("a 1.0 -> b c\n", "line.txt:1: 'b c' is not a valid requirement"),
    ],
)
def test_bad_extended_lines_name_file_and_line(text: str, error: str) -> None:
    with pytest.raises(ListingError) as raised:
        parse_listing(text, "line.txt")
    assert str(raised.value) == error


def test_listing_text_reads_back_as_the_same_listing() -> None:
    files = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    text = (
        f"orb-http 2.5.1 {files[1]} {files[0]} 2.10.0\n"
        "orb-api 1.4.0 -> orb-common>=2.0, orb-events\norb-api 1.3.0 ->\n"
        "orb-utils\norb-common 2.0.0\n"
    )
    listing = parse_listing(text)
    written = listing_text(listing, header="from CodeArtifact\nsecond line")
    assert parse_listing(written) == listing and parse_listing(written).digest() == listing.digest()
    assert written.splitlines() == [
        "# from CodeArtifact",
        "# second line",
        "orb-api 1.3.0 ->",
        "orb-api 1.4.0 -> orb-common>=2.0, orb-events",
        "orb-common 2.0.0",
        f"orb-http 2.5.1 {files[0]} {files[1]}",  # versions in PEP 440 order, not text order
        "orb-http 2.10.0",
        "orb-utils",
    ]


def test_listing_text_keeps_a_name_whose_versions_it_cannot_write() -> None:
    listing = Listing({"orb-odd": frozenset({"not a version"}), "orb-none": frozenset()})
    assert listing_text(listing) == "orb-none\norb-odd\n"
    assert parse_listing(listing_text(listing)) == Listing.of(["orb-none", "orb-odd"])
