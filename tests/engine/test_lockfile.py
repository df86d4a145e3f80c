"""Pipfile.lock updates: both hash schemes, scheme detection, pins, sources and pipenv's layout.

The hashes are checked against the real implementations, plette's
``Pipfile.get_hash`` (LEGACY) and this pipenv's ``calculate_hash`` (CANONICAL),
on hand-written Pipfiles and on every Pipfile of the shared corpus.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import tomllib
import types
from pathlib import Path
from typing import Any

import plette
import pytest
from pipenv.utils.pipfile import Pipfile as PipenvPipfile
from pipenv.vendor.plette.models.base import DataValidationError as VendoredDataValidationError
from plette.models.base import DataValidationError
from tests.conftest import SOURCE_URL, corpus_dirs, corpus_features

from pipfleet.engine.audit import AuditOptions, audit
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.lockfile import (
    HashScheme,
    LockUpdate,
    detect_scheme,
    dump_lock,
    pipfile_hash,
    update_lock,
)
from pipfleet.engine.pipfile import package_name, parse
from pipfleet.engine.rewrite import rewrite
from pipfleet.errors import FixError, PipfileError

LEGACY, CANONICAL = HashScheme.LEGACY, HashScheme.CANONICAL
PYPI = {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}
PRIVATE = {"name": "codeartifact", "url": SOURCE_URL, "verify_ssl": True}

MIXED = """\
[[source]]
name = "pypi"
url = "https://pypi.org/simple"
verify_ssl = true

[packages]
Orb_Common = "==2.1.0"
"Requests[Socks]" = "*"

[dev-packages]
"orb-tools[cli]" = {version = "==1.0"}

[ci]
"orb.lint" = "*"

[requires]
python_version = "3.11"

[pipenv]
allow_prereleases = false

[scripts]
test = "pytest"
"""

CANONICAL_NAMES = """\
[packages]
orb-common = "==2.1.0"
requests = {version = "*", extras = ["socks"]}
"""


def _data(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def _plette_hash(text: str) -> str:
    return str(plette.Pipfile.load(io.StringIO(text)).get_hash().value)


def _pipenv_hash(path: Path) -> str:
    """This pipenv's own ``calculate_hash``, which needs nothing of its Project but these two."""
    project_pipfile = types.SimpleNamespace(exists=True, location=str(path))
    return str(PipenvPipfile.calculate_hash(project_pipfile))  # type: ignore[arg-type]


def _lock(data: dict[str, Any], scheme: HashScheme, **sections: Any) -> dict[str, Any]:
    sources = [dict(source) for source in data.get("source", [PYPI])]
    return {
        "_meta": {
            "hash": {"sha256": pipfile_hash(data, scheme)},
            "pipfile-spec": 6,
            "requires": data.get("requires", {}),
            "sources": sources,
        },
        "default": {},
        "develop": {},
        **sections,
    }


def _entry(version: str, **extra: Any) -> dict[str, Any]:
    return {"hashes": ["sha256:" + "ab" * 32], "version": version, **extra}


def _mixed_lock(scheme: HashScheme) -> dict[str, Any]:
    return _lock(
        _data(MIXED),
        scheme,
        default={
            "orb-common": _entry("==2.1.0"),
            "requests": _entry("==2.32.3", index="pypi", extras=["socks"]),
            "pysocks": _entry("==1.7.1"),
        },
        develop={"orb-tools": _entry("==1.0", index="pypi")},
        # older locks may keep a key as written (corpus 041 has "delegator.py")
        ci={"orb.lint": _entry("==0.3", index="pypi")},
    )


MIXED_PINS = [("packages", "Orb_Common"), ("dev-packages", "orb-tools[cli]"), ("ci", "orb.lint")]


def _fixed_mixed() -> str:
    return (
        MIXED.replace(
            'Orb_Common = "==2.1.0"', 'Orb_Common = {version = "==2.1.0", index = "codeartifact"}'
        )
        .replace(
            '"orb-tools[cli]" = {version = "==1.0"}',
            '"orb-tools[cli]" = {version = "==1.0", index = "codeartifact"}',
        )
        .replace('"orb.lint" = "*"', '"orb.lint" = {version = "*", index = "codeartifact"}')
        .replace(
            "verify_ssl = true\n",
            f'verify_ssl = true\n\n[[source]]\nname = "codeartifact"\nurl = "{SOURCE_URL}"\nverify_ssl = true\n',
            1,
        )
    )


