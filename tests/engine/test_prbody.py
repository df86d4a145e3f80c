from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.gfm import GFM, code_spans, inlines, live, prose, table_rows

from pipfleet.engine.fixset import ChangedEntry, FileChange, RehashedEntry, RepoFix
from pipfleet.engine.prbody import (
    BODY_LIMIT,
    CLOSE_MARKER,
    BodySettings,
    closed_comment,
    code,
    fingerprint_in,
    rebuilt_comment,
    render,
)
from pipfleet.safetext import printable

SETTINGS = BodySettings(
    index_name="codeartifact",
    domain="acme",
    domain_owner="111122223333",
    region="eu-west-1",
    opt_out_topic="pipfleet-ignore",
    opt_out_file=".pipfleet.toml",
    guide_url="https://guide.example/ca",
)
HOSTILE = (
    'orb-x = "==1.0 [click](https://evil.example) <img src=x onerror=alert(1)> @everyone | `tick`"'
)


def body_of(fix: RepoFix, body_settings: BodySettings = SETTINGS) -> str:
    return render(fix, "t", body_settings).body


def shown(text: str) -> str:
    """What a code span of ``text`` shows: one line, control characters as escapes."""
    return printable(text) or " "


# --- code spans: any text, shown as written, never markup ---------------------------------


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from("`| \\ab<>@[]()*_\n\u202e"), max_size=12) | st.text())
def test_a_code_span_shows_any_text_as_written(text: str) -> None:
    (token,) = inlines(code(text))
    assert token.type == "code_inline" and token.content == shown(text)
    # In a table cell too: the pipe does not end the cell.
    ((cell, after),) = table_rows(f"| a | b |\n| --- | --- |\n| {code(text, in_table=True)} | z |")
    assert [t.type for t in cell] == ["code_inline"] and cell[0].content == shown(text)
    assert [t.content for t in after] == ["z"]


def test_a_code_span_fence_outgrows_the_backticks_inside() -> None:
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code(" both ") == "`  both  `"
    assert code("a|b", in_table=True) == "`a\\|b`" and code("a|b") == "`a|b`"


# --- the body --------------------------------------------------------------------------


def test_body_shows_repository_text_in_code_spans_that_inject_nothing() -> None:
    fix = RepoFix(
        changes=(FileChange("Pipfile", "a", "b"), FileChange("Pipfile.lock", "{}", "{ }")),
        entries=(
            ChangedEntry("Pipfile", "packages", "orb-x", HOSTILE, '{version = "~=3.3"}'),
            ChangedEntry("svc/Pipfile", "packages", "orb-y", "", "{index}"),
        ),
        added_sources=("Pipfile",),
        stale_locks=("svc/Pipfile.lock",),
    )
    text = render(fix, "Pin private packages", SETTINGS)
    assert text.title == "Pin private packages"
    rows = table_rows(text.body)
    assert [[cell[0].content for cell in row] for row in rows] == [
        ["Pipfile", "packages", "orb-x", HOSTILE, '{version = "~=3.3"}'],
        ["svc/Pipfile", "packages", "orb-y", "", "{index}"],
    ]
    # *not listed* is ours, not a value
    assert [(t.type, t.content) for t in rows[1][3]] == [
        ("em_open", ""),
        ("text", "not listed"),
        ("em_close", ""),
    ]
    # Readable as raw text (an email): the value is written as it is in the Pipfile.
    assert '| `{version = "~=3.3"}` |' in text.body and "\\~" not in text.body
    # The only link is the guide; no HTML, no mention, no URL outside code.
    assert [(t.type, t.attrs.get("href")) for t in live(text.body)] == [
        ("link_open", "https://guide.example/ca")
    ]
    assert "@everyone" not in prose(text.body) and "evil" not in prose(text.body)
    assert "`svc/Pipfile.lock` untouched" in text.body
    assert "Updated `Pipfile.lock`" in text.body
    assert fingerprint_in(text.body) == fix.fingerprint


