"""Property tests for the requirements rewrite, over files written in many styles.

The generator knows what each line is (requirement, comment, index option, trusted host)
and works out, the way pip's handle_option_line does, which indexes pip asks; the checks
compare the rewrite with that, not with the parser or the rewrite under test:

(a) the rewrite verifies (no RewriteError) and rewriting its output changes nothing;
(b) requirement and comment lines keep every byte, in order;
(c) CodeArtifact beside PyPI alone becomes the only --index-url, else every index line
    stays, with only its CodeArtifact URL's token and http fixed;
(d) no literal token survives on a CodeArtifact URL, nor appears in a proposal, and a
    --trusted-host for CodeArtifact goes while any other stays.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, note, settings
from hypothesis import strategies as st

from pipfleet.engine.listing import parse_listing
from pipfleet.engine.requirements import IndexRole, parse
from pipfleet.engine.requirementsincludes import audit_loaded, load_tree
from pipfleet.engine.requirementsrewrite import proposals, rewrite

TOKEN = "eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0abcdef"
HOST = "acme-1.d.codeartifact.eu-west-1.amazonaws.com"
VARIABLE = "${CODEARTIFACT_AUTH_TOKEN}"
CA_URLS = [
    f"https://aws:{VARIABLE}@{HOST}/pypi/p/simple/",
    f"https://aws:{TOKEN}@{HOST}/pypi/p/simple/",
    f"http://aws:{VARIABLE}@{HOST}/pypi/p/simple/",
    f"https://{HOST}/pypi/p/simple/",
]
PYPI_URLS = ["https://pypi.org/simple", "https://pypi.org/simple/"]
PYTORCH = "https://download.pytorch.org/whl/cu121"
LISTING = parse_listing("orb-common\norb-utils\n")
REQUIREMENTS = ["orb-common==2.1.0", "orb-utils", "requests==2.31", "six", "Orb_Common>=2"]


def fixed(url: str) -> str:
    """What pipfleet makes of a CodeArtifact URL without asking."""
    url = url.replace(TOKEN, VARIABLE)
    return "https" + url[len("http") :] if url.startswith("http:") else url


@dataclass(frozen=True)
class Line:
    text: str
    role: IndexRole | None = None  # an index option's role
    url: str = ""
    trusted: str = ""  # a --trusted-host's host
    private: bool = False  # a requirement of a name in LISTING


def _requirement(text: str) -> Line:
    return Line(text, private=text.lower().startswith("orb"))


def _index_line(role: IndexRole, url: str, form: int) -> Line:
    option = "-i" if role is IndexRole.INDEX_URL else "--extra-index-url"
    long = "--index-url" if role is IndexRole.INDEX_URL else "--extra-index-url"
    written = [f"{option} {url}", f"{long}={url}", f'{long} "{url}"', f"{long}  {url}  # index"]
    return Line(written[form], role, url)


@st.composite
def files(draw: st.DrawFn) -> tuple[str, list[Line]]:
    ca = draw(st.sampled_from(CA_URLS))
    choices = st.one_of(
        st.sampled_from(REQUIREMENTS).map(_requirement),
        st.sampled_from(REQUIREMENTS).map(lambda r: _requirement(f"{r}  # pinned")),
        st.sampled_from([Line("# a comment"), Line(""), Line("   ")]),
        st.builds(
            _index_line,
            st.sampled_from(IndexRole).filter(lambda r: r is not IndexRole.FIND_LINKS),
            st.sampled_from([ca, ca, *PYPI_URLS, PYTORCH]),
            st.integers(0, 3),
        ),
        st.sampled_from([HOST, "mirror.example"]).map(
            lambda host: Line(f"--trusted-host {host}", trusted=host)
        ),
    )
    lines = draw(st.lists(choices, min_size=1, max_size=12))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(line.text for line in lines)
    return text + (newline if draw(st.booleans()) else ""), lines


def _pip_indexes(lines: list[Line]) -> list[str]:
    urls = ["https://pypi.org/simple"]
    for line in lines:
        if line.role is IndexRole.INDEX_URL:
            urls = [line.url]
        elif line.role is IndexRole.EXTRA_INDEX_URL:
            urls.append(line.url)
    return urls


def _only_index_expected(lines: list[Line]) -> bool:
    """The documented rule: a private name, CodeArtifact among the indexes pip asks beside
    another, and every other index line written (in effect or not) PyPI."""
    urls = _pip_indexes(lines)
    written = {line.url for line in lines if line.role is not None}
    return (
        any(line.private for line in lines)
        and any(HOST in url for url in urls)
        and any(HOST not in url for url in urls)
        and all(HOST in url or url in PYPI_URLS for url in written)
        and all(HOST not in url or url in urls for url in written)
    )


def _options(text: str) -> list[str]:
    return [line for line in text.splitlines(keepends=True) if line.lstrip().startswith("-")]


def _others(text: str) -> list[str]:
    return [line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("-")]


@settings(max_examples=300, deadline=None)
@given(files())
def test_rewrite_properties(example: tuple[str, list[Line]]) -> None:
    text, lines = example
    note(repr(text))
    tree = load_tree("r.txt", {"r.txt": text})
    report = audit_loaded(tree, LISTING)
    assert TOKEN not in repr(proposals(tree, report))
    new = rewrite(tree, report, LISTING).get("r.txt", text)  # (a): verified inside
    again = load_tree("r.txt", {"r.txt": new})
    assert rewrite(again, audit_loaded(again, LISTING), LISTING) == {}
    assert _others(new) == _others(text)  # (b)

    parsed = parse(new)
    indexes = [(o.role, o.url) for o in parsed.indexes]
    written = [line for line in lines if line.role is not None]
    if _only_index_expected(lines):  # (c)
        (ca,) = {line.url for line in written if HOST in line.url}
        assert indexes == [(IndexRole.INDEX_URL, fixed(ca))]
    else:
        assert indexes == [
            (line.role, fixed(line.url) if HOST in line.url else line.url) for line in written
        ]
    assert not any(TOKEN in url for _, url in indexes)  # (d)
    assert [t.host for t in parsed.trusted_hosts] == [
        line.trusted for line in lines if line.trusted and line.trusted != HOST
    ]
    assert len(_options(new)) == len(indexes) + len(parsed.trusted_hosts)
