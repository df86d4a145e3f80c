"""Requirements files: pip's reading of them, and the confusion and hygiene audit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import ROOT

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FindingKind, Severity
from pipfleet.engine.listing import Listing, parse_listing
from pipfleet.engine.requirements import IncludeKind, IndexRole, audit, line_ends, parse
from pipfleet.errors import PipfileError

CORPUS = ROOT.parent / "shared" / "corpus" / "requirements"
CA = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
LISTING = parse_listing("orb-common 2.0.0 2.1.0\norb-utils\n")
TOKEN = "eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0abcdef"


def kinds(text: str, listing: Listing = LISTING, **options: str) -> list[tuple[str, int | None]]:
    report = audit(parse(text), listing, AuditOptions(**options))  # type: ignore[arg-type]
    return [(finding.kind.value, finding.line) for finding in report.findings]


def test_continuations_comments_and_hashes() -> None:
    text = (
        "# header\n"
        "wheel==0.37.0 \\\n"
        "    --hash=sha256:aa \\\n"
        "    --hash sha256:bb\n"
        "    # via -r requirements/pip.in\n"
        "six  # inline comment\n"
    )
    wheel, six = parse(text).requirements
    assert (wheel.name, wheel.specifier, wheel.line) == ("wheel", "==0.37.0", 2)
    assert wheel.hashes == ("sha256:aa", "sha256:bb")
    assert (six.name, six.line, six.hashes) == ("six", 6, ())


def test_a_comment_ending_in_a_backslash_does_not_continue() -> None:
    (requirement,) = parse("# note \\\nsix\n").requirements
    assert (requirement.name, requirement.line) == ("six", 2)


def test_includes_are_recorded_in_every_spelling() -> None:
    text = "-r base.txt\n--requirement=dev.txt\n-rtest.txt\n-c constraints.txt\n--constraint https://x/c.txt\n"
    parsed = parse(text)
    assert [(i.kind, i.target, i.line) for i in parsed.includes] == [
        (IncludeKind.REQUIREMENTS, "base.txt", 1),
        (IncludeKind.REQUIREMENTS, "dev.txt", 2),
        (IncludeKind.REQUIREMENTS, "test.txt", 3),
        (IncludeKind.CONSTRAINTS, "constraints.txt", 4),
        (IncludeKind.CONSTRAINTS, "https://x/c.txt", 5),
    ]
    assert parsed.requirements == ()


def test_index_options_in_both_forms_quoted_and_after_a_requirement() -> None:
    text = (
        "-i https://a/simple\n"
        '--extra-index-url="https://b/simple"\n'
        "--extra-index-url https://c/simple\n"
        "-f https://d/links.html torch==1.13.1+cpu\n"
        "--find-links=./wheels\n"
        "--trusted-host d.example --pre\n"
        "xformers==0.0.28 --index-url https://e/simple  # per line\n"
    )
    parsed = parse(text)
    assert [(o.role, o.url, o.line) for o in parsed.indexes] == [
        (IndexRole.INDEX_URL, "https://a/simple", 1),
        (IndexRole.EXTRA_INDEX_URL, "https://b/simple", 2),
        (IndexRole.EXTRA_INDEX_URL, "https://c/simple", 3),
        (IndexRole.FIND_LINKS, "https://d/links.html", 4),
        (IndexRole.FIND_LINKS, "./wheels", 5),
        (IndexRole.INDEX_URL, "https://e/simple", 7),
    ]
    assert [(t.host, t.line) for t in parsed.trusted_hosts] == [("d.example", 6)]
    assert parsed.pre and not parsed.no_index
    assert [(r.name, r.line) for r in parsed.requirements] == [("torch", 4), ("xformers", 7)]


def test_editable_direct_urls_markers_and_variables() -> None:
    text = (
        "-e git+https://github.com/o/r.git#egg=orb-utils\n"
        "-e .\n"
        "orb-common @ https://h/orb_common-2.1.0.whl ; python_version >= '3.11'\n"
        "git+https://github.com/o/x.git#egg=x-pkg\n"
        "attrs[tests]>=22; sys_platform == 'linux'\n"
        "--extra-index-url https://${USER}:${TOKEN}@h/simple\r\n"
    )
    parsed = parse(text)
    editable, local, direct, bare, attrs = parsed.requirements
    assert (editable.name, editable.editable, editable.url) == (
        "orb-utils",
        True,
        "git+https://github.com/o/r.git#egg=orb-utils",
    )
    assert (local.name, local.editable, local.url) == (None, True, ".")
    assert (direct.name, direct.url) == ("orb-common", "https://h/orb_common-2.1.0.whl")
    assert direct.marker == 'python_version >= "3.11"'
    assert (bare.name, bare.url) == ("x-pkg", "git+https://github.com/o/x.git#egg=x-pkg")
    assert (attrs.specifier, attrs.marker) == (">=22", 'sys_platform == "linux"')
    assert parsed.indexes[0].url == "https://${USER}:${TOKEN}@h/simple"


def test_several_requirements_on_one_line_are_each_recorded() -> None:
    parsed = parse("torch==2.0.1+cu118 torchvision==0.15.2 --extra-index-url https://x/simple\n")
    assert [(r.name, r.specifier) for r in parsed.requirements] == [
        ("torch", "==2.0.1+cu118"),
        ("torchvision", "==0.15.2"),
    ]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("six\nnot a [requirement\n", "invalid requirement 'not a [requirement'", 2),
        ("--index-url\n", "pip option --index-url needs a value", 1),
        ("six\n--frobnicate x\n", "unknown pip option '--frobnicate'", 2),
        ('--extra-index-url "https://x\n', "cannot split options", 1),
        (f"-x https://aws:{TOKEN}@h/simple\n", "unknown pip option '-x'", 1),
    ],
)
def test_bad_lines_are_one_line_errors(text: str, message: str, line: int) -> None:
    with pytest.raises(PipfileError) as caught:
        parse(text)
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.message and TOKEN not in caught.value.message
    assert caught.value.line == line


def test_extra_index_to_codeartifact_with_a_private_package_is_critical() -> None:
    text = f"--extra-index-url {CA}\nrequests==2.31\norb-common==2.1.0\nOrb_Utils\n"
    report = audit(parse(text), LISTING)
    assert [(f.kind, f.package, f.line, f.severity) for f in report.findings] == [
        (FindingKind.EXTRA_INDEX_URL, "orb-common", 3, Severity.CRITICAL),
        (FindingKind.EXTRA_INDEX_URL, "Orb_Utils", 4, Severity.CRITICAL),
    ]
    finding = report.findings[0]
    assert "https://pypi.org/simple" in finding.message and "--index-url" in finding.message
    assert finding.current == "orb-common==2.1.0" and not finding.fixable
    assert not report.compliant


def test_codeartifact_as_index_url_with_another_index_beside_it_is_critical() -> None:
    text = f"-i {CA}\n--extra-index-url https://pypi.org/simple\norb-common\n"
    assert kinds(text) == [("extra-index-url", 3)]


@pytest.mark.parametrize(
    "text",
    [
        f"--index-url {CA}\norb-common==2.1.0\n",  # the safe arrangement
        f"--extra-index-url {CA}\nrequests\n",  # nothing private
        "--extra-index-url https://download.pytorch.org/whl/cpu\norb-common\n",  # no CodeArtifact
        f"--extra-index-url {CA}\norb-common @ https://h/orb_common-2.1.0.whl\n",  # direct URL
        f"--extra-index-url {CA}\n-e git+https://g/o/r.git#egg=orb-common\n",  # editable
        f"--no-index\n--extra-index-url {CA}\n-f ./wheels\norb-common\n",  # no index asked
        f"-i {CA}\n--extra-index-url {CA}\norb-common\n",  # CodeArtifact twice, nothing else
    ],
)
def test_no_confusion_finding(text: str) -> None:
    assert kinds(text) == []


def test_the_configured_source_url_counts_as_codeartifact() -> None:
    text = "--extra-index-url https://pkgs.acme.internal/simple\norb-common\n"
    assert kinds(text) == []
    assert kinds(text, source_url="https://pkgs.acme.internal/simple") == [("extra-index-url", 2)]


def test_literal_token_is_a_hardcoded_credential_and_never_repeated() -> None:
    url = f"https://aws:{TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
    report = audit(parse(f"-i {url}\n-f https://{TOKEN}@h/links\n"), Listing())
    assert [(f.kind, f.line) for f in report.findings] == [
        (FindingKind.HARDCODED_CREDENTIAL, 1),
        (FindingKind.HARDCODED_CREDENTIAL, 2),
    ]
    assert all(TOKEN not in f.message for f in report.findings)
    assert kinds(f"-i {CA}\n", Listing()) == []


def test_plain_http_and_trusted_host_are_insecure_sources() -> None:
    text = "--extra-index-url http://mirror.example/simple\n--trusted-host mirror.example\n"
    report = audit(parse(text), Listing())
    assert [(f.kind, f.line, f.severity) for f in report.findings] == [
        (FindingKind.INSECURE_SOURCE, 1, Severity.HIGH),
        (FindingKind.INSECURE_SOURCE, 2, Severity.MEDIUM),
    ]
    assert "--trusted-host mirror.example" in report.findings[1].message
    loopback = "--extra-index-url http://127.0.0.1:8080/simple\n--trusted-host localhost\n"
    assert kinds(loopback, Listing()) == []


# The shared corpus of real public requirements files.


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared requirements corpus is missing at {CORPUS}")
    folders = sorted(path for path in CORPUS.iterdir() if path.is_dir())
    return [next(folder.iterdir()) for folder in folders]


FILES = corpus_files()


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _token_count(text: str) -> int:
    """Requirements counted another way than ``parse``: per physical line, the words that
    start with a letter and are neither an option, an option's value nor a URL after '@'."""
    count = 0
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*", "", raw).split(";")[0]
        line = re.sub(r"\[[^\]]*\]", "", line).replace("\\", " ")
        previous = ""
        for word in (token.strip('"') for token in line.split()):
            if word[0].isalpha() and not previous.startswith("-") and previous != "@":
                count += not word.startswith("sha256")
            previous = word
    return count


