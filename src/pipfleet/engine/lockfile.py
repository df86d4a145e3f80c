"""Bring a Pipfile.lock along with its rewritten Pipfile, without relocking. Pure.

The fix only adds ``index`` to entries and, maybe, appends a ``[[source]]``: the
locked versions and hashes stay right, so the lock needs the same ``index`` on
those entries, the new source in ``_meta.sources`` and the new Pipfile's hash,
and then ``pipenv verify`` and ``pipenv install --deploy`` accept it.

``_meta.hash.sha256`` is computed the way the pipenv that wrote the lock does
it (see ``HashScheme``), and the JSON is written as pipenv writes it, so a lock
rewritten with no change is byte for byte the lock pipenv wrote.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from pipfleet.engine.limits import check_text
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import package_name
from pipfleet.errors import FixError, PipfileError

# What plette.Pipfile.load prepends to a Pipfile without [[source]] before hashing.
_DEFAULT_SOURCES = ({"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True},)
# plette's PIPFILE_SECTIONS plus the lock's own section names: every other
# top-level table is a package category of its own in the hash.
_NOT_CATEGORIES = frozenset(
    {"source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv"}
    | {"default", "develop"}
)
_LOCK_SECTIONS = {"packages": "default", "dev-packages": "develop"}
_BOM = "\ufeff"


class HashScheme(StrEnum):
    """How a pipenv release computes ``_meta.hash.sha256``."""

    LEGACY = "legacy"  # package keys as written: plette's Pipfile.get_hash, pipenv < 2026.4
    CANONICAL = "canonical"  # keys PEP 503-normalised first: pipenv >= 2026.4


@dataclass(frozen=True)
class Rehashed:
    """A lock entry whose hashes were replaced with the files CodeArtifact holds."""

    section: str
    key: str
    version: str  # "2.5.1"
    before: int  # how many hashes the lock had
    foreign: int  # how many of them CodeArtifact does not have
    after: int  # how many CodeArtifact has (what the lock has now)


@dataclass(frozen=True)
class LockUpdate:
    text: str | None  # None when the lock is stale (or needs relocking) and is left untouched
    scheme: HashScheme | None
    stale: bool
    changed_entries: tuple[str, ...]  # "section/key" of each lock entry whose index changed
    rehashed: tuple[Rehashed, ...] = ()
    # "section/key==version" of private entries whose version CodeArtifact does not have
    # (their hashes are left alone: run pipenv lock), or "section/key" of an added
    # entry the lock does not hold (then the whole lock is left alone).
    relock: tuple[str, ...] = ()


def pipfile_hash(data: Mapping[str, Any], scheme: HashScheme) -> str:
    """``_meta.hash.sha256`` of a lock for the Pipfile tomllib parsed into ``data``."""

    def keys(section: Any) -> Any:
        if scheme is HashScheme.LEGACY or not isinstance(section, Mapping):
            return section
        # The whole key, extras included: pipenv canonicalises "Foo[Bar]" to "foo[bar]".
        return {canonicalize_name(key): value for key, value in section.items()}

    content: dict[str, Any] = {
        "_meta": {
            "sources": data.get("source", list(_DEFAULT_SOURCES)),
            "requires": data.get("requires", {}),
        },
        "default": keys(data.get("packages", {})),
        "develop": keys(data.get("dev-packages", {})),
    }
    for category, section in data.items():
        if category not in _NOT_CATEGORIES:
            content[category] = keys(section)
    try:
        serialised = json.dumps(content, sort_keys=True, separators=(",", ":"))
    except TypeError:  # tomllib's dates and times: pipenv cannot hash them either
        raise PipfileError(
            "the Pipfile holds a date or time, which no Pipfile.lock hash covers"
        ) from None
    return hashlib.sha256(serialised.encode("utf-8")).hexdigest()


def detect_scheme(lock_text: str, old_pipfile_data: Mapping[str, Any]) -> HashScheme | None:
    """The scheme that wrote the lock's hash for ``old_pipfile_data``; None if the lock is stale.

    Both match only when every package key is already canonical. The fix changes
    no key, so both schemes then give the new Pipfile the same hash too, and the
    choice cannot matter; CANONICAL names what current pipenv would write.
    """
    return _detect(_load(lock_text), old_pipfile_data)


def update_lock(
    lock_text: str,
    old_pipfile_data: Mapping[str, Any],
    new_pipfile_data: Mapping[str, Any],
    index_name: str,
    pinned: Iterable[tuple[str, str]],
    added_source: Mapping[str, Any] | None = None,
    added: Iterable[tuple[str, str]] = (),
    listing: Listing | None = None,
) -> LockUpdate:
    """The lock for ``new_pipfile_data``, which is ``old_pipfile_data`` plus the fix.

    ``pinned`` holds the (Pipfile category, package key as written) of each entry
    the fix gave ``index = index_name``; ``added_source`` the [[source]] it
    appended, if any; ``added`` the (category, key) of each entry the fix added
    as ``{version = "*", index = index_name}`` (a private dependency the lock
    already holds: it gains the ``index`` and keeps its locked version).

    With a ``listing``, lock entries of private packages installed from
    ``index_name`` (after the fix) whose locked version has known files get
    those files' hashes, sorted as pipenv writes them: the entries the fix
    pinned or added, and any whose hashes are not all CodeArtifact's. One whose
    version the listing does not have is left alone and named in ``relock``.

    A lock whose hash matches the old Pipfile under neither scheme is stale: it is
    returned as None, since making it look current would hide that it needs
    ``pipenv lock``. Raises PipfileError when the lock is not
    a JSON object (or is past the bounds of ``limits``), or the Pipfile holds a
    value the hash cannot cover or a source URL that does not parse; FixError
    when the updated lock could not be installed (see ``_check_indexes_kept``)
    and ValueError when the new Pipfile is not the old one plus exactly that fix.
    """
    lock = _load(lock_text)
    scheme = _detect(lock, old_pipfile_data)
    if scheme is None:
        return LockUpdate(text=None, scheme=None, stale=True, changed_entries=())
    pinned, added = list(pinned), list(added)
    _check_only_the_fix(old_pipfile_data, new_pipfile_data, index_name, pinned, added_source, added)

    changed: list[str] = []
    missing: list[str] = []
    touched: set[tuple[str, str]] = set()
    for category, key in [*pinned, *added]:
        section_name = _LOCK_SECTIONS.get(category, category)
        section = lock.get(section_name)
        found = False
        name = package_name(key)
        for lock_key, entry in section.items() if isinstance(section, dict) else ():
            if package_name(lock_key) != name:
                continue
            if not isinstance(entry, dict):
                raise PipfileError(
                    f"Pipfile.lock: {section_name} entry {lock_key!r} is not a JSON object"
                )
            found = True
            touched.add((section_name, lock_key))
            if entry.get("index") != index_name:
                entry["index"] = index_name
                changed.append(f"{section_name}/{lock_key}")
        if not found and (category, key) in added:
            missing.append(f"{section_name}/{key}")
    if missing:
        # The new Pipfile lists a package this lock never resolved: only pipenv lock can say.
        return LockUpdate(None, scheme, False, (), relock=tuple(missing))
    rehashed, relock = (
        _rehash(lock, index_name, listing, touched) if listing is not None else ((), ())
    )

    meta = lock["_meta"]
    old_sources = meta.get("sources")
    old_sources = old_sources if isinstance(old_sources, list) else []
    meta["sources"] = [_lock_source(s, old_sources) for s in _sources(new_pipfile_data)]
    _check_indexes_kept(lock, old_sources, meta["sources"])
    meta["hash"] = {**meta["hash"], "sha256": pipfile_hash(new_pipfile_data, scheme)}
    return LockUpdate(
        text=dump_lock(lock, like=lock_text),
        scheme=scheme,
        stale=False,
        changed_entries=tuple(changed),
        rehashed=rehashed,
        relock=relock,
    )


def _rehash(
    lock: dict[str, Any], index_name: str, listing: Listing, touched: set[tuple[str, str]]
) -> tuple[tuple[Rehashed, ...], tuple[str, ...]]:
    """Give private entries from ``index_name`` CodeArtifact's hashes for their version.

    An entry the fix pinned or added gets all of the version's files; any other only
    when one of its hashes is foreign (a lock may hold a subset of the files).
    """
    rehashed: list[Rehashed] = []
    relock: list[str] = []
    # An entry without "index" installs from the first source: the private one, maybe.
    sources = lock["_meta"].get("sources")
    first = sources[0] if isinstance(sources, list) and sources else None
    default = first.get("name") if isinstance(first, Mapping) else None
    for section_name, section in lock.items():
        if section_name == "_meta" or not isinstance(section, dict):
            continue
        for key, entry in section.items():
            if not isinstance(entry, dict) or entry.get("index", default) != index_name:
                continue
            raw, hashes = entry.get("version"), entry.get("hashes")
            if package_name(key) not in listing or not isinstance(hashes, list):
                continue
            if not isinstance(raw, str) or not raw.startswith("==") or raw.startswith("==="):
                continue
            version = raw[2:].strip()
            if not version:
                continue
            if listing.known_version(key, version) is False:
                relock.append(f"{section_name}/{key}=={version}")
                continue
            files = listing.hashes_of(package_name(key), version)
            if not files:
                continue
            new = sorted(files)  # pipenv writes sorted(set(hashes))
            if hashes == new:
                continue
            foreign = sum(1 for h in hashes if not isinstance(h, str) or h.lower() not in files)
            if not foreign and (section_name, key) not in touched:
                continue
            entry["hashes"] = new
            rehashed.append(Rehashed(section_name, key, version, len(hashes), foreign, len(new)))
    return tuple(rehashed), tuple(relock)


def _load(lock_text: str) -> dict[str, Any]:
    try:
        check_text(lock_text)
    except PipfileError as exc:
        raise PipfileError(
            f"Pipfile.lock cannot be read: {exc.message}", line=exc.line, column=exc.column
        ) from None
    try:
        # pipenv reads locks as utf-8-sig, so a byte order mark is no error.
        lock = json.loads(lock_text.removeprefix(_BOM))
    except json.JSONDecodeError as exc:
        raise PipfileError(
            f"Pipfile.lock is not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    if not isinstance(lock, dict):
        raise PipfileError("Pipfile.lock is not a JSON object")
    return lock


def _detect(lock: Mapping[str, Any], old_pipfile_data: Mapping[str, Any]) -> HashScheme | None:
    meta = lock.get("_meta")
    stored = meta.get("hash") if isinstance(meta, Mapping) else None
    digest = stored.get("sha256") if isinstance(stored, Mapping) else None
    if not isinstance(digest, str):
        return None
    for scheme in (HashScheme.CANONICAL, HashScheme.LEGACY):
        if pipfile_hash(old_pipfile_data, scheme) == digest:
            return scheme
    return None


def _sources(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    sources = data.get("source", list(_DEFAULT_SOURCES))
    return [sources] if isinstance(sources, Mapping) else list(sources)


def _check_only_the_fix(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    index_name: str,
    pinned: list[tuple[str, str]],
    added_source: Mapping[str, Any] | None,
    added: Sequence[tuple[str, str]] = (),
) -> None:
    """A new hash vouches for the locked versions: refuse unless only the fix changed."""
    expected = {name: value for name, value in old.items() if name != "source"}
    for category, key in added:
        section = expected.get(category, {})
        if key in section:
            raise ValueError(f"[{category}] {key} is added but already in the old Pipfile")
        expected[category] = {**section, key: {"version": "*", "index": index_name}}
    for category, key in pinned:
        value = expected.get(category, {}).get(key)
        if value is None:
            raise ValueError(f"[{category}] {key} is pinned but not in the old Pipfile")
        value = {"version": value} if isinstance(value, str) else dict(value)
        expected[category] = {**expected[category], key: {**value, "index": index_name}}
    new_rest = {name: value for name, value in new.items() if name != "source"}
    # As pipenv reads them: a Pipfile without [[source]] has pypi, which the fix writes
    # out before the source it adds.
    old_sources, new_sources = _sources(old), _sources(new)
    appended = new_sources[len(old_sources) :]
    if (
        new_rest != expected
        or new_sources[: len(old_sources)] != old_sources
        or (added_source is not None and appended != [added_source])
    ):
        raise ValueError(
            "the new Pipfile differs from the old one by more than the given pins and "
            "source: its hash would vouch for a lock that was never resolved for it"
        )


def _check_indexes_kept(
    lock: Mapping[str, Any], old_sources: list[Any], new_sources: list[Mapping[str, Any]]
) -> None:
    """Refuse a lock whose entries name a source the new Pipfile dropped.

    pipenv installs each entry from the source its ``index`` names, looked up in
    ``_meta.sources`` and then the Pipfile; a missing one stops ``pipenv install
    --deploy`` ("Unable to find pypi in sources"). This happens when a Pipfile
    without [[source]], which pipenv reads as the implicit "pypi", gains one.
    """
    dropped = _source_names(old_sources) - _source_names(new_sources)
    lost = sorted(
        {
            index
            for section, entries in lock.items()
            if section != "_meta" and isinstance(entries, Mapping)
            for entry in entries.values()
            if isinstance(entry, Mapping)
            and isinstance(index := entry.get("index"), str)
            and index in dropped
        }
    )
    if lost:
        raise FixError(
            f"Pipfile.lock installs packages from index {', '.join(map(repr, lost))}, which the "
            "fixed Pipfile no longer defines: pipenv install --deploy would fail; relock instead"
        )


def _source_names(sources: Iterable[Any]) -> set[str]:
    """The names of ``sources``; a lock's JSON may hold anything where a name belongs."""
    return {
        name
        for source in sources
        if isinstance(source, Mapping) and isinstance(name := source.get("name"), str)
    }


