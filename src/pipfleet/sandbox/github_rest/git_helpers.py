"""Git history for the REST handlers: merge bases, three-way merges, diffs, signatures."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.github_rest.common import JSON, Call, invalid
from pipfleet.sandbox.gitstore import Commit, ObjectStore, Signature, TreeEntry, now
from pipfleet.sandbox.world import BOT_LOGIN, Repository

# -- git helpers ---------------------------------------------------------------------------


def file_changes(
    call: Call, repo: Repository, old_tree: str | None, new_tree: str, sha: str
) -> list[JSON]:
    store = call.store
    before = store.files(old_tree)
    after = store.files(new_tree)
    entries = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old != new:
            old_blob = store.blob(old.sha) if old else None
            new_blob = store.blob(new.sha) if new else None
            entries.append(
                shapes.diff_entry(
                    call.site,
                    repo,
                    sha,
                    path,
                    old_blob.data if old_blob else None,
                    new_blob.data if new_blob else None,
                    new.sha if new else old.sha if old else None,
                )
            )
    return entries


def blob_size(store: ObjectStore, entry: TreeEntry) -> int:
    found = store.blob(entry.sha)
    return len(found.data) if found else 0


def bot_signature() -> Signature:
    return Signature(BOT_LOGIN, shapes.BOT_EMAIL, now())


def signature(value: Any, default: Signature) -> Signature:
    if value is None:
        return default
    if not isinstance(value, dict) or not all(
        isinstance(value.get(key), str) for key in ("name", "email")
    ):
        invalid("author and committer need a name and an email.")
    when = parse_time(value["date"]) if isinstance(value.get("date"), str) else default.date
    if when is None:
        invalid(f"{value['date']} is not a valid date.")
    return Signature(value["name"], value["email"], when)


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time; one without an offset is UTC, so commit shas never depend on TZ."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def commit_on(
    call: Call, repo: Repository, branch: str, changes: dict[str, TreeEntry | None], message: str
) -> str:
    """Commit ``changes`` on top of ``branch`` (creating it) and move the branch."""
    parent = repo.branch(branch)
    author = signature(call.field("author"), bot_signature())
    committer = signature(call.field("committer"), author)
    tree = call.store.with_changes(call.store.tree_of(parent), changes)
    sha = call.store.put_commit(
        Commit(tree, (parent,) if parent else (), message, author, committer)
    )
    repo.refs[f"heads/{branch}"] = sha
    repo.pushed_at = now()
    return sha


def decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        invalid("content is not valid Base64.")
