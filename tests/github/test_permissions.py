"""The one definition of the permissions pipfleet needs, and the manifest made from it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipfleet.github.permissions import (
    Access,
    Job,
    app_permissions,
    manifest,
    manifest_text,
    missing,
    permission_list,
    required,
)

ROOT = Path(__file__).resolve().parents[2]
# Every file that tells a reader which permissions to grant.
PERMISSION_LISTS = [
    "README.md",
    "docs/security.md",
    "config/github-actions/pipfleet-nightly.yml",
    "config/kubernetes/pipfleet-cronjob.yaml",
    "config/cron/pipfleet.crontab",
]
# A GitHub permission with a level, as the lists spell them: one outside the generated
# list is a hand-written one.
SPELLED = re.compile(
    r"\b(Actions|Administration|Checks|Contents|Issues|Members|Metadata|Pull requests"
    r"|Workflows): (read and write|read)\b"
)


def test_scan_reads_and_fix_writes() -> None:
    assert required(Job.SCAN) == {"contents": Access.READ, "metadata": Access.READ}
    assert required(Job.FIX) == {
        "contents": Access.WRITE,
        "metadata": Access.READ,
        "pull_requests": Access.WRITE,
    }
    assert app_permissions() == required(Job.FIX)


def test_missing_names_what_is_absent_or_too_weak() -> None:
    granted = {"contents": "read", "metadata": "read", "issues": "write"}
    assert missing(granted, Job.SCAN) == []
    gaps = {(g.permission.key, g.needed, g.granted) for g in missing(granted, Job.FIX)}
    assert gaps == {
        ("contents", Access.WRITE, Access.READ),
        ("pull_requests", Access.WRITE, None),
    }
    assert (
        missing({"contents": "write", "metadata": "write", "pull_requests": "write"}, Job.FIX) == []
    )


def test_the_list_the_docs_carry() -> None:
    assert permission_list() == (
        "Contents: read and write, Metadata: read, Pull requests: read and write"
    )


def test_manifest_has_no_webhook_and_asks_for_exactly_the_permissions() -> None:
    document = manifest("pipfleet-acme", "http://127.0.0.1:9/callback")
    assert document["public"] is False
    assert document["default_events"] == []
    assert "hook_attributes" not in document  # no webhook
    assert document["default_permissions"] == {
        "contents": "write",
        "metadata": "read",
        "pull_requests": "write",
    }
    assert document["redirect_url"] == "http://127.0.0.1:9/callback"


def test_committed_manifest_is_the_generated_one() -> None:
    committed = (ROOT / "config" / "github-app" / "manifest.json").read_text(encoding="utf-8")
    assert committed == manifest_text(), "regenerate it from pipfleet.github.permissions"
    assert "redirect_url" not in json.loads(committed)  # the create command adds its own


def flowing(text: str) -> str:
    """The prose of a Markdown or YAML file, comment marks and line breaks gone."""
    lines = (line.strip().lstrip("#").strip() for line in text.splitlines())
    return " ".join(line for line in lines if line)


@pytest.mark.parametrize("name", PERMISSION_LISTS)
def test_every_written_permission_list_is_the_definition(name: str) -> None:
    text = flowing((ROOT / name).read_text(encoding="utf-8"))
    assert permission_list() in text, f"{name} lacks the list: {permission_list()}"
    left = SPELLED.findall(text.replace(permission_list(), ""))
    assert left == [], f"{name} spells permissions outside the generated list: {left}"
