"""build_fix for the provenance findings: a private dependency the Pipfile must list, and a
lock whose hashes for a private package are not CodeArtifact's.

The lock's ``_meta.hash`` is checked against the real implementations, as in
test_lockfile: plette's ``Pipfile.get_hash`` (LEGACY) and this pipenv's
``calculate_hash`` (CANONICAL).
"""

from __future__ import annotations

import io
import json
import tomllib
import types
from pathlib import Path
from typing import Any

import plette
import pytest
from pipenv.utils.pipfile import Pipfile as PipenvPipfile

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.fixset import RepoFix, build_fix
from pipfleet.engine.listing import parse_listing
from pipfleet.engine.lockfile import HashScheme, detect_scheme, dump_lock, pipfile_hash
from pipfleet.engine.prbody import BodySettings, render

CA_URL = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
PYPI_SOURCE = {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}
CA_SOURCE = {"name": "codeartifact", "url": CA_URL, "verify_ssl": True}
SOURCES = (
    '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
    f'[[source]]\nname = "codeartifact"\nurl = "{CA_URL}"\nverify_ssl = true\n\n'
)
CA_API, CA_COMMON1, CA_COMMON2, CA_HTTP, EVIL, PUBLIC = ("sha256:" + c * 64 for c in "123456")
LISTING = parse_listing(
    f"""
    orb-api 1.3.0 {CA_API} -> orb-common>=2.0
    orb-common 2.1.0 {CA_COMMON2} {CA_COMMON1}
    orb-http 2.5.1 {CA_HTTP} 2.6.0
    orb-gone 1.0.0
    """
)
PIPFILE = (
    SOURCES
    + "[packages]\n"
    + 'orb-api = {version = "==1.3.0", index = "codeartifact"}\n'
    + 'requests = "*"\n'
    + "\n[dev-packages]\n"
    + 'pytest = "*"\n'
)
OPTIONS = AuditOptions()
BODY = BodySettings(
    index_name="codeartifact",
    domain="acme",
    domain_owner="1",
    region="eu-west-1",
    opt_out_topic="pipfleet-ignore",
    opt_out_file=".pipfleet.toml",
)


def entry(version: str, *hashes: str, index: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"hashes": sorted(hashes), "version": f"=={version}"}
    if index:
        value["index"] = index
    return value


def make_lock(
    pipfile: str,
    default: dict[str, Any],
    develop: dict[str, Any] | None = None,
    scheme: HashScheme = HashScheme.CANONICAL,
) -> str:
    data = tomllib.loads(pipfile)
    meta = {
        "hash": {"sha256": pipfile_hash(data, scheme)},
        "pipfile-spec": 6,
        "requires": {},
        "sources": [PYPI_SOURCE, CA_SOURCE],
    }
    return dump_lock({"_meta": meta, "default": default, "develop": develop or {}})


def plette_hash(text: str) -> str:
    return str(plette.Pipfile.load(io.StringIO(text)).get_hash().value)


def pipenv_hash(text: str, tmp_path: Path) -> str:
    path = tmp_path / "Pipfile"
    path.write_text(text)
    project_pipfile = types.SimpleNamespace(exists=True, location=str(path))
    return str(PipenvPipfile.calculate_hash(project_pipfile))  # type: ignore[arg-type]


def fixed(fix: RepoFix, path: str) -> str:
    return next(change.new_text for change in fix.changes if change.path == path)


def second_run(fix: RepoFix, pipfile: str, lock: str) -> RepoFix:
    texts = {change.path: change.new_text for change in fix.changes}
    return build_fix(
        {"Pipfile": texts.get("Pipfile", pipfile)},
        {"Pipfile.lock": texts.get("Pipfile.lock", lock)},
        LISTING,
        OPTIONS,
    )


def transitive_lock(scheme: HashScheme, common: dict[str, Any]) -> str:
    default = {
        "orb-api": entry("1.3.0", CA_API, index="codeartifact"),
        "orb-common": common,
        "requests": entry("2.32.3", PUBLIC, index="pypi"),
    }
    return make_lock(PIPFILE, default, {"pytest": entry("8.0.0", PUBLIC, index="pypi")}, scheme)


