"""pipfleet: audit and fix a fleet of Pipfiles so private packages resolve from CodeArtifact.

``pipfleet.__version__`` is the installed package's version, which pyproject.toml's
``version`` sets: there is no second copy to keep in step. It is read on first use, not at
import, because importlib.metadata would add to every ``pipfleet check`` (a pre-commit
hook's) start. Where no metadata exists (the source tree on ``PYTHONPATH``, never
installed), it is ``UNKNOWN_VERSION``.
"""

from functools import cache

# PEP 440, so whatever parses versions still can; it sorts before every release.
UNKNOWN_VERSION = "0+unknown"


@cache
def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pipfleet")
    except PackageNotFoundError:
        return UNKNOWN_VERSION


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
