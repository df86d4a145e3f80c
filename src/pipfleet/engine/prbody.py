"""The fix pull request's title and body. Pure.

Package names and specs come from repositories, so every one of them is escaped:
nothing a Pipfile holds can break the table, start a link, mention a user or
inject HTML into the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipfleet.engine.fixset import RepoFix

MARKER_PREFIX = "<!-- pipfleet:fingerprint="
_MARKER = re.compile(r"<!-- pipfleet:fingerprint=([0-9a-f]{64}) -->")
# Characters with a meaning in GitHub Markdown, escaped with a backslash.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~@:&\"'=])")


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


def render(fix: RepoFix, title: str, index_name: str, guide_url: str) -> PullRequestText:
    rows = "\n".join(
        f"| {escape(e.path)} | {escape(e.category)} | {escape(e.package)} "
        f"| {escape(e.before)} | {escape(e.after)} |"
        for e in fix.entries
    )
    notes = []
    if fix.added_sources:
        notes.append(
            "- Added the private `[[source]]` to: "
            + ", ".join(escape(path) for path in fix.added_sources)
            + ". Its URL reads the token from `${CODEARTIFACT_AUTH_TOKEN}`; no token is stored."
        )
    locks = [change.path for change in fix.changes if change.path.endswith("Pipfile.lock")]
    if locks:
        notes.append(
            "- Updated " + ", ".join(escape(p) for p in locks) + " to match (hash and `index`), "
            "so `pipenv install --deploy` passes without relocking. (Should it fail the hash "
            "check, the package was locked from the public index before, where an impostor "
            "lives: run `pipenv lock`.)"
        )
    if fix.stale_locks:
        notes.append(
            "- Left " + ", ".join(escape(p) for p in fix.stale_locks) + " untouched: it was "
            "already out of date with its Pipfile before this change. Run `pipenv lock`."
        )
    body = f"""\
## Why

These Pipfile entries name private packages that live in our CodeArtifact repository, but
they do not say so with `index = "{index_name}"`. pipenv then looks for them on the default
(public) index only: `pipenv lock` fails with *Could not find a version that satisfies the
requirement*, or, worse, installs a public package that happens to have the same name
(dependency confusion).

## What changes

| File | Category | Package | Before | After |
| --- | --- | --- | --- | --- |
{rows}

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
    return PullRequestText(title, body)
