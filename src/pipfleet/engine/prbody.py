"""The fix pull request's title, body and comments. Pure.

Package names, specs, paths and branch names come from repositories, so every one
of them is escaped: nothing a repository holds can break the table, start a link,
mention a user or inject HTML into what pipfleet posts. Escaped text is never put
between backticks, where a backslash escapes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipfleet.engine.fixset import RehashedEntry, RepoFix

MARKER_PREFIX = "<!-- pipfleet:fingerprint="
_MARKER = re.compile(r"<!-- pipfleet:fingerprint=([0-9a-f]{64}) -->")
# In the closing comment, so a run finishing an interrupted closure can tell it was posted.
CLOSE_MARKER = "<!-- pipfleet:closed -->"
# Characters with a meaning in GitHub Markdown, escaped with a backslash.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~@:&\"'=])")
# GitHub refuses a body over 65,536 characters; the margin is for its own counting.
BODY_LIMIT = 60_000
# The most characters of paths one note lists; the rest are counted, not named.
_PATHS_LIMIT = 2_000


@dataclass(frozen=True)
class PullRequestText:
    title: str
    body: str


def escape(text: str) -> str:
    """Text safe inside a Markdown table cell: no markup, no link, no HTML, one line."""
    flat = " ".join(text.split())
    return _MARKDOWN.sub(r"\\\1", flat)


def fingerprint_in(body: str | None) -> str | None:
    match = _MARKER.search(body or "")
    return match.group(1) if match else None


def rebuilt_marker(fix: RepoFix) -> str:
    """In the rebuild comment, so a run repeating an interrupted rebuild comments once."""
    return f"<!-- pipfleet:rebuilt={fix.fingerprint} -->"


def rebuilt_comment(fix: RepoFix, default_branch: str, head_oid: str) -> str:
    """The comment on a fix pull request whose branch was rebuilt."""
    return (
        f"pipfleet rebuilt this branch on the current default branch, {escape(default_branch)} "
        f"({escape(head_oid[:7])}): the fix or the files under it changed. It now changes "
        f"{len(fix.changes)} file(s) and pins {len(fix.entries)} entr(y/ies).\n\n"
        f"{rebuilt_marker(fix)}"
    )


def closed_comment(default_branch: str) -> str:
    """The comment on a fix pull request closed because its fix is on the default branch."""
    return (
        f"The default branch, {escape(default_branch)}, no longer needs this change: its "
        f"private packages are pinned already. Closing, and deleting the branch.\n\n{CLOSE_MARKER}"
    )


def _prefix(items: Sequence[str], room: int, separator: str) -> list[str]:
    """The most leading ``items`` that, joined by ``separator``, fit in ``room`` characters."""
    kept: list[str] = []
    used = 0
    for item in items:
        used += len(item) + (len(separator) if kept else 0)
        if used > room:
            break
        kept.append(item)
    return kept


def _paths(paths: Sequence[str]) -> str:
    """Escaped paths for a note, as many as fit in ``_PATHS_LIMIT``, then a count of the rest."""
    escaped = [escape(path) for path in paths]
    kept = _prefix(escaped, _PATHS_LIMIT, ", ")
    more = len(escaped) - len(kept)
    return ", ".join(kept) + (f" and {more:,} more" if more else "")


def _notes(fix: RepoFix) -> list[str]:
    notes = []
    if fix.added_sources:
        notes.append(
            "- Added the private `[[source]]` to: "
            + _paths(fix.added_sources)
            + ". Its URL reads the token from `${CODEARTIFACT_AUTH_TOKEN}`; no token is stored."
        )
    if any(not entry.before for entry in fix.entries):
        notes.append(
            "- Entries shown as *not listed* are private packages that arrive as a dependency "
            "of another: pipenv looks for a package the Pipfile does not list on the first "
            "source, so each is added with its private `index`. A version the lock already "
            "pins stays as locked."
        )
    locks = [change.path for change in fix.changes if change.path.endswith("Pipfile.lock")]
    if locks:
        notes.append(
            "- Updated " + _paths(locks) + " to match (hash and `index`), "
            "so `pipenv install --deploy` passes without relocking. (Should it fail the hash "
            "check, the package was locked from the public index before, where an impostor "
            "lives: run `pipenv lock`.)"
        )
    if fix.relock:
        notes.append(
            "- CodeArtifact does not have what these lock entries need, so their hashes were "
            "left as they were: " + _paths(fix.relock) + ". Run `pipenv lock` (with the "
            "CodeArtifact token set) and commit the new lock."
        )
    if fix.stale_locks:
        notes.append(
            "- Left " + _paths(fix.stale_locks) + " untouched: it was "
            "already out of date with its Pipfile before this change. Run `pipenv lock`."
        )
    return notes


def _rehashed_row(entry: RehashedEntry) -> str:
    version = f"=={entry.version}"
    if entry.foreign:
        before = (
            f"{version}: {entry.before} hash(es), {entry.foreign} not CodeArtifact's "
            "(resolved from another index)"
        )
    else:
        before = f"{version}: {entry.before} of CodeArtifact's hash(es)"
    after = f"{version}: hashes replaced with CodeArtifact's {entry.after} file(s)"
    return (
        f"| {escape(entry.path)} | {escape(entry.section)} | {escape(entry.package)} "
        f"| {escape(before)} | {escape(after)} |"
    )


def _security(fix: RepoFix) -> str:
    """The section a lock with foreign hashes earns, at the top of the body."""
    if not fix.foreign_hashes_fixed:
        return ""
    locks = sorted({entry.path for entry in fix.rehashed if entry.foreign})
    packages = sorted({f"{e.package}=={e.version}" for e in fix.rehashed if e.foreign})
    return f"""## Security