@pytest.mark.parametrize("scheme", list(HashScheme))
def test_a_locked_private_dependency_is_added_and_the_lock_follows(
    scheme: HashScheme, tmp_path: Path
) -> None:
    lock = transitive_lock(scheme, entry("2.1.0", EVIL))
    fix = build_fix({"Pipfile": PIPFILE}, {"Pipfile.lock": lock}, LISTING, OPTIONS)

    pipfile = fixed(fix, "Pipfile")
    assert pipfile == PIPFILE.replace(
        'requests = "*"\n', 'orb-common = {version = "*", index = "codeartifact"}\nrequests = "*"\n'
    )  # [packages] is sorted: the new key goes where it sorts
    data = tomllib.loads(pipfile)
    assert data["packages"]["orb-common"] == {"version": "*", "index": "codeartifact"}
    assert [(e.category, e.package, e.before) for e in fix.entries] == [
        ("packages", "orb-common", "")
    ]

    new_lock = json.loads(fixed(fix, "Pipfile.lock"))
    common = new_lock["default"]["orb-common"]
    # The locked version stays; the hashes become all of CodeArtifact's, sorted.
    assert common == {
        "hashes": [CA_COMMON1, CA_COMMON2],
        "index": "codeartifact",
        "version": "==2.1.0",
    }
    assert new_lock["default"]["orb-api"] == entry("1.3.0", CA_API, index="codeartifact")
    assert new_lock["default"]["requests"]["hashes"] == [PUBLIC]
    assert detect_scheme(fixed(fix, "Pipfile.lock"), data) is HashScheme.CANONICAL
    # Canonical names only: both schemes give the same hash, and both references agree.
    stored = new_lock["_meta"]["hash"]["sha256"]
    assert stored == pipfile_hash(data, HashScheme.LEGACY) == plette_hash(pipfile)
    assert stored == pipfile_hash(data, HashScheme.CANONICAL) == pipenv_hash(pipfile, tmp_path)

    (rehashed,) = fix.rehashed
    assert (rehashed.path, rehashed.section, rehashed.package, rehashed.version) == (
        "Pipfile.lock",
        "default",
        "orb-common",
        "2.1.0",
    )
    assert (rehashed.before, rehashed.foreign, rehashed.after) == (1, 1, 2)
    assert fix.foreign_hashes_fixed and not fix.relock and not fix.unfixable
    body = render(fix, "t", BODY).body
    assert "| `Pipfile` | `packages` | `orb-common` | *not listed* |" in body
    assert "Entries shown as *not listed*" in body and body.startswith("## Security")

    assert second_run(fix, PIPFILE, lock).empty


def test_a_dependency_the_lock_already_has_from_codeartifact_only_gains_the_index() -> None:
    lock = transitive_lock(HashScheme.CANONICAL, entry("2.1.0", CA_COMMON1, CA_COMMON2))
    fix = build_fix({"Pipfile": PIPFILE}, {"Pipfile.lock": lock}, LISTING, OPTIONS)
    new_lock = json.loads(fixed(fix, "Pipfile.lock"))
    assert new_lock["default"]["orb-common"] == entry(
        "2.1.0", CA_COMMON1, CA_COMMON2, index="codeartifact"
    )
    assert not fix.rehashed and not fix.foreign_hashes_fixed
    assert "## Security" not in render(fix, "t", BODY).body
    assert second_run(fix, PIPFILE, lock).empty


def test_a_dev_dependency_goes_to_dev_packages_at_the_end_of_an_unsorted_section() -> None:
    pipfile = PIPFILE.replace(
        "[dev-packages]\n",
        '[dev-packages]\nzest = "*"\norb-api-testkit = {version = "==1.3.0", index = "codeartifact"}\n',
    ).replace("orb-api = {", "orb-other = {")
    listing = parse_listing(
        f"orb-api-testkit 1.3.0 {CA_API} -> orb-common\norb-common 2.1.0 {CA_COMMON1}\n"
        "orb-other 1.3.0\n"
    )
    lock = make_lock(
        pipfile,
        {"orb-other": entry("1.3.0", CA_API, index="codeartifact")},
        {
            "orb-api-testkit": entry("1.3.0", CA_API, index="codeartifact"),
            "orb-common": entry("2.1.0", CA_COMMON1),
        },
    )
    fix = build_fix({"Pipfile": pipfile}, {"Pipfile.lock": lock}, listing, OPTIONS)
    new = fixed(fix, "Pipfile")
    assert new == pipfile.replace(
        'pytest = "*"\n', 'pytest = "*"\norb-common = {version = "*", index = "codeartifact"}\n'
    )
    assert json.loads(fixed(fix, "Pipfile.lock"))["develop"]["orb-common"]["index"] == (
        "codeartifact"
    )
    again = build_fix(
        {"Pipfile": new}, {"Pipfile.lock": fixed(fix, "Pipfile.lock")}, listing, OPTIONS
    )
    assert again.empty


