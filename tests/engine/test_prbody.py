from __future__ import annotations

import re

from pipfleet.engine.fixset import ChangedEntry, FileChange, RepoFix
from pipfleet.engine.prbody import escape, fingerprint_in, render

HOSTILE = (
    'orb-x = "==1.0 [click](https://evil.example) <img src=x onerror=alert(1)> @everyone | `tick`"'
)


UNESCAPED = re.compile(r"(?<!\\)[<>\[\]()@|`*_]")


def test_escape_neutralises_markdown_links_html_mentions_and_cells() -> None:
    out = escape("[click](https://evil.example) <img src=x> @team | `x` *b* _i_\nline")
    assert UNESCAPED.search(out) is None, out
    assert "\n" not in out and "https\\:" in out  # no autolink either


def test_body_has_table_guide_marker_and_notes() -> None:
    fix = RepoFix(
        changes=(FileChange("Pipfile", "a", "b"), FileChange("Pipfile.lock", "{}", "{ }")),
        entries=(ChangedEntry("Pipfile", "packages", "orb-x", HOSTILE, '{version = "*"}'),),
        added_sources=("Pipfile",),
        stale_locks=("svc/Pipfile.lock",),
    )
    text = render(fix, "Pin private packages", "codeartifact", "https://guide.example/ca")
    assert text.title == "Pin private packages"
    assert "[CodeArtifact and pipenv](https://guide.example/ca)" in text.body
    table = text.body.split("| --- |")[1].split("\n\n")[0]
    assert UNESCAPED.search(table.replace("| ", "").replace(" |", "")) is None
    assert "| Pipfile | packages | orb\\-x |" in text.body
    assert "svc/Pipfile\\.lock untouched" in text.body
    assert "Updated Pipfile\\.lock" in text.body
    assert fingerprint_in(text.body) == fix.fingerprint


def test_fingerprint_tracks_old_and_new_content() -> None:
    one = RepoFix((FileChange("Pipfile", "old", "new"),), ())
    assert one.fingerprint == RepoFix((FileChange("Pipfile", "old", "new"),), ()).fingerprint
    assert one.fingerprint != RepoFix((FileChange("Pipfile", "older", "new"),), ()).fingerprint
    assert one.fingerprint != RepoFix((FileChange("Pipfile", "old", "newer"),), ()).fingerprint
    assert fingerprint_in("no marker") is None
