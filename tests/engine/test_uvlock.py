"""uv.lock provenance: private packages locked from another index or with files that are
not CodeArtifact's. The lock texts are in the shape uv 0.13 writes (see test_uv_e2e for
locks written by the real uv)."""

from __future__ import annotations

import pytest

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.listing import Listing, version_key
from pipfleet.engine.uvlock import (
    listing_transitive_findings,
    lock_findings,
    parse_lock,
    relock_note,
    sibling_lock,
)
from pipfleet.engine.uvproject import parse
from pipfleet.errors import PipfileError

CA_HOST = "acme-111122223333.d.codeartifact.us-east-1.amazonaws.com"
CA_URL = f"https://{CA_HOST}/pypi/internal/simple/"
PUBLIC = "https://pypi.org/simple"
WHEEL = "sha256:" + "a" * 64
SDIST = "sha256:" + "b" * 64
IMPOSTOR = "sha256:" + "c" * 64

PYPROJECT = f"""\
[project]
name = "svc"
version = "0.1.0"
dependencies = ["orb-common", "requests"]

[tool.uv.sources]
orb-common = {{ index = "codeartifact" }}

[[tool.uv.index]]
name = "codeartifact"
url = "{CA_URL}"
explicit = true
"""


def lock(registry: str, version: str = "2.1.0", hashes: tuple[str, str] = (SDIST, WHEEL)) -> str:
    sdist, wheel = hashes
    return f"""\
version = 1
revision = 5
requires-python = ">=3.11"

[[package]]
name = "orb-common"
version = "{version}"
source = {{ registry = "{registry}" }}
sdist = {{ url = "{registry}/orb-common/{version}/orb_common-{version}.tar.gz", hash = "{sdist}" }}
wheels = [
    {{ url = "{registry}/orb-common/{version}/orb_common-{version}-py3-none-any.whl", hash = "{wheel}" }},
]

[[package]]
name = "requests"
version = "2.32.3"
source = {{ registry = "{PUBLIC}" }}
wheels = [
    {{ url = "https://files.pythonhosted.org/r.whl", hash = "sha256:{"d" * 64}" }},
]

[[package]]
name = "svc"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [
    {{ name = "orb-common" }},
    {{ name = "requests" }},
]
"""


LISTING = Listing(
    packages={"orb-common": frozenset({"2.1.0"})},
    hashes={version_key("orb-common", "2.1.0"): frozenset({SDIST, WHEEL})},
)


def findings(lock_text: str, pyproject: str = PYPROJECT) -> list[tuple[FindingKind, str]]:
    project = parse(pyproject, "svc/pyproject.toml")
    found = lock_findings(project, parse_lock(lock_text), LISTING)
    return [(f.kind, f.message) for f in found]


def test_packages_are_read_with_registry_hashes_and_lines() -> None:
    packages = parse_lock(lock(CA_URL.rstrip("/")))
    assert [(p.name, p.version, p.line) for p in packages] == [
        ("orb-common", "2.1.0", 5),
        ("requests", "2.32.3", 14),
        ("svc", "0.1.0", 22),
    ]
    assert packages[0].hashes == (SDIST, WHEEL)
    assert packages[0].registry == CA_URL.rstrip("/") and packages[2].registry is None


def test_codeartifact_files_from_the_private_index_comply() -> None:
    # uv writes the index URL as given; a final slash or the host's case is no other index.
    assert findings(lock(CA_URL.rstrip("/"))) == []
    assert findings(lock(CA_URL.replace(CA_HOST, CA_HOST.upper()))) == []


def test_a_private_package_locked_from_pypi_is_wrong_index_and_foreign() -> None:
    found = findings(lock(PUBLIC, hashes=(IMPOSTOR, WHEEL)))
    assert [kind for kind, _ in found] == [FindingKind.WRONG_INDEX, FindingKind.FOREIGN_HASHES]
    assert found[0][1].startswith(f"svc/uv.lock (line 5) locks orb-common==2.1.0 from {PUBLIC}")
    assert "1 foreign hash(es), 1 matching CodeArtifact's 2 file(s)" in found[1][1]


TRANSITIVE = f"""\
[[package]]
name = "orb-common"
version = "2.1.0"
source = {{ registry = "{CA_URL}" }}
dependencies = [
    {{ name = "orb-events" }},
]

[[package]]
name = "orb-events"
version = "1.0.0"
source = {{ registry = "{PUBLIC}" }}
"""


def test_a_private_dependency_the_project_does_not_list_is_private_transitive() -> None:
    listing = Listing.of(["orb-common", "orb-events"])
    project = parse(PYPROJECT, "svc/pyproject.toml")
    (finding,) = lock_findings(project, parse_lock(TRANSITIVE), listing)
    assert (finding.kind, finding.package) == (FindingKind.PRIVATE_TRANSITIVE, "orb-events")
    assert "needed by orb-common" in finding.message
    assert "list orb-events in [project] dependencies" in finding.message
    # Listed by the project itself, the same lock entry is a wrong index.
    listed = PYPROJECT.replace('"requests"]', '"requests", "orb-events"]')
    (finding,) = lock_findings(parse(listed), parse_lock(TRANSITIVE), listing)
    assert finding.kind is FindingKind.WRONG_INDEX


