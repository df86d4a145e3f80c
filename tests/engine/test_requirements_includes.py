"""Requirements files followed through their -r/-c includes, as one pip install reads them."""

from __future__ import annotations

import pytest
from tests.engine.test_requirements import CORPUS

from pipfleet.engine.findings import FindingKind, Severity
from pipfleet.engine.listing import parse_listing
from pipfleet.engine.requirements import IndexRole
from pipfleet.engine.requirementsincludes import (
    MAX_READS,
    audit_tree,
    include_path,
    load_tree,
    missing_includes,
    wanted_includes,
)

CA = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
LISTING = parse_listing("orb-common\norb-utils\n")


def found(report: object) -> list[tuple[str, str, int | None]]:
    return [(f.kind.value, f.file, f.line) for f in report.findings]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("including", "target", "path"),
    [
        ("requirements.txt", "base.txt", "base.txt"),
        ("requirements/dev.txt", "base.txt", "requirements/base.txt"),
        ("requirements/dev.txt", "./base.txt", "requirements/base.txt"),
        ("requirements/dev.txt", "../constraints.txt", "constraints.txt"),
        ("a/b/c.txt", "../../d/e.txt", "d/e.txt"),
        ("requirements.txt", "../outside.txt", None),
        ("requirements.txt", "/etc/requirements.txt", None),
        ("requirements.txt", "https://example.com/c.txt", None),
        ("requirements.txt", "file:///tmp/c.txt", None),
        ("requirements.txt", "HTTP://example.com/c.txt", None),
    ],
)
def test_include_paths_are_relative_to_the_including_file(
    including: str, target: str, path: str | None
) -> None:
    assert include_path(including, target) == path


def test_wanted_includes_in_order_once_and_nothing_from_a_broken_file() -> None:
    text = "-r base.txt\n-c ../c.txt\n-r https://x/y.txt\n--requirement=base.txt\n-rtest.txt\n"
    assert wanted_includes("req/dev.txt", text) == ["req/base.txt", "c.txt", "req/test.txt"]
    assert wanted_includes("r.txt", "-r base.txt\n--frobnicate\n") == []


def test_missing_includes_lists_what_the_scan_fetches_next_round_by_round() -> None:
    files: dict[str, str | None] = {"requirements/dev.txt": "-r base.txt\n-c ../c.txt\n"}
    assert missing_includes("requirements/dev.txt", files) == ["requirements/base.txt", "c.txt"]
    files |= {"requirements/base.txt": "-r common.txt\nsix\n", "c.txt": None}
    assert missing_includes("requirements/dev.txt", files) == ["requirements/common.txt"]
    files["requirements/common.txt"] = "-r dev.txt\n"  # a cycle asks for nothing new
    assert missing_includes("requirements/dev.txt", files) == []
    assert missing_includes("absent.txt", {}) == ["absent.txt"]


def test_an_extra_index_in_an_included_file_applies_to_the_root() -> None:
    files = {
        "requirements.txt": "-r requirements/base.txt\norb-common==2.1.0\n",
        "requirements/base.txt": f"--extra-index-url {CA}\nrequests\n",
    }
    report = audit_tree("requirements.txt", files, LISTING)
    assert found(report) == [("extra-index-url", "requirements.txt", 2)]
    assert report.path == "requirements.txt" and not report.compliant
    # Audited alone, the root asks PyPI only, and the included file lists nothing private.
    assert audit_tree("requirements/base.txt", files, LISTING).findings == ()


def test_a_private_name_in_an_included_constraints_file_counts() -> None:
    files = {"r.txt": f"--extra-index-url {CA}\n-c c.txt\nrequests\n", "c.txt": "orb-utils==1\n"}
    assert found(audit_tree("r.txt", files, LISTING)) == [("extra-index-url", "c.txt", 1)]


def test_an_index_url_read_later_replaces_the_extra_index_before_it() -> None:
    # pip reads base.txt where the -r stands: its --index-url drops CodeArtifact.
    files = {
        "r.txt": f"--extra-index-url {CA}\n-r base.txt\norb-common\n",
        "base.txt": "-i https://pypi.org/simple\n",
    }
    report = audit_tree("r.txt", files, LISTING)
    assert found(report) == [("missing-index", "r.txt", 3)]
    assert "line 1 of base.txt" in report.findings[0].message
    # Read before it, the same --index-url leaves CodeArtifact as an extra index.
    files["r.txt"] = f"-r base.txt\n--extra-index-url {CA}\norb-common\n"
    assert found(audit_tree("r.txt", files, LISTING)) == [("extra-index-url", "r.txt", 3)]
    files["r.txt"] = f"-r base.txt\n--index-url {CA}\norb-common\n"
    assert audit_tree("r.txt", files, LISTING).findings == ()


def test_tree_order_and_every_file_read_once() -> None:
    files = {
        "r.txt": "-r a.txt\n-r b.txt\n--extra-index-url https://x/simple\n",
        "a.txt": "-r d.txt\n-i https://a/simple\n",
        "b.txt": "-r d.txt\n",
        "d.txt": "--extra-index-url https://d/simple\nsix\n",
    }
    tree = load_tree("r.txt", files)
    assert [f.path for f in tree.files] == ["r.txt", "a.txt", "d.txt", "b.txt"]
    # d.txt is reached twice (a diamond, not a cycle): pip reads it, and its option, twice.
    assert [(p.file, p.option.role, p.option.line) for p in tree.indexes] == [
        ("d.txt", IndexRole.EXTRA_INDEX_URL, 1),
        ("a.txt", IndexRole.INDEX_URL, 2),
        ("d.txt", IndexRole.EXTRA_INDEX_URL, 1),
        ("r.txt", IndexRole.EXTRA_INDEX_URL, 3),
    ]
    assert tree.problems == ()


