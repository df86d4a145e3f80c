"""The one definition of the permissions pipfleet needs, and the manifest made from it."""

from __future__ import annotations

import json
from pathlib import Path

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
    assert document["hook_attributes"] == {"active": False}
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