{_paths(locks)} held hashes for private package(s) {_paths(packages)} that are not the files
CodeArtifact holds for those versions: the lock was resolved from another index, probably
public PyPI, where anyone can publish a package with the same name and version (dependency
confusion). Every `pipenv install` from that lock installed the other index's file, which
may be an impostor that ran its own code at install time.

This change replaces those hashes with CodeArtifact's. Before merging, find out what was
installed: `git log -p Pipfile.lock` shows since when the lock held the foreign hashes, and
every laptop, CI runner and image build that ran `pipenv install` or `pipenv sync` since then
installed that file. Check the installed package on those machines (`pip show -f`), rotate the
credentials they could reach, and tell your security team.

"""


def commit_message(fix: RepoFix, title: str) -> str:
    """The fix commit's message: the title, then each entry pinned and each lock entry
    given CodeArtifact's files (a lock-only fix names what it changed too)."""
    lines = [title, ""]
    if fix.entries:
        pinned = sorted({f"{e.package} ({e.path})" for e in fix.entries})
        lines.append("Pinned by pipfleet: " + ", ".join(pinned))
    if fix.rehashed:
        rehashed = sorted({f"{e.package}=={e.version} ({e.path})" for e in fix.rehashed})
        lines.append("CodeArtifact's hashes for: " + ", ".join(rehashed))
    if fix.added_sources:
        lines.append("Source added to: " + ", ".join(sorted(set(fix.added_sources))))
    return "\n".join(lines) + "\n"


def _left_out(omitted: int, total: int) -> str:
    return (
        f"- {omitted:,} of the {total:,} changed entries are not listed above, to keep this "
        "description within GitHub's size limit: the *Files changed* tab shows every change."
    )


def render(fix: RepoFix, title: str, index_name: str, guide_url: str) -> PullRequestText:
    """The pull request; a table too long for GitHub is cut, saying how much and where to look."""
    rows = [
        f"| {escape(e.path)} | {escape(e.category)} | {escape(e.package)} "
        f"| {escape(e.before or 'not listed')} | {escape(e.after)} |"
        for e in fix.entries
    ]
    rows.extend(_rehashed_row(entry) for entry in fix.rehashed)
    notes = _notes(fix)
    body = _body(fix, rows, notes, index_name, guide_url)
    if len(body) > BODY_LIMIT:
        # The note is sized for the most digits it can show, so the body fits whatever is cut.
        room = BODY_LIMIT - len(
            _body(fix, [], [_left_out(len(rows), len(rows)), *notes], index_name, guide_url)
        )
        kept = _prefix(rows, room, "\n")
        notes.insert(0, _left_out(len(rows) - len(kept), len(rows)))
        body = _body(fix, kept, notes, index_name, guide_url)
    return PullRequestText(title, body)


def _body(
    fix: RepoFix, rows: Sequence[str], notes: Sequence[str], index_name: str, guide_url: str
) -> str:
    return f"""\
{_security(fix)}## Why

These Pipfile entries name private packages that live in our CodeArtifact repository, but
they do not say so with `index = "{index_name}"`. pipenv then looks for them on the default
(public) index only: `pipenv lock` fails with *Could not find a version that satisfies the
requirement*, or, worse, installs a public package that happens to have the same name
(dependency confusion).

## What changes

| File | Category | Package | Before | After |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

{chr(10).join(notes)}

## Check it locally

```sh
export CODEARTIFACT_AUTH_TOKEN=$(aws codeartifact get-authorization-token \\
    --domain <domain> --domain-owner <account> --query authorizationToken --output text)
pipenv lock
```

Guide: [CodeArtifact and pipenv]({guide_url})

Opened by pipfleet. Close this pull request to decline it: the same fix will not be
proposed again.

{MARKER_PREFIX}{fix.fingerprint} -->
"""