def test_the_corpus_is_complete() -> None:
    rows = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(FILES) == len([row for row in rows if row.strip()]) == 30
    assert not any("NEGATIVE-CASE" in row for row in rows)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.parent.name[:3])
def test_every_corpus_file_parses_to_its_requirements(path: Path) -> None:
    text = _read(path)
    parsed = parse(text, path.name)
    assert len(parsed.requirements) == _token_count(text) > 0
    written = len(re.findall(r"^\s*(?:-i|--index-url|--extra-index-url)\b", text, re.M))
    assert written <= len([o for o in parsed.indexes if o.role is not IndexRole.FIND_LINKS])
    # Public files name no CodeArtifact and no credential: an empty listing finds nothing.
    assert audit(parsed, Listing()).findings == ()


def test_known_corpus_files() -> None:
    by_number = {path.parent.name[:3]: parse(_read(path), path.name) for path in FILES}
    assert [i.target for i in by_number["024"].includes] == [
        "https://raw.githubusercontent.com/edx/edx-lint/master/edx_lint/files/common_constraints.txt"
    ]
    kohya = by_number["014"]
    assert [(o.role, o.line) for o in kohya.indexes] == [
        (IndexRole.INDEX_URL, 1),
        (IndexRole.INDEX_URL, 3),
        (IndexRole.INDEX_URL, 4),
        (IndexRole.EXTRA_INDEX_URL, 4),
    ]
    assert kohya.pre
    zulip = by_number["020"]
    assert [(r.name, len(r.hashes)) for r in zulip.requirements] == [
        ("wheel", 2),
        ("pip", 2),
        ("setuptools", 2),
    ]
    # A requirement after -f is what the author meant to install: icefall's torch pins.
    icefall = {r.name: r.line for r in by_number["017"].requirements}
    assert icefall["torch"] == 11 and icefall["k2"] == 15


