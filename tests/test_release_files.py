"""The files a release carries agree with pyproject.toml: the LICENSE is the MIT text its
``license`` names, and the newest release in CHANGELOG.md is the package's version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pipfleet

ROOT = Path(__file__).resolve().parents[1]
RELEASE = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\d{4}-\d{2}-\d{2})$", re.M)


def project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_license_is_the_mit_text_pyproject_names() -> None:
    assert project()["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 pipfleet contributors\n")
    prose = " ".join(text.split())
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy" in prose
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in prose


def test_the_newest_release_in_the_changelog_is_the_package_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## .*$", text, re.M)
    assert headings[0] == "## [Unreleased]", "Keep a Changelog: unreleased changes come first"
    releases = [m["version"] for m in RELEASE.finditer(text)]
    assert len(releases) == len(headings) - 1, "every other heading is '## [version] - date'"
    assert releases[0] == project()["version"] == pipfleet.__version__