def test_check_it_locally_fills_in_the_configuration_and_verifies_the_lock() -> None:
    fix = RepoFix((FileChange("Pipfile", "a", "b"), FileChange("Pipfile.lock", "{}", "{ }")), ())
    body = body_of(fix)
    check = body.split("## Check it locally")[1].split("\n## ")[0]
    assert "--domain acme --domain-owner 111122223333 --region eu-west-1" in check
    assert "<domain>" not in body and "<account>" not in body
    assert "pipenv verify" in check and "pipenv install --deploy --dev" in check
    assert "pipenv lock" not in check and "Run `pipenv lock`" not in body  # nothing to relock
    (block,) = [t for t in GFM.parse(body) if t.type == "fence"]
    assert block.info == "sh" and block.content.startswith("export CODEARTIFACT_AUTH_TOKEN=$(")


def test_without_a_lock_the_check_installs_and_odd_configuration_stays_one_argument() -> None:
    odd = replace(
        SETTINGS,
        domain="acme; rm -rf ~",
        region="eu-west-1\n```",
    )
    body = body_of(RepoFix((FileChange("Pipfile", "a", "b"),), ()), odd)
    (block,) = [t for t in GFM.parse(body) if t.type == "fence"]
    assert "--domain 'acme; rm -rf ~'" in block.content
    assert "--region 'eu-west-1\\n```'" in block.content  # inside a longer fence
    assert "pipenv install --dev" in block.content and "pipenv verify" not in block.content


def test_every_way_to_opt_out_is_named() -> None:
    body = body_of(RepoFix((FileChange("Pipfile", "a", "b"),), ()))
    opt_out = body.split("## Not wanted here?")[1]
    assert "Close this pull request without merging" in opt_out
    assert "the topic `pipfleet-ignore`" in opt_out
    assert "a file `.pipfleet.toml` containing `enabled = false`" in opt_out


def test_without_a_guide_url_the_body_carries_the_rule() -> None:
    fix = RepoFix((FileChange("Pipfile", "a", "b"),), ())
    with_guide, without = body_of(fix), body_of(fix, replace(SETTINGS, guide_url=None))
    assert "## The rule" not in with_guide and "[CodeArtifact and pipenv]" in with_guide
    assert not live(without) and "## The rule" in without
    rule = without.split("## The rule")[1].split("\n## ")[0]
    assert 'names its index: `index = "codeartifact"`' in rule
    assert "arrives only as a dependency" in rule and "${CODEARTIFACT_AUTH_TOKEN}" in rule
    assert '`pipenv install --index codeartifact "name==x.y"`' in rule
    # Why index is needed, and how to verify, are in every body.
    assert "exactly one index" in without and "## Check it locally" in without


def test_a_guide_url_cannot_end_its_link_early() -> None:
    odd = replace(SETTINGS, guide_url='https://g.example/a(b)"c<d>')
    ((_, href),) = [(t.type, t.attrs.get("href")) for t in live(body_of(RepoFix((), ()), odd))]
    assert href == "https://g.example/a%28b%29%22c%3Cd%3E"


def test_fingerprint_tracks_old_and_new_content() -> None:
    one = RepoFix((FileChange("Pipfile", "old", "new"),), ())
    assert one.fingerprint == RepoFix((FileChange("Pipfile", "old", "new"),), ()).fingerprint
    assert one.fingerprint != RepoFix((FileChange("Pipfile", "older", "new"),), ()).fingerprint
    assert one.fingerprint != RepoFix((FileChange("Pipfile", "old", "newer"),), ()).fingerprint
    assert fingerprint_in("no marker") is None


HOSTILE_BRANCH = "main`@security-team"


def test_comments_show_the_branch_as_written_and_mention_no_one() -> None:
    fix = RepoFix((FileChange("Pipfile", "a", "b"),), ())
    rebuilt = rebuilt_comment(fix, HOSTILE_BRANCH, "0123456789abcdef")
    closed = closed_comment(HOSTILE_BRANCH)
    for comment in (rebuilt, closed):
        assert HOSTILE_BRANCH in code_spans(comment) and "@" not in prose(comment)
    assert "(`0123456`)" in rebuilt and "1 file(s) and pins 0 entr(y/ies)" in rebuilt
    assert "no longer needs this change" in closed and closed.endswith(CLOSE_MARKER)