def _lock_source(source: Mapping[str, Any], old_sources: list[Any]) -> Mapping[str, Any]:
    """The lock's entry for a Pipfile source: the old one if it agrees, else as pipenv fills it."""
    for old in old_sources:
        if isinstance(old, Mapping) and all(old.get(k) == v for k, v in source.items()):
            return old
    # pipenv's Sources.populate_source: a name from the host, verify_ssl from the scheme.
    url = str(source.get("url", ""))
    try:
        host = urlsplit(url).hostname
    except ValueError:
        raise PipfileError("a [[source]] URL does not parse: pipenv cannot use it") from None
    filled = dict(source)
    filled.setdefault("name", host)
    verify = filled.get("verify_ssl", "https://" in url)
    filled["verify_ssl"] = verify if isinstance(verify, bool) else str(verify).lower() == "true"
    return filled


def dump_lock(lock: Mapping[str, Any], like: str = "") -> str:
    """``lock`` as pipenv's _LockFileEncoder and Lockfile.write put it on disk.

    pipenv rewrites a lock with the one newline style it read from it
    (universal-newline ``f.newlines``), or "\\n" when it read several or none;
    ``like`` is that lock's text. A byte order mark in it is kept too: pipenv
    reads one without complaint, and dropping it would be a change of its own.
    """
    text = json.dumps(lock, indent=4, separators=(",", ": "), sort_keys=True) + "\n"
    lone = like.replace("\r\n", "")
    counts = (("\r\n", like.count("\r\n")), ("\r", lone.count("\r")), ("\n", lone.count("\n")))
    styles = [style for style, count in counts if count]
    newline = styles[0] if len(styles) == 1 else "\n"
    bom = _BOM if like.startswith(_BOM) else ""
    return bom + text.replace("\n", newline)
