from __future__ import annotations

import re

from pipfleet.engine.fixset import ChangedEntry, FileChange, RehashedEntry, RepoFix
from pipfleet.engine.prbody import (
    BODY_LIMIT,
    CLOSE_MARKER,
    closed_comment,
    escape,
    fingerprint_in,
    rebuilt_comment,
    render,
)

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


# A backtick or an @ that Markdown would act on.
LIVE = re.compile(r"(?<!\\)[`@]")
HOSTILE_BRANCH = "main`@security-team"


def test_comments_cannot_close_a_code_span_or_mention_anyone() -> None:
    fix = RepoFix((FileChange("Pipfile", "a", "b"),), ())
    rebuilt = rebuilt_comment(fix, HOSTILE_BRANCH, "0123456789abcdef")
    closed = closed_comment(HOSTILE_BRANCH)
    for comment in (rebuilt, closed):
        assert LIVE.search(comment) is None, comment
        assert "main\\`\\@security\\-team" in comment
    assert "(0123456)" in rebuilt and "1 file(s) and pins 0 entr(y/ies)" in rebuilt
    assert "no longer needs this change" in closed and closed.endswith(CLOSE_MARKER)


def _entries(count: int, before: str = '"==1.0"') -> tuple[ChangedEntry, ...]:
    return tuple(
        ChangedEntry(f"services/svc-{i}/Pipfile", "packages", f"orb-{i}", before, "{index}")
        for i in range(count)
    )


def _table_rows(body: str) -> list[str]:
    table = body.split("| --- | --- | --- | --- | --- |\n")[1].split("\n\n")[0]
    return [row for row in table.split("\n") if row.startswith("| ")]


def test_a_small_body_is_whole() -> None:
    body = render(RepoFix((), _entries(3)), "t", "codeartifact", "https://g").body
    assert len(_table_rows(body)) == 3 and "not listed" not in body


def test_a_long_table_is_cut_below_githubs_limit_saying_how_much_and_where() -> None:
    fix = RepoFix((FileChange("Pipfile", "a", "b"),), _entries(3000))
    body = render(fix, "t", "codeartifact", "https://g").body
    assert BODY_LIMIT < 65_536 and BODY_LIMIT - 200 < len(body) <= BODY_LIMIT
    shown = len(_table_rows(body))
    assert 0 < shown < 3000
    assert f"- {3000 - shown:,} of the 3,000 changed entries are not listed above" in body
    assert "the *Files changed* tab shows every change" in body
    assert _table_rows(body)[-1].startswith(f"| services/svc\\-{shown - 1}/Pipfile |")
    assert fingerprint_in(body) == fix.fingerprint and "## Check it locally" in body


def test_one_huge_entry_and_endless_path_lists_still_fit() -> None:
    paths = tuple(f"deep/{'x' * 40}/{i}/Pipfile" for i in range(5000))
    fix = RepoFix(
        tuple(FileChange(f"{p}.lock", "{}", "{ }") for p in paths[:50]),
        _entries(1, before="9" * 200_000),
        added_sources=paths,
        stale_locks=paths,
    )
    body = render(fix, "t", "codeartifact", "https://g").body
    assert len(body) <= BODY_LIMIT
    assert _table_rows(body) == [] and "- 1 of the 1 changed entries are not listed" in body
    assert body.count(" more. Its URL") == 1 and body.count(" more untouched") == 1
    assert fingerprint_in(body) == fix.fingerprint


def _rehashed(count: int, package: str = "orb-http", foreign: int = 1) -> tuple[RehashedEntry, ...]:
    return tuple(
        RehashedEntry(f"svc-{i}/Pipfile.lock", "default", package, "2.5.1", 2, foreign, 1)
        for i in range(count)
    )


def test_foreign_hashes_put_a_security_section_first_and_a_row_per_entry() -> None:
    hostile = "orb-x](https://evil.example) <b>@everyone</b> | `t`"
    fix = RepoFix(
        changes=(FileChange("svc-0/Pipfile.lock", "{}", "{ }"),),
        entries=(),
        rehashed=_rehashed(1, hostile),
    )
    body = render(fix, "t", "codeartifact", "https://g.example").body
    assert body.startswith("## Security\n") and body.index("## Security") < body.index("## Why")
    assert "git log -p Pipfile.lock" in body and "pipenv install" in body
    (row,) = _table_rows(body)
    assert row.startswith("| svc\\-0/Pipfile\\.lock | default | orb\\-x\\]")
    assert "2 hash\\(es\\), 1 not CodeArtifact\\'s" in row
    assert "hashes replaced with CodeArtifact\\'s 1 file\\(s\\)" in row
    # The hostile name is escaped everywhere, the Security section included.
    assert re.search(r"(?<!\\)[<@]|\]\(https", body.split("## Check it locally")[0]) is None
    assert body.split("## Why")[0].count("orb\\-x\\]\\(https\\://evil\\.example\\)") == 1


def test_hashes_completed_without_foreign_ones_need_no_security_section() -> None:
    fix = RepoFix(
        changes=(FileChange("a", "b", "c"),), entries=(), rehashed=_rehashed(1, foreign=0)
    )
    body = render(fix, "t", "codeartifact", "https://g.example").body
    assert "## Security" not in body and "2 of CodeArtifact\\'s hash\\(es\\)" in body


def test_versions_codeartifact_lacks_say_to_run_pipenv_lock() -> None:
    fix = RepoFix(
        changes=(FileChange("a", "b", "c"),),
        entries=(),
        relock=("svc/Pipfile.lock: default/orb-gone==0.9",),
    )
    body = render(fix, "t", "codeartifact", "https://g.example").body
    assert "Run `pipenv lock`" in body and "default/orb\\-gone\\=\\=0\\.9" in body


def test_many_rehashed_entries_and_the_security_section_still_fit() -> None:
    fix = RepoFix(
        changes=(FileChange("a", "b", "c"),), entries=(), rehashed=_rehashed(5000, "x" * 300)
    )
    body = render(fix, "t", "codeartifact", "https://g.example").body
    assert len(body) <= BODY_LIMIT and body.startswith("## Security")
    assert "of the 5,000 changed entries are not listed above" in body
    assert fingerprint_in(body) == fix.fingerprint
