"""Git history for the REST handlers: merge bases, three-way merges, diffs, signatures."""

from __future__ import annotations

import base64
import binascii
from collections import deque
from datetime import UTC, datetime
from typing import Any

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.github_rest.common import JSON, Call, invalid
from pipfleet.sandbox.gitstore import Commit, ObjectStore, Signature, TreeEntry, now
from pipfleet.sandbox.world import BOT_LOGIN, Repository

# -- git helpers ---------------------------------------------------------------------------


def ancestors(store: ObjectStore, sha: str) -> set[str]:
    seen: set[str] = set()
    todo = [sha]
    while todo:
        current = todo.pop()
        found = store.commit(current)
        if current in seen or found is None:
            continue
        seen.add(current)
        todo.extend(found.parents)
    return seen


def merge_base(store: ObjectStore, a: str, b: str) -> str | None:
    """The nearest commit of ``b``'s history that ``a`` also contains."""
    reachable = ancestors(store, a)
    queue, seen = deque([b]), set()
    while queue:
        current = queue.popleft()
        if current in reachable:
            return current
        found = store.commit(current)
        if current not in seen and found is not None:
            seen.add(current)
            queue.extend(found.parents)
    return None


def tree_of(store: ObjectStore, sha: str | None) -> str | None:
    found = store.commit(sha) if sha else None
    return found.tree if found else None


def three_way(store: ObjectStore, base: str | None, ours: str, theirs: str) -> str | None:
    """Merge two trees file by file; None when both sides changed a file differently."""
    old = shapes.tree_files(store, base) if base else {}
    left, right = shapes.tree_files(store, ours), shapes.tree_files(store, theirs)
    merged: dict[str, TreeEntry | None] = {}
    for path in old.keys() | left.keys() | right.keys():
        was, mine, other = old.get(path), left.get(path), right.get(path)
        if mine == other or other == was:
            merged[path] = mine
        elif mine == was:
            merged[path] = other
        else:
            return None
    kept = {path: entry for path, entry in merged.items() if entry is not None}
    return store.with_changes(None, kept)


def file_changes(
    call: Call, repo: Repository, old_tree: str | None, new_tree: str, sha: str
) -> list[JSON]:
    store = call.store
    before = shapes.tree_files(store, old_tree) if old_tree else {}
    after = shapes.tree_files(store, new_tree)
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
    tree = call.store.with_changes(tree_of(call.store, parent), changes)
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