# --- the two hash schemes -------------------------------------------------------------


def test_legacy_hash_is_sha256_of_compact_sorted_json_of_names_as_written() -> None:
    data = _data('[packages]\nOrb_Common = "*"\n[tools]\n"Black.Fmt" = "*"\n')
    content = (
        '{"_meta":{"requires":{},"sources":[{"name":"pypi","url":"https://pypi.org/simple",'
        '"verify_ssl":true}]},"default":{"Orb_Common":"*"},"develop":{},"tools":{"Black.Fmt":"*"}}'
    )
    assert pipfile_hash(data, LEGACY) == hashlib.sha256(content.encode()).hexdigest()
    canonical = content.replace("Orb_Common", "orb-common").replace("Black.Fmt", "black-fmt")
    assert pipfile_hash(data, CANONICAL) == hashlib.sha256(canonical.encode()).hexdigest()


def test_schemes_differ_for_mixed_names_and_agree_for_canonical_ones() -> None:
    assert pipfile_hash(_data(MIXED), LEGACY) != pipfile_hash(_data(MIXED), CANONICAL)
    data = _data(CANONICAL_NAMES)
    assert pipfile_hash(data, LEGACY) == pipfile_hash(data, CANONICAL)


def test_canonical_hash_normalises_every_category_and_keeps_extras_in_the_key() -> None:
    renamed = (
        MIXED.replace("Orb_Common", "orb-common")
        .replace('"Requests[Socks]"', '"requests[socks]"')
        .replace('"orb.lint"', '"orb-lint"')
    )
    assert pipfile_hash(_data(MIXED), CANONICAL) == pipfile_hash(_data(renamed), CANONICAL)
    assert pipfile_hash(_data(MIXED), LEGACY) != pipfile_hash(_data(renamed), LEGACY)
    without_extra = MIXED.replace('"Requests[Socks]"', "requests")
    assert pipfile_hash(_data(MIXED), CANONICAL) != pipfile_hash(_data(without_extra), CANONICAL)


@pytest.mark.parametrize("scheme", list(HashScheme))
def test_hash_ignores_pipenv_and_scripts_but_not_requires_or_sources(scheme: HashScheme) -> None:
    base = pipfile_hash(_data(MIXED), scheme)
    same = MIXED.replace("allow_prereleases = false", "allow_prereleases = true").replace(
        'test = "pytest"', 'test = "pytest -x"'
    )
    assert pipfile_hash(_data(same), scheme) == base
    for changed in (
        MIXED.replace('python_version = "3.11"', 'python_version = "3.12"'),
        MIXED.replace("https://pypi.org/simple", "https://mirror.example/simple"),
    ):
        assert pipfile_hash(_data(changed), scheme) != base


def test_no_source_hashes_as_plette_and_pipenv_default_source() -> None:
    explicit = '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
    for scheme in HashScheme:
        assert pipfile_hash(_data(CANONICAL_NAMES), scheme) == pipfile_hash(
            _data(explicit + CANONICAL_NAMES), scheme
        )