def _entries(count: int, before: str = '"==1.0"') -> tuple[ChangedEntry, ...]:
    return tuple(
        ChangedEntry(f"services/svc-{i}/Pipfile", "packages", f"orb-{i}", before, "{index}")
        for i in range(count)
    )


def test_a_small_body_is_whole() -> None:
    body = body_of(RepoFix((), _entries(3)))
    assert len(table_rows(body)) == 3 and "not listed" not in body


def test_a_long_table_is_cut_below_githubs_limit_saying_how_much_and_where() -> None:
    fix = RepoFix((FileChange("Pipfile", "a", "b"),), _entries(3000))
    body = body_of(fix)
    assert BODY_LIMIT < 65_536 and BODY_LIMIT - 200 < len(body) <= BODY_LIMIT
    rows = table_rows(body)
    assert 0 < len(rows) < 3000
    assert f"- {3000 - len(rows):,} of the 3,000 changed entries are not listed above" in body
    assert "the *Files changed* tab shows every change" in body
    assert rows[-1][0][0].content == f"services/svc-{len(rows) - 1}/Pipfile"
    assert fingerprint_in(body) == fix.fingerprint and "## Check it locally" in body


def test_one_huge_entry_and_endless_path_lists_still_fit() -> None:
    paths = tuple(f"deep/{'x' * 40}/{i}/Pipfile" for i in range(5000))
    fix = RepoFix(
        tuple(FileChange(f"{p}.lock", "{}", "{ }") for p in paths[:50]),
        _entries(1, before="9" * 200_000),
        added_sources=paths,
        stale_locks=paths,
    )
    body = body_of(fix)
    assert len(body) <= BODY_LIMIT
    assert table_rows(body) == [] and "- 1 of the 1 changed entries are not listed" in body
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
    body = body_of(fix)
    assert body.startswith("## Security\n") and body.index("## Security") < body.index("## Why")
    assert "git log -p Pipfile.lock" in body and "pipenv install" in body
    ((path, section, package, before, after),) = table_rows(body)
    assert [path[0].content, section[0].content, package[0].content] == [
        "svc-0/Pipfile.lock",
        "default",
        hostile,
    ]
    assert before[0].content == "==2.5.1"
    assert before[1].content == ": 2 hash(es), 1 not CodeArtifact's (resolved from another index)"
    assert after[1].content == ": hashes replaced with CodeArtifact's 1 file(s)"
    # The hostile name is inert everywhere, the Security section included.
    security = body.split("## Why")[0]
    assert f"{hostile}==2.5.1" in code_spans(security)
    assert not live(body.split("## Check it locally")[0]) and "@" not in prose(body)


def test_hashes_completed_without_foreign_ones_need_no_security_section() -> None:
    fix = RepoFix(
        changes=(FileChange("a", "b", "c"),), entries=(), rehashed=_rehashed(1, foreign=0)
    )
    body = body_of(fix)
    assert "## Security" not in body and "`==2.5.1`: 2 of CodeArtifact's hash(es)" in body


def test_versions_codeartifact_lacks_say_to_run_pipenv_lock() -> None:
    fix = RepoFix(
        changes=(FileChange("a", "b", "c"),),
        entries=(),
        relock=("svc/Pipfile.lock: default/orb-gone==0.9",),
    )
    body = body_of(fix)
    assert "Run `pipenv lock`" in body and "`svc/Pipfile.lock: default/orb-gone==0.9`" in body


def test_many_rehashed_entries_and_the_security_section_still_fit() -> None:
    fix = RepoFix(
        changes=(FileChange("a", "b", "c"),), entries=(), rehashed=_rehashed(5000, "x" * 300)
    )
    body = body_of(fix)
    assert len(body) <= BODY_LIMIT and body.startswith("## Security")
    assert "of the 5,000 changed entries are not listed above" in body
    assert fingerprint_in(body) == fix.fingerprint
