"""Every real Pipfile in the shared corpus: parse, audit and rewrite hold their promises."""

from __future__ import annotations

import difflib
import io
import re
import tomllib
from pathlib import Path
from typing import Any

import plette
import pytest
from plette.models.base import DataValidationError
from tests.conftest import SOURCE_URL, corpus_dirs, corpus_features

from pipfleet.engine.audit import AuditOptions, audit
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import RESERVED_TABLES, EntryForm, Pipfile, parse
from pipfleet.engine.rewrite import IMPLICIT_SOURCE, rewrite
from pipfleet.errors import PipfileError

FEATURES = corpus_features()
DIRS = corpus_dirs()
VALID = [d for d in DIRS if "NEGATIVE-CASE" not in FEATURES[d.name]]
INVALID = [d for d in DIRS if "NEGATIVE-CASE" in FEATURES[d.name]]
OPTIONS = AuditOptions(source_url=SOURCE_URL)
_INSERTED_INDEX = re.compile(r'^[ \t]*(?:[^=]+\.)?index = "codeartifact"\r?\n?$')


def _text(folder: Path) -> str:
    return (folder / "Pipfile").read_bytes().decode("utf-8")


def _every_registry_package(pipfile: Pipfile) -> Listing:
    return Listing.of(e.name for e in pipfile.entries() if e.non_registry_key is None)


def _pinned(data: dict[str, Any], fixed: set[tuple[str, str]]) -> dict[str, Any]:
    """What ``data`` should become: the fixed entries gain index = "codeartifact"."""
    result = {key: value for key, value in data.items()}
    for category, key in fixed:
        value = result[category][key]
        value = {"version": value} if isinstance(value, str) else dict(value)
        result[category] = {**result[category], key: {**value, "index": "codeartifact"}}
    return result


# Valid Pipfiles pipenv tolerates but plette's stricter model rejects (a source without a
# name, an entry option it does not know): the cross-check with plette skips these only.
PLETTE_REJECTS = {
    "006-python-discord__bot__Pipfile": "Unrecognized Pipfile option(s): egg",
    "017-psf__requests__Pipfile": "Missing required field: name",
    "042-postmanlabs__httpbin__Pipfile": "Missing required field: name",
    "050-aicoe-aiops__ocp-ci-analysis__Pipfile": "Unrecognized Pipfile option(s): black",
}


def _plette(text: str) -> dict[str, Any] | None:
    try:
        return dict(plette.Pipfile.load(io.StringIO(text))._data)
    except DataValidationError:
        return None


def test_plette_rejects_only_the_known_valid_files() -> None:
    rejected = {}
    for folder in VALID:
        try:
            plette.Pipfile.load(io.StringIO(_text(folder)))
        except DataValidationError as exc:
            rejected[folder.name] = str(exc)
    assert set(rejected) == set(PLETTE_REJECTS)
    for name, reason in PLETTE_REJECTS.items():
        assert reason in rejected[name], rejected[name]


def test_corpus_is_present_and_has_both_kinds() -> None:
    assert len(VALID) >= 50 and len(INVALID) >= 3


@pytest.mark.parametrize("folder", VALID, ids=lambda d: d.name[:40])
def test_valid_file_parses(folder: Path) -> None:
    text = _text(folder)
    pipfile = parse(text, str(folder))
    data = tomllib.loads(text)
    categories = {k for k, v in data.items() if k not in RESERVED_TABLES and isinstance(v, dict)}
    assert set(pipfile.categories) == categories
    for entry in pipfile.entries():
        assert entry.line is not None, entry
        if entry.form is not EntryForm.TABLE:
            assert entry.span is not None
            assert (
                tomllib.loads(f"v = {text[entry.span.start : entry.span.end]}")["v"] == entry.value
            )


@pytest.mark.parametrize("folder", VALID, ids=lambda d: d.name[:40])
def test_empty_listing_changes_nothing(folder: Path) -> None:
    pipfile = parse(_text(folder))
    report = audit(pipfile, Listing(), OPTIONS)
    assert not report.fixable
    assert rewrite(pipfile, report, SOURCE_URL) == pipfile.text


@pytest.mark.parametrize("folder", VALID, ids=lambda d: d.name[:40])
def test_full_listing_rewrite_is_minimal_faithful_and_idempotent(folder: Path) -> None:
    text = _text(folder)
    pipfile = parse(text)
    listing = _every_registry_package(pipfile)
    report = audit(pipfile, listing, OPTIONS)
    new = rewrite(pipfile, report, SOURCE_URL)
    fixed = {(f.category, f.package) for f in report.fixable if f.package}
    entries = {(e.category, e.key): e for e in pipfile.entries()}
    assert fixed == {
        k for k, e in entries.items() if e.non_registry_key is None and e.index != "codeartifact"
    }

    # (a) the same meaning plus the pins, for tomllib and for pipenv's own model
    old_data, new_data = tomllib.loads(text), tomllib.loads(new)
    expected = _pinned(old_data, fixed)  # type: ignore[arg-type]
    added_source = any(f.kind is FindingKind.MISSING_SOURCE for f in report.findings)
    if added_source:
        expected["source"] = [
            *(old_data.get("source") or [IMPLICIT_SOURCE]),  # pipenv's default, written out
            {"name": "codeartifact", "url": SOURCE_URL, "verify_ssl": True},
        ]
    assert new_data == expected
    if _plette(text) is not None:
        new_plette = _plette(new)
        assert new_plette is not None, "plette accepted the original but not the rewrite"
        for category in pipfile.categories:
            assert new_plette.get(category) == expected[category]

    # (b) only the lines of rewritten entries change; the rest is inserted lines
    old_lines, new_lines = text.splitlines(keepends=True), new.splitlines(keepends=True)
    rewritten_lines = {
        entries[key].line for key in fixed if entries[key].form is not EntryForm.TABLE
    }
    changed_lines: set[int] = set()
    inserted: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(
        a=old_lines, b=new_lines, autojunk=False
    ).get_opcodes():
        assert op != "delete", old_lines[i1:i2]
        if op == "replace":
            changed_lines.update(range(i1 + 1, i2 + 1))
        if op in ("replace", "insert"):
            inserted.extend(new_lines[j1 + (i2 - i1) : j2])
    last = old_lines[-1]
    if not last.endswith("\n") and last + pipfile.newline in new_lines:
        changed_lines.discard(len(old_lines))  # only terminated, for a line added after it
    assert changed_lines <= rewritten_lines
    source_lines = {
        "[[source]]",
        'name = "pypi"',
        'url = "https://pypi.org/simple"',
        'name = "codeartifact"',
        f'url = "{SOURCE_URL}"',
        "verify_ssl = true",
        "",
    }
    for line in inserted:
        assert _INSERTED_INDEX.match(line) or line.rstrip("\r\n") in source_lines, line

    # (c) a second rewrite changes nothing and nothing is left to fix
    again = parse(new)
    second = audit(again, listing, OPTIONS)
    assert not second.fixable
    assert rewrite(again, second, SOURCE_URL) == new


@pytest.mark.parametrize("folder", INVALID, ids=lambda d: d.name[:40])
def test_invalid_file_is_a_parse_error_with_position(folder: Path) -> None:
    with pytest.raises(PipfileError) as caught:
        parse(_text(folder))
    assert caught.value.line is not None