def test_cycles_missing_and_broken_includes_are_findings_not_exceptions() -> None:
    files: dict[str, str | None] = {
        "r.txt": "-r a.txt\n-r gone.txt\n-r nowhere.txt\n-r bad.txt\n-r self.txt\n",
        "a.txt": "-r b.txt\n",
        "b.txt": "-r ./a.txt\n",
        "gone.txt": None,
        "bad.txt": "six\n--frobnicate\n",
        "self.txt": "-r self.txt\n",
    }
    report = audit_tree("r.txt", files, LISTING)
    assert found(report) == [
        ("parse-error", "r.txt", 2),
        ("parse-error", "r.txt", 3),
        ("parse-error", "b.txt", 1),
        ("parse-error", "self.txt", 1),
        ("parse-error", "bad.txt", 2),  # never read: after the files that were
    ]
    gone, nowhere, cycle, itself, bad = report.findings
    assert "includes a.txt, which leads back here" in cycle.message
    assert "gone.txt is not in the repository" in gone.message
    assert "nowhere.txt is not in the repository" in nowhere.message
    assert "unknown pip option '--frobnicate' (in bad.txt, included by r.txt)" == bad.message
    assert "includes self.txt" in itself.message
    assert report.parse_error is not None and not report.compliant


def test_a_root_that_does_not_parse_is_one_parse_error() -> None:
    report = audit_tree("r.txt", {"r.txt": "--index-url\n"}, LISTING)
    assert found(report) == [("parse-error", "r.txt", 1)]
    assert found(audit_tree("r.txt", {}, LISTING)) == [("parse-error", "r.txt", None)]


def test_a_url_or_outside_include_is_an_info_note() -> None:
    token = "eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0abcdef"
    files = {"r.txt": f"-c https://u:{token}@x/c.txt\n-r ../../up.txt\nsix\n"}
    report = audit_tree("r.txt", files, LISTING)
    assert [(f.kind, f.severity, f.line) for f in report.findings] == [
        (FindingKind.NON_REGISTRY, Severity.INFO, 1),
        (FindingKind.NON_REGISTRY, Severity.INFO, 2),
    ]
    assert report.compliant and report.parse_error is None
    assert token not in report.findings[0].message


def test_hygiene_of_every_file_read_names_its_file() -> None:
    files = {"r.txt": "-r sub/a.txt\n", "sub/a.txt": "--trusted-host mirror.example\n"}
    assert found(audit_tree("r.txt", files, LISTING)) == [("insecure-source", "sub/a.txt", 1)]


def test_a_diamond_doubling_at_every_level_is_bounded() -> None:
    files = {f"f{n}.txt": f"-r f{n + 1}.txt\n-r f{n + 1}.txt\n" for n in range(30)}
    files["f30.txt"] = "six\n"
    report = audit_tree("f0.txt", files, LISTING)
    assert [f.kind for f in report.findings] == [FindingKind.PARSE_ERROR]
    assert f"more than {MAX_READS} includes" in report.findings[0].message


# The shared corpus: real files at their repository paths, their includes not fetched.

WANTED = {
    "001": ["requirements/requirements-convert_legacy_llama.txt"],
    "002": ["requirements/common.txt"],
    "003": ["requirements/common.txt"],
    "005": ["constraints.txt"],
    "006": ["requirements/torch_common.txt"],
    "007": ["requirements/torch_common.txt"],
    "012": ["homeassistant/package_constraints.txt"],
    "013": ["requirements.txt"],
    "014": ["requirements.txt"],
    "028": ["requirements.txt"],
}


def _corpus() -> list[tuple[str, str, str]]:
    """(number, repository path, text) of every corpus file, from MANIFEST.tsv."""
    rows = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    found = []
    for row in filter(None, rows):
        folder, _, path, *_ = row.split("\t")
        text = (CORPUS / folder / path.rsplit("/", 1)[-1]).read_bytes().decode("utf-8")
        found.append((folder[:3], path, text))
    return found


@pytest.mark.parametrize(("number", "path", "text"), _corpus(), ids=lambda v: str(v)[:3])
def test_corpus_files_want_their_includes_at_their_repository_paths(
    number: str, path: str, text: str
) -> None:
    wanted = WANTED.get(number, [])
    assert wanted_includes(path, text) == wanted
    files: dict[str, str | None] = {path: text}
    assert missing_includes(path, files) == wanted
    # Fetched and absent, each include is one parse-error on its line, naming the path.
    report = audit_tree(path, files | dict.fromkeys(wanted), LISTING)
    errors = [f for f in report.findings if f.kind is FindingKind.PARSE_ERROR]
    assert [(f.file, f.message.split(": ", 1)[1]) for f in errors] == [
        (path, f"{p} is not in the repository; pip fails to open it") for p in wanted
    ]
