"""What each finding kind means for the person who meets it: why it matters, what to do. Pure.

A finding's message says what was found in one file; this says why that matters and how
to fix it, in the words of docs/integration-guides/codeartifact.md, so that an assistant
answering "why does pipenv lock fail?" repeats the organisation's guidance, not a guess.
``assert_never`` keeps a new finding kind from going without guidance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from pipfleet.engine.findings import (
    FIXABLE_KINDS,
    NONCOMPLIANT_KINDS,
    REQUIREMENTS_FIXABLE_KINDS,
    FindingKind,
)

_PINNED = 'index = "codeartifact"'
_PIPENV_ONE_INDEX = (
    "pipenv looks for each package on exactly one index: the one its entry names with "
    "`index`, else the first [[source]] (public PyPI in our Pipfiles). "
)
_CONFUSION = (
    "Anyone can publish a package with a private package's name to public PyPI, and a "
    "Pipfile that looks for it there installs that code on laptops and in CI without an "
    "error (dependency confusion)."
)


@dataclass(frozen=True)
class Guidance:
    kind: str
    severity: str  # the kind's usual severity (confusion-risk is critical when unpinned)
    breaks_compliance: bool  # whether the repository itself must change to be compliant
    fixed_by_pull_request: bool  # whether pipfleet's fix pull request (and check --fix) fixes it
    why: str
    what_to_do: str


def _texts(kind: FindingKind) -> tuple[str, str]:
    """(why, what to do) for one kind."""
    match kind:
        case FindingKind.MISSING_INDEX:
            return (
                _PIPENV_ONE_INDEX + "A private package without `index` is looked for on PyPI: "
                "`pipenv lock` fails with 'No matching distribution found', or, worse, installs "
                "a public package of the same name. " + _CONFUSION + " Where the private source "
                "is the first source, pipenv finds the package there and the finding is only "
                "info: it relies on the order of the sources.",
                f"Write the entry as a table with {_PINNED} (e.g. `orb-common = "
                f'{{version = "==2.1.0", {_PINNED}}}`), or run `pipfleet check --fix`, or merge '
                "pipfleet's pull request. Then `pipenv lock` and commit Pipfile and Pipfile.lock "
                "together.",
            )
        case FindingKind.WRONG_INDEX:
            return (
                _PIPENV_ONE_INDEX + "This private package names another source, which does not "
                "hold our private packages (or holds look-alikes). " + _CONFUSION,
                f"Change the entry's index to {_PINNED} (`pipfleet check --fix` does it), run "
                "`pipenv lock` and commit Pipfile and Pipfile.lock together.",
            )
        case FindingKind.UNDEFINED_INDEX:
            return (
                "The entry's `index` names no [[source]] of the Pipfile: pipenv cannot resolve "
                "it and `pipenv lock` fails.",
                f"For a private package use {_PINNED} and make sure the codeartifact "
                "[[source]] exists (`pipfleet check --fix` does both for private packages); for "
                "another package, add the source it names or remove the `index`.",
            )
        case FindingKind.MISSING_SOURCE:
            return (
                "The Pipfile uses private packages but has no CodeArtifact [[source]], so no "
                "entry can name it and pipenv can only look on PyPI.",
                "Add the codeartifact source after the PyPI one, with the URL reading "
                "`${CODEARTIFACT_AUTH_TOKEN}` (never a literal token), and pin each private "
                "package to it; `pipfleet check --fix --source-url URL` and pipfleet's pull "
                "request add it.",
            )
        case FindingKind.VERSION_NOT_FOUND:
            return (
                "The exact version pinned (in the Pipfile or locked in Pipfile.lock) is not in "
                "CodeArtifact, so `pipenv lock` or `pipenv install --deploy` cannot get it from "
                "there; a lock holding it was resolved from somewhere else.",
                "Pin a version CodeArtifact has (`package_usage` lists them), e.g. `pipenv "
                'install --index codeartifact "orb-common==2.1.0"`, or publish the missing '
                "version; then `pipenv lock` and commit both files.",
            )
        case FindingKind.FOREIGN_HASHES:
            return (
                "Pipfile.lock holds files for a private version that CodeArtifact does not "
                "have: the lock was resolved from another index, probably public PyPI, and "
                "every install from it installed that index's file, possibly an impostor that "
                "ran its own code at install time.",
                "Replace the lock's hashes with CodeArtifact's (pipfleet's pull request does; "
                "or pin the entry to the codeartifact index and run `pipenv lock` with the "
                "token set). Then find out what was installed since the lock changed (`git "
                "log -p Pipfile.lock`), check those machines, rotate what they could reach and "
                "tell the security team.",
            )
        case FindingKind.PRIVATE_TRANSITIVE:
            return (
                "A private package arrives as a dependency of another, but the Pipfile does "
                "not list it: pipenv looks for every unlisted package on the first source "
                "(PyPI), where the lock fails or an impostor is installed.",
                f'List it with {_PINNED} in [packages], e.g. `orb-common = {{version = "*", '
                f"{_PINNED}}}` (the version stays the one its dependant requires); `pipfleet "
                "check --fix` and pipfleet's pull request add it.",
            )
        case FindingKind.CONFUSION_RISK:
            return (
                "The private package's name exists on public PyPI. " + _CONFUSION + " It is "
                "critical where the entry is not pinned to the codeartifact index.",
                f"Pin every use of the package with {_PINNED} (`pipfleet check --fix`), and "
                "ask the package's owners whether the public name should be claimed or the "
                "package renamed.",
            )
        case FindingKind.NAME_CLAIMABLE:
            return (
                "The private name is free on public PyPI: anyone could publish it there, and "
                "every Pipfile that looks for it on PyPI would install their code.",
                f"Keep every use pinned with {_PINNED}; the package's owners may register a "
                "placeholder on PyPI to hold the name.",
            )
        case FindingKind.ORIGIN_DRIFT:
            return (
                "CodeArtifact's origin settings let upstream (public) versions of this internal "
                "package in, so CodeArtifact itself could serve a public look-alike.",
                "Block upstream versions for the package: `aws codeartifact "
                "put-package-origin-configuration ... --package NAME --restrictions "
                "publish=ALLOW,upstream=BLOCK` (docs/integration-guides/codeartifact.md).",
            )
        case FindingKind.HARDCODED_CREDENTIAL:
            return (
                "A source URL holds a literal password or token: everyone who can read the "
                "repository can use it, and it stays in the Git history.",
                "Replace it with `${CODEARTIFACT_AUTH_TOKEN}` (user `aws`), and treat the token "
                "as leaked: it stays valid until it expires (up to 12 hours) unless the "
                "permissions of the identity that requested it are withdrawn.",
            )
        case FindingKind.INSECURE_SOURCE:
            return (
                "A source uses plain http or `verify_ssl = false`: anyone on the network path "
                "can serve any package, and read any credential sent.",
                "Use the https URL and `verify_ssl = true` on every source.",
            )
        case FindingKind.PUBLIC_FIRST:
            return (
                "For information: public PyPI is the default (first) source, so every package "
                "without `index` comes from it. That is the intended layout, and why every "
                "private package needs its index.",
                f"Nothing, as long as every private package carries {_PINNED}.",
            )
        case FindingKind.INDEX_NOT_EXPLICIT:
            return (
                "The private index is not reserved for the packages pinned to it: uv asks an "
                "index without `explicit = true` for every package, and Poetry asks a "
                "`supplemental` or `primary` source for packages that name no source. A typo "
                "or an upstream look-alike it serves gets installed, and a private source "
                "beside PyPI as `primary` lets either answer for a private name.",
                "uv: give the `[[tool.uv.index]]` entry `explicit = true` and pin each private "
                'package with `[tool.uv.sources] name = { index = "codeartifact" }`. Poetry: '
                'set the `[[tool.poetry.source]]` to `priority = "explicit"` and give each '
                'private dependency `source = "codeartifact"`. Then lock again and commit '
                "both files.",
            )
        case FindingKind.UNSAFE_INDEX_STRATEGY:
            return (
                '`index-strategy = "unsafe-best-match"` makes uv '
                "compare versions across every index, so a public package with a private "
                "name and a higher version wins. " + _CONFUSION,
                "Remove `index-strategy` (uv's default, `first-index`, stops at the first "
                "index that has the name) and pin private packages to the CodeArtifact index "
                "in `[tool.uv.sources]`.",
            )
        case FindingKind.EXTRA_INDEX_URL:
            return (
                "pip treats `--index-url` and every `--extra-index-url` as one pool and "
                "installs the highest version it finds in any of them: with CodeArtifact as "
                "an extra index beside PyPI, a public package with a private name and a "
                "higher version wins. " + _CONFUSION,
                "Make CodeArtifact the only index (`--index-url` with the CodeArtifact URL, "
                "no `--extra-index-url`) and let it reach PyPI through the repository's "
                "upstream (external connection), or move the project to a tool that pins a "
                "package to one index (pipenv, uv, Poetry).",
            )
        case FindingKind.NON_REGISTRY:
            return (
                "For information: the entry comes from git, a path, a file or a URL rather than "
                "an index, so no index rule applies to it.",
                "Nothing for pipfleet; prefer a published version from CodeArtifact where one "
                "exists.",
            )
        case FindingKind.PARSE_ERROR:
            return (
                "The Pipfile is not valid TOML or not a Pipfile, so pipenv cannot read it and "
                "pipfleet cannot judge its entries.",
                "Fix the file at the line and column given (a missing quote or bracket, a "
                "duplicate key), then check it again.",
            )
        case FindingKind.COMPLIANT:
            return (
                f"A private package correctly pinned with {_PINNED}: pipenv gets it from "
                "CodeArtifact only.",
                "Nothing. Keep the `index` when updating (`pipenv install --index codeartifact "
                '"pkg==x"`).',
            )
        case _:
            assert_never(kind)


def guidance(kind: FindingKind) -> Guidance:
    """The guidance for one finding kind."""
    why, what_to_do = _texts(kind)
    return Guidance(
        kind=kind.value,
        severity=kind.severity.label,
        breaks_compliance=kind in NONCOMPLIANT_KINDS,
        # Pipfiles, uv and Poetry always; a requirements file only where it settles the fix.
        fixed_by_pull_request=kind in FIXABLE_KINDS - REQUIREMENTS_FIXABLE_KINDS
        or kind is FindingKind.FOREIGN_HASHES,
        why=why,
        what_to_do=what_to_do,
    )