@pytest.mark.parametrize(
    "text", [MIXED, CANONICAL_NAMES, _fixed_mixed()], ids=["mixed", "canonical", "fixed"]
)
def test_hashes_equal_plette_and_pipenv(text: str, tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text(text)
    assert pipfile_hash(_data(text), LEGACY) == _plette_hash(text)
    assert pipfile_hash(_data(text), CANONICAL) == _pipenv_hash(tmp_path / "Pipfile")


FEATURES = corpus_features()
VALID = [d for d in corpus_dirs() if "NEGATIVE-CASE" not in FEATURES[d.name]]
LOCKED = [d for d in corpus_dirs() if (d / "Pipfile.lock").is_file()]
LOCKED_VALID = [d for d in LOCKED if d in VALID]
# The corpus locks pipenv did not write as it writes now: no final newline (pipenv
# adds one since GH-319); 041 is a 2017 lock with CRLF line endings.
NO_FINAL_NEWLINE = {"027", "041"}


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _reference_hash(path: Path, scheme: HashScheme) -> str | None:
    """The hash plette (LEGACY) or pipenv (CANONICAL) computes; None when it rejects the file."""
    try:
        return _plette_hash(_text(path)) if scheme is LEGACY else _pipenv_hash(path)
    except (DataValidationError, VendoredDataValidationError):
        return None


@pytest.mark.parametrize("folder", VALID, ids=lambda d: d.name[:40])
def test_corpus_hashes_equal_plette_and_pipenv(folder: Path) -> None:
    text = _text(folder / "Pipfile")
    data = _data(text)
    try:
        legacy = _plette_hash(text)
    except DataValidationError:  # an "egg" key, an unnamed source: pipenv cannot hash it either
        with pytest.raises(VendoredDataValidationError):
            _pipenv_hash(folder / "Pipfile")
        return
    assert pipfile_hash(data, LEGACY) == legacy
    assert pipfile_hash(data, CANONICAL) == _pipenv_hash(folder / "Pipfile")


# --- detection ------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", list(HashScheme))
def test_detects_the_scheme_that_wrote_the_lock(scheme: HashScheme) -> None:
    text = dump_lock(_mixed_lock(scheme))
    assert detect_scheme(text, _data(MIXED)) is scheme


def test_both_matching_prefers_canonical() -> None:
    data = _data(CANONICAL_NAMES)
    assert detect_scheme(dump_lock(_lock(data, LEGACY)), data) is CANONICAL


@pytest.mark.parametrize(
    "lock",
    [
        {"_meta": {"hash": {"sha256": "0" * 64}}},
        {"_meta": {"hash": {}}},
        {"_meta": {}},
        {"default": {}},
    ],
    ids=["other-hash", "no-sha256", "no-hash", "no-meta"],
)
def test_stale_or_hashless_lock_is_detected_as_none(lock: dict[str, Any]) -> None:
    assert detect_scheme(json.dumps(lock), _data(MIXED)) is None


def test_lock_of_an_edited_pipfile_is_stale() -> None:
    text = dump_lock(_mixed_lock(LEGACY))
    edited = _data(MIXED.replace('"orb.lint" = "*"', '"orb.lint" = "==0.3"'))
    assert detect_scheme(text, edited) is None
    update = update_lock(text, edited, edited, "codeartifact", [])
    assert update == LockUpdate(text=None, scheme=None, stale=True, changed_entries=())


def test_malformed_lock_is_a_pipfile_error_with_position() -> None:
    with pytest.raises(PipfileError) as caught:
        detect_scheme('{\n    "_meta": {,\n}', _data(MIXED))
    assert "Pipfile.lock is not valid JSON" in str(caught.value)
    assert (caught.value.line, caught.value.column) == (2, 15)
    with pytest.raises(PipfileError, match="not a JSON object"):
        detect_scheme("[]", _data(MIXED))


# --- updates --------------------------------------------------------------------------


def _update(lock: dict[str, Any], **kwargs: Any) -> LockUpdate:
    options: dict[str, Any] = {
        "old_pipfile_data": _data(MIXED),
        "new_pipfile_data": _data(_fixed_mixed()),
        "index_name": "codeartifact",
        "pinned": MIXED_PINS,
        "added_source": PRIVATE,
    }
    options.update(kwargs)
    return update_lock(dump_lock(lock), **options)


@pytest.mark.parametrize("scheme", list(HashScheme))
def test_update_pins_the_entries_adds_the_source_and_rehashes_with_the_same_scheme(
    scheme: HashScheme,
) -> None:
    old = _mixed_lock(scheme)
    update = _update(old)
    assert update.scheme is scheme and not update.stale and update.text is not None
    assert update.changed_entries == ("default/orb-common", "develop/orb-tools", "ci/orb.lint")
    new = json.loads(update.text)

    expected = copy.deepcopy(old)
    expected["default"]["orb-common"]["index"] = "codeartifact"
    expected["develop"]["orb-tools"]["index"] = "codeartifact"
    expected["ci"]["orb.lint"]["index"] = "codeartifact"
    expected["_meta"]["sources"] = [PYPI, PRIVATE]
    expected["_meta"]["hash"]["sha256"] = pipfile_hash(_data(_fixed_mixed()), scheme)
    assert new == expected
    other = LEGACY if scheme is CANONICAL else CANONICAL
    assert new["_meta"]["hash"]["sha256"] != pipfile_hash(_data(_fixed_mixed()), other)
    assert detect_scheme(update.text, _data(_fixed_mixed())) is scheme


def test_update_matches_lock_keys_by_pep503_name_in_the_mapped_section_only() -> None:
    lock = _mixed_lock(LEGACY)
    lock["default"]["Orb_Common"] = lock["default"].pop("orb-common")
    lock["develop"]["orb-common"] = _entry("==2.0.0", index="pypi")  # same name, other section
    update = _update(lock)
    assert update.text is not None
    new = json.loads(update.text)
    assert new["default"]["Orb_Common"]["index"] == "codeartifact"
    assert new["develop"]["orb-common"]["index"] == "pypi"
    assert "index" not in new["default"]["pysocks"]
    assert new["default"]["requests"]["index"] == "pypi"


def test_update_is_idempotent() -> None:
    first = _update(_mixed_lock(CANONICAL))
    assert first.text is not None
    fixed = _data(_fixed_mixed())
    again = update_lock(first.text, fixed, fixed, "codeartifact", [], None)
    assert again.text == first.text and again.changed_entries == ()
    pinned_again = update_lock(first.text, fixed, fixed, "codeartifact", MIXED_PINS, None)
    assert pinned_again.text == first.text and pinned_again.changed_entries == ()


def test_the_token_placeholder_is_written_never_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEARTIFACT_AUTH_TOKEN", "s3cr3t-t0ken")
    update = _update(_mixed_lock(LEGACY))
    assert update.text is not None
    assert "s3cr3t-t0ken" not in update.text
    assert json.loads(update.text)["_meta"]["sources"][1]["url"] == SOURCE_URL
    assert "${CODEARTIFACT_AUTH_TOKEN}" in update.text


def test_existing_lock_sources_are_kept_as_written() -> None:
    lock = _mixed_lock(LEGACY)
    lock["_meta"]["sources"][0]["x-note"] = "kept"  # whatever the lock holds besides the Pipfile's
    update = _update(lock)
    assert update.text is not None
    assert json.loads(update.text)["_meta"]["sources"] == [{**PYPI, "x-note": "kept"}, PRIVATE]


def test_a_pipfile_changed_beyond_the_fix_is_refused() -> None:
    more = _data(_fixed_mixed().replace('test = "pytest"', 'test = "pytest"\n\n[extra]\nnew = "*"'))
    with pytest.raises(ValueError, match="more than the given pins"):
        _update(_mixed_lock(LEGACY), new_pipfile_data=more)
    with pytest.raises(ValueError, match="more than the given pins"):
        _update(_mixed_lock(LEGACY), pinned=MIXED_PINS[:1])
    with pytest.raises(ValueError, match="more than the given pins"):
        _update(_mixed_lock(LEGACY), added_source={**PRIVATE, "name": "other"})
    with pytest.raises(ValueError, match="not in the old Pipfile"):
        _update(_mixed_lock(LEGACY), pinned=[*MIXED_PINS, ("packages", "absent")])


def test_the_implicit_pypi_source_is_kept_when_a_source_is_added() -> None:
    old_text = '[packages]\norb-common = "==2.1.0"\nrequests = "*"\n'
    pypi = {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}
    written_out = (
        '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
        f'[[source]]\nname = "codeartifact"\nurl = "{SOURCE_URL}"\nverify_ssl = true\n\n'
        '[packages]\norb-common = {version = "==2.1.0", index = "codeartifact"}\nrequests = "*"\n'
    )
    lock = _lock(
        _data(old_text),
        LEGACY,
        default={"orb-common": _entry("==2.1.0"), "requests": _entry("==2.32.3", index="pypi")},
    )
    pinned = [("packages", "orb-common")]
    update = update_lock(
        dump_lock(lock), _data(old_text), _data(written_out), "codeartifact", pinned, PRIVATE
    )
    assert update.text is not None
    assert json.loads(update.text)["_meta"]["sources"] == [pypi, PRIVATE]
    dropped = written_out.split("\n\n", 1)[1]  # only the private source: pypi would be gone
    with pytest.raises(ValueError, match="more than the given pins"):
        update_lock(
            dump_lock(lock), _data(old_text), _data(dropped), "codeartifact", pinned, PRIVATE
        )


def test_an_entry_that_is_no_object_is_a_pipfile_error() -> None:
    lock = _mixed_lock(LEGACY)
    lock["default"]["orb-common"] = "==2.1.0"
    with pytest.raises(PipfileError, match="default entry 'orb-common' is not a JSON object"):
        _update(lock)


def test_names_and_indexes_that_are_no_strings_are_left_as_they_are() -> None:
    lock = _mixed_lock(LEGACY)
    lock["_meta"]["sources"].append({"name": ["a", "list"], "url": "https://example.com/simple"})
    lock["default"]["pysocks"]["index"] = {"not": "a name"}
    update = _update(lock)
    assert update.text is not None
    assert json.loads(update.text)["default"]["pysocks"]["index"] == {"not": "a name"}


def test_a_pipfile_holding_a_date_has_no_lock_hash() -> None:
    with pytest.raises(PipfileError, match="holds a date or time"):
        pipfile_hash(_data("[requires]\nsince = 1979-05-27\n"), CANONICAL)


def test_a_source_url_that_does_not_parse_is_a_pipfile_error() -> None:
    old_text = (
        '[[source]]\nname = "mirror"\nurl = "http://[::1"\n\n[packages]\norb-common = "==2.1.0"\n'
    )
    pipfile = parse(old_text)
    report = audit(pipfile, Listing.of(["orb-common"]), AuditOptions(source_url=SOURCE_URL))
    new_text = rewrite(pipfile, report, SOURCE_URL)
    lock = _lock(_data(old_text), CANONICAL, default={"orb-common": _entry("==2.1.0")})
    lock["_meta"]["sources"] = []  # so the lock's source is made from the Pipfile's URL
    with pytest.raises(PipfileError, match="URL does not parse"):
        update_lock(
            dump_lock(lock),
            _data(old_text),
            _data(new_text),
            "codeartifact",
            [("packages", "orb-common")],
            PRIVATE,
        )


# --- layout ---------------------------------------------------------------------------


def test_layout_is_pipenvs_indent_4_sorted_ascii_with_final_newline() -> None:
    text = dump_lock({"b": {"é": [1, True, None]}, "a": {}})
    assert (
        text
        == '{\n    "a": {},\n    "b": {\n        "\\u00e9": [\n            1,\n            true,\n            null\n        ]\n    }\n}\n'
    )


@pytest.mark.parametrize(
    ("like", "newline"),
    [("", "\n"), ("{}", "\n"), ("{\r\n}\r\n", "\r\n"), ("{\r}\r", "\r"), ("{\r\n}\n", "\n")],
    ids=["empty", "one-line", "crlf", "cr", "mixed"],
)
def test_newlines_follow_the_original_as_pipenv_does(like: str, newline: str) -> None:
    assert dump_lock({"a": 1}, like=like) == "{" + newline + '    "a": 1' + newline + "}" + newline


def test_crlf_and_byte_order_mark_survive_an_update() -> None:
    text = "\ufeff" + dump_lock(_mixed_lock(LEGACY)).replace("\n", "\r\n")
    update = update_lock(
        text, _data(MIXED), _data(_fixed_mixed()), "codeartifact", MIXED_PINS, PRIVATE
    )
    assert update.text is not None
    assert update.text.startswith("\ufeff{\r\n") and "\n" not in update.text.replace("\r\n", "")


@pytest.mark.parametrize(
    "lock_path", [d / "Pipfile.lock" for d in LOCKED], ids=lambda p: p.parent.name[:40]
)
def test_corpus_locks_re_serialise_byte_for_byte(lock_path: Path) -> None:
    text = _text(lock_path)
    rendered = dump_lock(json.loads(text), like=text)
    if lock_path.parent.name[:3] in NO_FINAL_NEWLINE:
        newline = "\r\n" if "\r\n" in text else "\n"
        assert rendered == text + newline
    else:
        assert rendered == text


def test_corpus_has_legacy_canonical_stale_and_crlf_locks() -> None:
    schemes = {
        detect_scheme(_text(d / "Pipfile.lock"), _data(_text(d / "Pipfile"))) for d in LOCKED_VALID
    }
    assert schemes == {LEGACY, CANONICAL, None}
    assert any("lock:crlf" in FEATURES[d.name] for d in LOCKED_VALID)


# --- the corpus, fixed ----------------------------------------------------------------


def _every_registry_package(text: str) -> Listing:
    return Listing.of(e.name for e in parse(text).entries() if e.non_registry_key is None)


@pytest.mark.parametrize("folder", LOCKED_VALID, ids=lambda d: d.name[:40])
def test_corpus_lock_follows_a_full_listing_fix(folder: Path, tmp_path: Path) -> None:
    text, lock_text = _text(folder / "Pipfile"), _text(folder / "Pipfile.lock")
    old_data = _data(text)
    scheme = detect_scheme(lock_text, old_data)
    if scheme is None:
        update = update_lock(lock_text, old_data, old_data, "codeartifact", [])
        assert update.stale and update.text is None
        return
    # Unchanged Pipfile: the same hash, byte for byte the same lock.
    same = update_lock(lock_text, old_data, old_data, "codeartifact", [])
    assert same.text is not None and same.changed_entries == ()
    assert same.text == lock_text or same.text == lock_text + "\n"

    pipfile = parse(text)
    options = AuditOptions(source_url=SOURCE_URL)
    report = audit(pipfile, _every_registry_package(text), options)
    new_text = rewrite(pipfile, report, SOURCE_URL)
    new_data = _data(new_text)
    pinned = [(f.category, f.package) for f in report.fixable if f.category and f.package]
    added = any(f.kind is FindingKind.MISSING_SOURCE for f in report.fixable)
    index = report.private_source or options.index_name
    old_lock = json.loads(lock_text)
    new_sources = {source.get("name") for source in new_data.get("source", [PYPI])}
    sections = {"packages": "default", "dev-packages": "develop"}
    pinned_names = {(sections.get(c, c), package_name(k)) for c, k in pinned}
    dangling = {
        entry.get("index")
        for section, entries in old_lock.items()
        if section != "_meta"
        for key, entry in entries.items()
        if (section, package_name(key)) not in pinned_names
        and entry.get("index") not in (None, *new_sources)
    }
    arguments = (lock_text, old_data, new_data, index, pinned, PRIVATE if added else None)
    if dangling:
        with pytest.raises(FixError):
            update_lock(*arguments)
        return
    update = update_lock(*arguments)
    assert update.scheme is scheme and update.text is not None

    (tmp_path / "Pipfile").write_text(new_text)
    new_lock = json.loads(update.text)
    if (reference := _reference_hash(tmp_path / "Pipfile", scheme)) is not None:
        assert new_lock["_meta"]["hash"]["sha256"] == reference

    for section, entries in old_lock.items():
        if section == "_meta":
            continue
        for key, entry in entries.items():
            if (section, package_name(key)) in pinned_names:
                assert new_lock[section][key] == {**entry, "index": index}
            else:
                assert new_lock[section][key] == entry
    assert len(update.changed_entries) == sum(
        1
        for section, entries in old_lock.items()
        if section != "_meta"
        for key, entry in entries.items()
        if (section, package_name(key)) in pinned_names and entry.get("index") != index
    )
    # A Pipfile without [[source]] loses the implicit pypi when it gains one.
    kept = [s for s in old_lock["_meta"]["sources"] if s.get("name") in new_sources]
    assert new_lock["_meta"]["sources"] == kept + ([PRIVATE] if added else [])

    again = update_lock(update.text, new_data, new_data, index, pinned)
    assert again.text == update.text and again.changed_entries == ()


# --- added entries and CodeArtifact's hashes ----------------------------------------------

CA_A, CA_B, FOREIGN = ("sha256:" + c * 64 for c in "abf")
ADDING = """\
[[source]]
name = "pypi"
url = "https://pypi.org/simple"
verify_ssl = true

[packages]
Orb_Api = "==1.0"
"""
HASH_LISTING = Listing(
    packages={"orb-api": frozenset({"1.0"}), "orb-common": frozenset({"2.0"})},
    hashes={("orb-api", "1"): frozenset({CA_A}), ("orb-common", "2"): frozenset({CA_B, CA_A})},
)


def _added_pipfile() -> str:
    return (
        ADDING.replace(
            "[packages]",
            f'[[source]]\nname = "codeartifact"\nurl = "{SOURCE_URL}"\n'
            "verify_ssl = true\n\n[packages]",
        ).replace('Orb_Api = "==1.0"', 'Orb_Api = {version = "==1.0", index = "codeartifact"}')
        + 'orb-common = {version = "*", index = "codeartifact"}\n'
    )


@pytest.mark.parametrize("scheme", list(HashScheme))
def test_an_added_entry_gains_the_index_and_codeartifacts_hashes(scheme: HashScheme) -> None:
    old = _lock(
        _data(ADDING),
        scheme,
        default={"orb-api": _entry("==1.0"), "orb-common": _entry("==2.0")},
    )
    old["default"]["orb-common"]["hashes"] = [FOREIGN]
    new_data = _data(_added_pipfile())
    update = update_lock(
        dump_lock(old),
        _data(ADDING),
        new_data,
        "codeartifact",
        [("packages", "Orb_Api")],
        PRIVATE,
        [("packages", "orb-common")],
        HASH_LISTING,
    )
    assert update.text is not None and update.scheme is scheme and not update.relock
    new = json.loads(update.text)
    assert new["default"]["orb-api"] == {
        "hashes": [CA_A],
        "index": "codeartifact",
        "version": "==1.0",
    }
    assert new["default"]["orb-common"] == {
        "hashes": [CA_A, CA_B],  # all of the version's files, sorted as pipenv writes them
        "index": "codeartifact",
        "version": "==2.0",  # the locked version stays
    }
    assert [(r.key, r.before, r.foreign, r.after) for r in update.rehashed] == [
        ("orb-api", 1, 1, 1),
        ("orb-common", 1, 1, 2),
    ]
    assert new["_meta"]["hash"]["sha256"] == pipfile_hash(new_data, scheme)
    assert detect_scheme(update.text, new_data) is scheme
    # Idempotent: the same update of the updated lock changes nothing more.
    again = update_lock(update.text, new_data, new_data, "codeartifact", [], None, [], HASH_LISTING)
    assert again.text == update.text and not again.rehashed


def test_an_added_entry_the_lock_lacks_leaves_the_lock_for_pipenv_lock() -> None:
    old = _lock(_data(ADDING), CANONICAL, default={"orb-api": _entry("==1.0")})
    update = update_lock(
        dump_lock(old),
        _data(ADDING),
        _data(_added_pipfile()),
        "codeartifact",
        [("packages", "Orb_Api")],
        PRIVATE,
        [("packages", "orb-common")],
        HASH_LISTING,
    )
    assert update.text is None and not update.stale
    assert update.relock == ("default/orb-common",)


def test_versions_codeartifact_lacks_or_whose_files_are_unknown_keep_their_hashes() -> None:
    data = _data(CANONICAL_NAMES)
    old = _lock(
        data,
        CANONICAL,
        default={
            "orb-common": _entry("==2.1.0", index="codeartifact"),  # not a listed version
            "orb-api": _entry("==1.0", index="codeartifact"),  # files unknown
            "orb-x": _entry("==1.0", index="codeartifact"),  # all CodeArtifact's: kept
            "requests": _entry("==2.0", index="pypi"),  # public
        },
    )
    old["default"]["orb-x"]["hashes"] = [CA_A]
    listing = Listing(
        packages={"orb-common": frozenset({"2.0"}), "orb-api": None, "orb-x": frozenset({"1.0"})},
        hashes={("orb-x", "1"): frozenset({CA_A, CA_B})},
    )
    update = update_lock(dump_lock(old), data, data, "codeartifact", [], None, [], listing)
    assert update.text == dump_lock(old)
    assert update.relock == ("default/orb-common==2.1.0",) and not update.rehashed


def test_adding_an_entry_the_old_pipfile_has_is_refused() -> None:
    data = _data(CANONICAL_NAMES)
    with pytest.raises(ValueError, match="already in the old Pipfile"):
        update_lock(
            dump_lock(_lock(data, CANONICAL)),
            data,
            data,
            "codeartifact",
            [],
            None,
            [("packages", "orb-common")],
        )