def test_foreign_hashes_on_a_right_pipfile_are_replaced_and_the_body_warns(
    tmp_path: Path,
) -> None:
    pipfile = PIPFILE.replace(
        'requests = "*"\n',
        'orb-http = {version = "==2.5.1", index = "codeartifact"}\nrequests = "*"\n',
    ).replace("orb-api = {", 'orb-common = {version = "*", index = "codeartifact"}\norb-api = {')
    lock = make_lock(
        pipfile,
        {
            "orb-api": entry("1.3.0", CA_API, index="codeartifact"),
            "orb-common": entry("2.1.0", CA_COMMON1, index="codeartifact"),  # a subset: fine
            "orb-http": entry("2.5.1", EVIL, CA_HTTP, index="codeartifact"),
        },
        scheme=HashScheme.LEGACY,
    )
    fix = build_fix({"Pipfile": pipfile}, {"Pipfile.lock": lock}, LISTING, OPTIONS)
    assert [change.path for change in fix.changes] == ["Pipfile.lock"]  # the Pipfile is right
    new_lock = json.loads(fixed(fix, "Pipfile.lock"))
    assert new_lock["default"]["orb-http"]["hashes"] == [CA_HTTP]
    assert new_lock["default"]["orb-common"]["hashes"] == [CA_COMMON1]
    assert (
        new_lock["_meta"]["hash"]["sha256"]
        == plette_hash(pipfile)
        == pipenv_hash(pipfile, tmp_path)
    )
    assert not fix.entries and fix.foreign_hashes_fixed

    body = render(fix, "t", BODY).body
    assert body.startswith("## Security\n")
    assert "git log -p Pipfile.lock" in body and "`orb-http==2.5.1`" in body
    assert body.index("## Security") < body.index("## Why")
    row = "| `Pipfile.lock` | `default` | `orb-http` | `==2.5.1`: 2 hash(es), 1 not"
    assert row in body and "hashes replaced with CodeArtifact's 1 file(s)" in body
    assert second_run(fix, pipfile, lock).empty


def test_a_version_codeartifact_lacks_is_left_alone_with_a_relock_note() -> None:
    pipfile = PIPFILE.replace('requests = "*"\n', 'orb-gone = "==0.9.0"\nrequests = "*"\n')
    lock = make_lock(
        pipfile,
        {
            "orb-api": entry("1.3.0", CA_API, index="codeartifact"),
            "orb-gone": entry("0.9.0", EVIL),
        },
    )
    fix = build_fix({"Pipfile": pipfile}, {"Pipfile.lock": lock}, LISTING, OPTIONS)
    new_lock = json.loads(fixed(fix, "Pipfile.lock"))
    # The pin still happens (pipenv then fails the hash check rather than install the other
    # index's file); the hashes are not touched.
    assert new_lock["default"]["orb-gone"] == entry("0.9.0", EVIL, index="codeartifact")
    assert fix.relock == ("Pipfile.lock: default/orb-gone==0.9.0",)
    assert not fix.rehashed
    body = render(fix, "t", BODY).body
    assert "Run `pipenv lock`" in body and "`Pipfile.lock: default/orb-gone==0.9.0`" in body


def test_without_a_lock_the_dependency_comes_from_the_listing() -> None:
    fix = build_fix({"svc/Pipfile": PIPFILE}, {}, LISTING, OPTIONS)
    (change,) = fix.changes
    assert tomllib.loads(change.new_text)["packages"]["orb-common"] == {
        "version": "*",
        "index": "codeartifact",
    }
    assert build_fix({"svc/Pipfile": change.new_text}, {}, LISTING, OPTIONS).empty


def test_an_entry_without_index_from_a_private_first_source_is_rehashed() -> None:
    # With CodeArtifact first, pipenv installs unindexed entries from it: no
    # private-transitive, but foreign hashes are still replaced.
    pipfile = (
        f'[[source]]\nname = "codeartifact"\nurl = "{CA_URL}"\nverify_ssl = true\n\n'
        '[packages]\norb-api = {version = "==1.3.0", index = "codeartifact"}\n'
    )
    data = tomllib.loads(pipfile)
    meta = {
        "hash": {"sha256": pipfile_hash(data, HashScheme.CANONICAL)},
        "pipfile-spec": 6,
        "requires": {},
        "sources": [CA_SOURCE],
    }
    lock = dump_lock(
        {
            "_meta": meta,
            "default": {
                "orb-api": entry("1.3.0", CA_API, index="codeartifact"),
                "orb-common": entry("2.1.0", EVIL),
            },
            "develop": {},
        }
    )
    fix = build_fix({"Pipfile": pipfile}, {"Pipfile.lock": lock}, LISTING, OPTIONS)
    assert [change.path for change in fix.changes] == ["Pipfile.lock"]
    assert json.loads(fixed(fix, "Pipfile.lock"))["default"]["orb-common"] == entry(
        "2.1.0", CA_COMMON1, CA_COMMON2
    )
    assert second_run(fix, pipfile, lock).empty
