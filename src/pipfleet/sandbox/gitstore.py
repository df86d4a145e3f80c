"""An in-memory git object store: blobs, trees and commits with git's real SHA-1s.

The sandbox's repositories are built from these objects, so every sha it hands
out (contents ``sha``, tree entries, commit oids) is the one git itself would
compute for the same content, and the git data API behaves like GitHub's.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

FILE_MODE = "100644"
EXECUTABLE_MODE = "100755"
SYMLINK_MODE = "120000"
TREE_MODE = "040000"
SUBMODULE_MODE = "160000"


@dataclass(frozen=True)
class Blob:
    data: bytes


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: str
    sha: str

    @property
    def type(self) -> str:
        if self.mode == TREE_MODE:
            return "tree"
        return "commit" if self.mode == SUBMODULE_MODE else "blob"


@dataclass(frozen=True)
class Tree:
    entries: tuple[TreeEntry, ...]


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    date: datetime

    def raw(self) -> str:
        return f"{self.name} <{self.email}> {int(self.date.timestamp())} +0000"


@dataclass(frozen=True)
class Commit:
    tree: str
    parents: tuple[str, ...]
    message: str
    author: Signature
    committer: Signature


GitObject = Blob | Tree | Commit


def _hash(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body, usedforsecurity=False).hexdigest()


def _tree_sort_key(entry: TreeEntry) -> bytes:
    # git orders a tree's entries by name, comparing a subtree's name as if it ended in "/".
    suffix = "/" if entry.mode == TREE_MODE else ""
    return (entry.name + suffix).encode()


def _tree_body(tree: Tree) -> bytes:
    mode_text = {TREE_MODE: "40000"}
    return b"".join(
        f"{mode_text.get(e.mode, e.mode)} {e.name}\0".encode() + bytes.fromhex(e.sha)
        for e in tree.entries
    )


def _commit_body(commit: Commit) -> bytes:
    lines = [f"tree {commit.tree}"]
    lines += [f"parent {parent}" for parent in commit.parents]
    lines += [f"author {commit.author.raw()}", f"committer {commit.committer.raw()}", ""]
    return ("\n".join(lines) + "\n" + commit.message).encode()


@dataclass
class ObjectStore:
    """Content-addressed storage shared by every repository of a sandbox."""

    objects: dict[str, GitObject] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def put_blob(self, data: bytes) -> str:
        sha = _hash("blob", data)
        self.objects.setdefault(sha, Blob(data))
        return sha

    def put_tree(self, entries: list[TreeEntry]) -> str:
        tree = Tree(tuple(sorted(entries, key=_tree_sort_key)))
        sha = _hash("tree", _tree_body(tree))
        self.objects.setdefault(sha, tree)
        return sha

    def put_commit(self, commit: Commit) -> str:
        sha = _hash("commit", _commit_body(commit))
        self.objects.setdefault(sha, commit)
        return sha

    def get(self, sha: str) -> GitObject | None:
        return self.objects.get(sha)

    def blob(self, sha: str) -> Blob | None:
        found = self.objects.get(sha)
        return found if isinstance(found, Blob) else None

    def tree(self, sha: str) -> Tree | None:
        found = self.objects.get(sha)
        return found if isinstance(found, Tree) else None

    def commit(self, sha: str) -> Commit | None:
        found = self.objects.get(sha)
        return found if isinstance(found, Commit) else None

    def size(self, sha: str) -> int:
        found = self.objects.get(sha)
        if isinstance(found, Blob):
            return len(found.data)
        if isinstance(found, Tree):
            return len(_tree_body(found))
        return len(_commit_body(found)) if isinstance(found, Commit) else 0

    def tree_from_files(self, files: Mapping[str, bytes]) -> str:
        """Build nested trees from ``{"dir/file": bytes}`` and return the root tree's sha."""
        nested: dict[str, object] = {}
        for path, data in files.items():
            node = nested
            *folders, name = path.strip("/").split("/")
            for folder in folders:
                child = node.setdefault(folder, {})
                assert isinstance(child, dict), f"{path}: a file is in the way"
                node = child
            node[name] = data
        return self._write_nested(nested)

    def _write_nested(self, node: Mapping[str, object]) -> str:
        entries = []
        for name, value in node.items():
            if isinstance(value, bytes):
                entries.append(TreeEntry(name, FILE_MODE, self.put_blob(value)))
            else:
                assert isinstance(value, Mapping)
                entries.append(TreeEntry(name, TREE_MODE, self._write_nested(value)))
        return self.put_tree(entries)

    def walk(self, tree_sha: str, prefix: str = "") -> Iterator[tuple[str, TreeEntry]]:
        """Every entry under a tree, depth first, with its full path."""
        tree = self.tree(tree_sha)
        if tree is None:
            return
        for entry in tree.entries:
            path = f"{prefix}{entry.name}"
            yield path, entry
            if entry.mode == TREE_MODE:
                yield from self.walk(entry.sha, path + "/")

    def files(self, tree_sha: str | None) -> dict[str, TreeEntry]:
        """Every non-tree entry under a tree, by full path."""
        if tree_sha is None:
            return {}
        return {path: e for path, e in self.walk(tree_sha) if e.mode != TREE_MODE}

    def tree_of(self, commit_sha: str | None) -> str | None:
        found = self.commit(commit_sha) if commit_sha else None
        return found.tree if found else None

    def ancestors(self, sha: str) -> set[str]:
        """``sha`` and every commit reachable from it."""
        seen: set[str] = set()
        todo = [sha]
        while todo:
            current = todo.pop()
            found = self.commit(current)
            if current in seen or found is None:
                continue
            seen.add(current)
            todo.extend(found.parents)
        return seen

    def merge_base(self, one: str, other: str) -> str | None:
        """The nearest commit of ``other``'s history that ``one`` also contains."""
        reachable = self.ancestors(one)
        queue, seen = deque([other]), set()
        while queue:
            current = queue.popleft()
            if current in reachable:
                return current
            found = self.commit(current)
            if current not in seen and found is not None:
                seen.add(current)
                queue.extend(found.parents)
        return None

    def three_way(self, base: str | None, ours: str, theirs: str) -> str | None:
        """Merge two trees file by file; None when both sides changed a file differently."""
        old, left, right = self.files(base), self.files(ours), self.files(theirs)
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
        return self.with_changes(None, kept)

    def entry_at(self, tree_sha: str, path: str) -> TreeEntry | None:
        """The tree entry at ``path`` ("" or "/" is the root itself, as a tree entry)."""
        parts = [part for part in path.strip("/").split("/") if part]
        if not parts:
            return TreeEntry("", TREE_MODE, tree_sha)
        current: TreeEntry | None = None
        sha = tree_sha
        for part in parts:
            tree = self.tree(sha)
            if tree is None:
                return None
            current = next((e for e in tree.entries if e.name == part), None)
            if current is None:
                return None
            sha = current.sha
        return current

    def with_changes(self, base_tree: str | None, changes: Mapping[str, TreeEntry | None]) -> str:
        """A new root tree: ``base_tree`` with entries set (or removed, for None) by path."""
        root: dict[str, object] = self._as_nested(base_tree) if base_tree else {}
        for path, entry in changes.items():
            *folders, name = path.strip("/").split("/")
            node = root
            for folder in folders:
                child = node.get(folder)
                if not isinstance(child, dict):
                    child = {}
                    node[folder] = child
                node = child
            if entry is None:
                node.pop(name, None)
            else:
                node[name] = TreeEntry(name, entry.mode, entry.sha)
        return self._write_entries(root)

    def _as_nested(self, tree_sha: str) -> dict[str, object]:
        tree = self.tree(tree_sha)
        result: dict[str, object] = {}
        for entry in tree.entries if tree else ():
            result[entry.name] = self._as_nested(entry.sha) if entry.mode == TREE_MODE else entry
        return result

    def _write_entries(self, node: dict[str, object]) -> str:
        entries = []
        for name, value in node.items():
            if isinstance(value, dict):
                if value:  # git has no empty trees inside a commit
                    entries.append(TreeEntry(name, TREE_MODE, self._write_entries(value)))
            else:
                assert isinstance(value, TreeEntry)
                entries.append(value)
        return self.put_tree(entries)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