def test_an_impostor_version_is_not_in_the_private_repository() -> None:
    found = findings(lock(PUBLIC, version="99.0.0"))
    assert [kind for kind, _ in found] == [
        FindingKind.WRONG_INDEX,
        FindingKind.VERSION_NOT_FOUND,
    ]
    assert "(it has: 2.1.0)" in found[1][1]


def test_the_private_index_is_known_by_its_url_without_credentials() -> None:
    mirror = "https://mirror.example/simple"
    pyproject = PYPROJECT.replace(CA_URL, "https://ci:${TOKEN}@mirror.example/simple/")
    assert findings(lock(mirror), pyproject) == []
    # Without any private index only CodeArtifact's hosts are trusted.
    bare = '[project]\nname = "svc"\nversion = "0.1.0"\ndependencies = ["orb-common"]\n'
    assert [kind for kind, _ in findings(lock(mirror), bare)] == [FindingKind.WRONG_INDEX]
    assert findings(lock(CA_URL), bare) == []


def test_a_package_the_listing_has_no_files_for_is_not_judged_by_hash() -> None:
    project = parse(PYPROJECT)
    unknown = Listing.of(["orb-common"])
    assert (
        lock_findings(project, parse_lock(lock(CA_URL, hashes=(IMPOSTOR, IMPOSTOR))), unknown) == []
    )
    named = AuditOptions(index_name="codeartifact")
    assert lock_findings(project, parse_lock(lock(CA_URL)), LISTING, named) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version = 1\npackage = 3\n", "package must be an array of tables"),
        ('[[package]]\nversion = "1"\n', "each [[package]] needs a name"),
        ("[[package]\n", "Expected"),
    ],
)
def test_a_bad_lock_is_a_one_line_error(text: str, message: str) -> None:
    with pytest.raises(PipfileError, match=message.replace("[", r"\[")) as error:
        parse_lock(text)
    assert "\n" not in str(error.value)


def test_odd_shapes_are_read_as_nothing_rather_than_failing() -> None:
    text = (
        '[[package]]\nname = "orb-common"\nversion = 2\nsource = "x"\nwheels = 5\n'
        "sdist = { hash = 7 }\n"
    )
    (package,) = parse_lock(text)
    assert (package.version, package.registry, package.hashes) == (None, None, ())


def test_the_relock_note_names_the_lock_and_the_packages() -> None:
    assert sibling_lock("svc/pyproject.toml") == "svc/uv.lock"
    assert sibling_lock("pyproject.toml") == "uv.lock"
    note = relock_note("svc/uv.lock", ["orb-utils", "orb-common"])
    assert note.startswith("svc/uv.lock still locks orb-common, orb-utils from")
    assert "run `uv lock`" in note


CHAIN = Listing(
    packages={
        "orb-api": frozenset({"1.0.0", "2.0.0"}),
        "orb-events": frozenset({"1.0.0"}),
        "orb-core": frozenset({"3.0.0"}),
    },
    dependencies={
        version_key("orb-api", "1.0.0"): (),
        version_key("orb-api", "2.0.0"): ("orb-events>=1", "requests"),
        version_key("orb-events", "1.0.0"): ("orb-core",),
        version_key("orb-core", "3.0.0"): ("orb-api",),  # a cycle ends
    },
)


def api_project(spec: str = "", explicit: str = "true", extra: str = "") -> str:
    return f"""\
[project]
name = "svc"
dependencies = ["orb-api{spec}"{extra}]

[tool.uv.sources]
orb-api = {{ index = "codeartifact" }}

[[tool.uv.index]]
name = "codeartifact"
url = "{CA_URL}"
explicit = {explicit}
"""


def test_without_a_lock_private_dependencies_come_from_the_listing() -> None:
    found = listing_transitive_findings(parse(api_project()), CHAIN)
    assert [(f.kind, f.package, f.expected) for f in found] == [
        (FindingKind.PRIVATE_TRANSITIVE, "orb-events", '{ index = "codeartifact" }'),
        (FindingKind.PRIVATE_TRANSITIVE, "orb-core", '{ index = "codeartifact" }'),
    ]
    assert found[0].message.startswith("orb-events (private) is needed by orb-api but not")
    assert "needed by orb-events" in found[1].message
    # The version the requirement allows decides: orb-api 1.0.0 needs nothing.
    assert listing_transitive_findings(parse(api_project("<2")), CHAIN) == []
    # Listed by the project, a dependency is its own requirement, audited as such.
    listed = api_project(extra=', "orb-events", "orb-core"')
    assert listing_transitive_findings(parse(listed), CHAIN) == []


def test_codeartifact_asked_first_serves_private_dependencies_itself() -> None:
    assert listing_transitive_findings(parse(api_project(explicit="false")), CHAIN) == []
    unsafe = api_project(explicit="false") + '\n[tool.uv]\nindex-strategy = "unsafe-best-match"\n'
    assert len(listing_transitive_findings(parse(unsafe), CHAIN)) == 2


def test_headers_written_otherwise_give_no_lines_rather_than_wrong_ones() -> None:
    text = '[[package]]\nname = "a"\n\n[[ package ]]\nname = "b"\n'
    assert [(p.name, p.line) for p in parse_lock(text)] == [("a", None), ("b", None)]
    crlf = '[[package]]\r\nname = "a"\r\n\r\n[[package]]\r\nname = "b"\r\n'
    assert [p.line for p in parse_lock(crlf)] == [1, 4]
