"""The states pipfleet records: of a scan run, a repository's scan, a manifest (its status
and kind), a pull request.

Plain enums, apart from the tables that store them, so the pure parts (the fix plan, the
scan's results, the renderers) use them without loading the database layer. Their values
are what the database and the JSON outputs hold: never change one.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"  # finished, but some repositories failed
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process died (killed, or stopped by a signal)


class ScanStatus(StrEnum):
    FETCHED = "fetched"
    CARRIED = "carried"  # unchanged since the last successful scan: its state was copied
    FAILED = "failed"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    ARCHIVED = "archived"
    FORK = "fork"
    DISABLED = "disabled"
    EMPTY = "empty"
    EXCLUDED = "excluded"
    OPTED_OUT = "opted-out"


class PipfileStatus(StrEnum):
    OK = "ok"
    PARSE_ERROR = "parse-error"
    TOO_LARGE = "too-large"
    BINARY = "binary"
    TRUNCATED = "truncated"
    MISSING = "missing"


class ManifestKind(StrEnum):
    """Which installer reads a manifest, so which engine audits it."""

    PIPFILE = "pipfile"
    UV = "uv"
    POETRY = "poetry"
    REQUIREMENTS = "requirements"


class UpstreamPolicy(StrEnum):
    ALLOWED = "allowed"
    BLOCKED = "blocked"


class PullRequestState(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    DISMISSED = "dismissed"
    CLOSED = "closed"
    SUPERSEDED = "superseded"
    PENDING = "pending"
    CLOSING = "closing"  # being closed as fixed elsewhere: comment, close, delete the branch