def test_a_private_name_in_a_real_file_with_an_extra_index_is_found() -> None:
    """CosyVoice's Azure feed is not CodeArtifact; pointed at CodeArtifact, its names leak."""
    (path,) = [p for p in FILES if p.parent.name.startswith("004")]
    text = _read(path)
    assert kinds(text, parse_listing("conformer\n")) == []
    swapped = re.sub(r"https://aiinfra\.pkgs\.visualstudio\.com\S*", CA, text)
    assert [kind for kind, _ in kinds(swapped, parse_listing("conformer\n"))] == ["extra-index-url"]


def test_an_index_url_after_codeartifact_replaces_it_and_pip_never_asks_it() -> None:
    text = f"--extra-index-url {CA}\n-i https://pypi.org/simple\norb-common\n"
    report = audit(parse(text), LISTING)
    assert [(f.kind, f.line) for f in report.findings] == [(FindingKind.MISSING_INDEX, 3)]
    assert "line 2 of requirements.txt is read after --extra-index-url on line 1" in (
        report.findings[0].message
    )
    # --no-index drops every index, CodeArtifact included: nothing is asked at all.
    assert kinds(f"--extra-index-url {CA}\n-i https://x/simple\n--no-index\norb-common\n") == []


def test_line_ends_follow_continuations() -> None:
    text = "a==1 \\\n  --hash=sha256:aa \\\n  --hash=sha256:bb\n\n# c \\\nb\nc \\\n"
    assert line_ends(text) == {1: 3, 6: 6, 7: 7}


def test_an_index_option_after_a_requirement_is_ignored_as_pip_ignores_it() -> None:
    """pip applies only --hash and the like on a requirement line (checked with pip 26)."""
    parsed = parse(f"orb-common==2.1.0 --index-url {CA}\n-f ./wheels six\n")
    assert [(o.role, o.ignored) for o in parsed.indexes] == [
        (IndexRole.INDEX_URL, True),
        (IndexRole.FIND_LINKS, False),
    ]
    report = audit(parsed, LISTING)
    assert [(f.kind, f.line) for f in report.findings] == [(FindingKind.MISSING_INDEX, 1)]
    message = report.findings[0].message
    assert "follows a requirement on its line, where pip ignores index options" in message
    assert "pip looks only on https://pypi.org/simple" in message
    # Ignored, an --index-url on a requirement line does not replace CodeArtifact either.
    text = f"--extra-index-url {CA}\nrequests --index-url https://x/simple\norb-common\n"
    assert kinds(text) == [("extra-index-url", 3)]
