"""One error type per failure class, each with a message a user can act on.

The CLI maps every ``PipfleetError`` to a one-line message and a non-zero exit;
anything else reaching the top is a bug and keeps its traceback.
"""

from __future__ import annotations


class PipfleetError(Exception):
    """Base of every error pipfleet reports to a user."""

    exit_code = 2


class ConfigError(PipfleetError):
    """The configuration file or the environment is missing a key or has a bad value."""


class UsageError(PipfleetError):
    """A command was called with arguments that cannot work."""


class PipfileError(PipfleetError):
    """A Pipfile could not be read or is not valid TOML / not a valid Pipfile."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{self.message} ({where})"


class ListingError(PipfleetError):
    """The private-package listing file is unreadable or malformed."""


class FixError(PipfleetError):
    """A Pipfile needs a fix that cannot be made with the information given."""


class RewriteError(PipfleetError):
    """A rewrite produced text that does not mean what it should; nothing was written."""


class GitHubError(PipfleetError):
    """GitHub refused or failed a request; the message says which and what to do."""

    exit_code = 3


class RateLimited(GitHubError):
    """GitHub's rate limit (primary or secondary) stopped the requests."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class IncompleteAnswer(GitHubError):
    """GitHub answered with an empty or cut body, or without fields its API always sends."""


class NotFound(GitHubError):
    """The organisation, repository or object does not exist, or the token cannot see it."""


# Configuration problems found by asking: the run cannot start, and retrying cannot help
# until someone changes the configuration or the credentials, so they exit 2, not 3.


class Unauthorized(GitHubError):
    """GitHub refused the credentials (401), or their access to the org (403 FORBIDDEN)."""

    exit_code = 2


class UnknownOrganization(NotFound):
    """The configured org does not exist, or the credentials cannot see it."""

    exit_code = 2


class RegistryError(PipfleetError):
    """CodeArtifact or the public package index failed in a way the run cannot work around."""

    exit_code = 3


class RegistryAccessError(RegistryError):
    """No AWS credentials, credentials CodeArtifact refuses, or no such domain or repository."""

    exit_code = 2


class ImplausibleChange(PipfleetError):
    """What the registries or GitHub report shrank too much to act on without a human's word."""

    exit_code = 3


class SafetyLimit(PipfleetError):
    """A run reached a blast-radius limit (such as closures per run) and stopped."""

    exit_code = 3


class Interrupted(PipfleetError):
    """The run was stopped by a signal (SIGTERM, SIGINT); it released what it held."""

    exit_code = 3


class StoreError(PipfleetError):
    """The database could not be opened, migrated or written."""


class LockHeld(PipfleetError):
    """Another pipfleet run holds the database's run lock."""

    exit_code = 4
