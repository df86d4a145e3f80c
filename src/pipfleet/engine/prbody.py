"""The fix pull request's title, body and comments. Pure.

Package names, specs, paths and branch names come from repositories, so each is shown
as a Markdown code span (``code``): readable as written, in the web page, in an email and
in raw text, and nothing a repository holds can break the table, start a link, mention a
user or inject HTML into what pipfleet posts.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from pipfleet.engine.fixset import ManifestFix, RehashedEntry, RepoFix
from pipfleet.engine.poetryproject import source_setting
from pipfleet.engine.requirementsrewrite import Proposal
from pipfleet.engine.uvproject import pinned_source
from pipfleet.safetext import mask_credentials, printable
from pipfleet.states import ManifestKind

MARKER_PREFIX = "<!-- pipfleet:fingerprint="
_MARKER = re.compile(r"<!-- pipfleet:fingerprint=([0-9a-f]{64}) -->")
# In the closing comment, so a run finishing an interrupted closure can tell it was posted.
CLOSE_MARKER = "<!-- pipfleet:closed -->"
_BACKTICKS = re.compile(r"`+")
# What the guide's URL keeps as written; the rest (parentheses, angle brackets, quotes,
# backticks...) is percent-encoded, so the link's destination ends where it should.
_URL_SAFE = "-._~:/?#[]@!$&'*+,;=%"
# GitHub refuses a body over 65,536 characters; the margin is for its own counting.
BODY_LIMIT = 60_000
# The most characters of paths one note lists; the rest are counted, not named.
_PATHS_LIMIT = 2_000
# The most characters of requirements changes shown; the rest are counted, not shown.
_PROPOSALS_LIMIT = 20_000


@dataclass(frozen=True)
class PullRequestText:
    title: str
    body: str


@dataclass(frozen=True)
class BodySettings:
    """What the body says about the organisation's setup, from the configuration."""

    index_name: str
    domain: str
    domain_owner: str
    region: str
    opt_out_topic: str
    opt_out_file: str
    guide_url: str | None = None  # without one, the body carries the guide's key points


def _fence(text: str, shortest: int) -> str:
    """The shortest run of backticks, at least ``shortest`` long, that ``text`` does not hold."""
    runs = {len(run) for run in _BACKTICKS.findall(text)}
    length = shortest
    while length in runs:
        length += 1
    return "`" * length


def code(text: str, *, in_table: bool = False) -> str:
    """``text`` as a Markdown code span, shown exactly as written (on one line).

    A code span holds no markup, link, mention or HTML. Its fence is a run of backticks
    the text does not hold, padded with a space where the text starts or ends with a
    backtick, or starts and ends with a space (CommonMark strips one of each). Line
    breaks and other control characters (bidi controls included) show as escapes. In a
    table, a pipe would end the cell even inside the span: GitHub reads ``\\|`` there
    as the pipe itself.
    """
    flat = printable(text) or " "
    if in_table:
        flat = flat.replace("|", "\\|")
    fence = _fence(flat, 1)
    padded = flat[0] == "`" or flat[-1] == "`" or (flat[0] == flat[-1] == " " and flat.strip())
    pad = " " if padded else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def fingerprint_in(body: str | None) -> str | None:
    match = _MARKER.search(body or "")
    return match.group(1) if match else None


def rebuilt_marker(fix: RepoFix) -> str:
    """In the rebuild comment, so a run repeating an interrupted rebuild comments once."""
    return f"<!-- pipfleet:rebuilt={fix.fingerprint} -->"


def rebuilt_comment(fix: RepoFix, default_branch: str, head_oid: str) -> str:
    """The comment on a fix pull request whose branch was rebuilt."""
    return (
        f"pipfleet rebuilt this branch on the current default branch, {code(default_branch)} "
        f"({code(head_oid[:7])}): the fix or the files under it changed. It now changes "
        f"{len(fix.changes)} file(s) and pins {len(fix.entries)} entr(y/ies).\n\n"
        f"{rebuilt_marker(fix)}"
    )


def closed_comment(default_branch: str) -> str:
    """The comment on a fix pull request closed because its fix is on the default branch."""
    return (
        f"The default branch, {code(default_branch)}, no longer needs this change: its "
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
    """Paths for a note, as many as fit in ``_PATHS_LIMIT``, then a count of the rest."""
    shown = [code(path) for path in paths]
    kept = _prefix(shown, _PATHS_LIMIT, ", ")
    more = len(shown) - len(kept)
    return ", ".join(kept) + (f" and {more:,} more" if more else "")


def _notes(fix: RepoFix, settings: BodySettings) -> list[str]:
    notes = []
    if fix.added_sources:
        notes.append(
            "- Added the private `[[source]]` to: "
            + _paths(fix.added_sources)
            + ". Its URL reads the token from `${CODEARTIFACT_AUTH_TOKEN}`; no token is stored."
        )
    pyprojects = {manifest.path for manifest in fix.manifests}
    if any(not entry.before and entry.path not in pyprojects for entry in fix.entries):
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
            "so `pipenv install --deploy` passes without relocking."
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
    if any(not entry.before and entry.path in pyprojects for entry in fix.entries):
        notes.append(
            "- Entries of a `pyproject.toml` shown as *not listed* are private packages that "
            "arrive as a dependency of another: uv and Poetry pin only a project's own "
            "dependencies to an index, so each is added to the dependencies, pinned."
        )
    notes.extend(_manifest_notes(fix.manifests, settings.index_name))
    return notes


def _variable(index_name: str) -> str:
    """An index name as uv and Poetry spell it in an environment variable's name."""
    return re.sub(r"[^A-Z0-9]", "_", index_name.upper())


def _credentials(kind: ManifestKind, index_name: str) -> str:
    """The environment variables uv or Poetry read an index's credentials from, as code."""
    name = _variable(index_name)
    prefix = "UV_INDEX" if kind is ManifestKind.UV else "POETRY_HTTP_BASIC"
    return f"{code(f'{prefix}_{name}_USERNAME')} and {code(f'{prefix}_{name}_PASSWORD')}"


def _manifest_notes(manifests: Sequence[ManifestFix], index_name: str) -> list[str]:
    """What the fix did to uv and Poetry projects beside their entries, and what is left to
    run; each note names its files as ``_paths`` does, so many projects stay in bounds."""
    notes = []
    for kind, table in (
        (ManifestKind.UV, "[[tool.uv.index]]"),
        (ManifestKind.POETRY, "[[tool.poetry.source]]"),
    ):
        if added := [m.path for m in manifests if m.kind is kind and m.added_index]:
            notes.append(
                f"- Added CodeArtifact as an explicit {code(table)}, which serves only the "
                f"packages pinned to it, to: {_paths(added)}. Its URL holds no credentials: "
                f"{kind.value} reads them from {_credentials(kind, index_name)} (the user "
                "`aws`, the password a CodeArtifact token)."
            )
    if updated := [m.lock for m in manifests if m.lock and m.lock_updated]:
        notes.append(
            f"- Updated {_paths(updated)} to match (each private package's "
            "`[package.source]` and the `content-hash`), so `poetry install` passes "
            "without locking again."
        )
    left = [m for m in manifests if m.lock and m.relock is not None]
    if uv := [m.lock for m in left if m.lock and m.kind is ManifestKind.UV]:
        # uvlock's docstring: the private files' URLs and sizes are not known here.
        notes.append(
            f"- Left {_paths(uv)} unchanged: uv writes the URL of each private package's "
            "files on CodeArtifact into it, which only `uv lock` can know. Until you run "
            "`uv lock` (with the credentials set as below) and commit the new lock, "
            "`uv sync --locked` refuses it."
        )
    if poetry := [f"{m.lock}: {m.relock}" for m in left if m.kind is ManifestKind.POETRY]:
        notes.append(
            f"- Left {_paths([mask_credentials(reason) for reason in poetry])} unchanged: "
            "run `poetry lock` (with the credentials set as below) and commit the new lock."
        )
    return notes


def _proposal_block(proposal: Proposal) -> str:
    """One requirements change as a fenced block: why, then each line as written (-) and
    as it would read (+); nothing in a code block is markup."""
    lines = [f"# {line}" for line in textwrap.wrap(mask_credentials(proposal.summary), 86)]
    for change in proposal.changes:
        lines.append(f"{change.file}:{change.line}")
        lines += [f"- {line}" for line in change.before]
        lines += [f"+ {line}" for line in change.after]
    block = printable(mask_credentials("\n".join(lines)), multiline=True)
    fence = _fence(block, 3)
    return f"{fence}diff\n{block}\n{fence}"


def _requirements(fix: RepoFix) -> str:
    """The section on requirements installs: the changes made, then those only proposed."""
    installs = [m for m in fix.manifests if m.kind is ManifestKind.REQUIREMENTS]
    if not installs:
        return ""
    parts, used, omitted = [], 0, 0
    for install in installs:
        for proposals, what in ((install.applied, "Changed"), (install.proposals, "Proposed")):
            for proposal in proposals:
                part = f"{what} for {code(f'pip install -r {install.path}')}:\n\n"
                part += _proposal_block(proposal)
                used += len(part)
                if used > _PROPOSALS_LIMIT:
                    omitted += 1
                else:
                    parts.append(part)
    if omitted:
        parts.append(f"{omitted:,} more change(s) not shown, to keep this description short.")
    return f"""## Requirements files

pip asks every index it is given for every name and installs the best version it finds,
so a private package listed beside an `--extra-index-url` may come from PyPI. The
changes marked *Proposed* are not in this pull request: each needs a decision only this
project can make.

{chr(10).join(f"{part}{chr(10)}" for part in parts)}
"""


def _rehashed_row(entry: RehashedEntry) -> str:
    version = code(f"=={entry.version}", in_table=True)
    if entry.foreign:
        before = (
            f"{version}: {entry.before} hash(es), {entry.foreign} not CodeArtifact's "
            "(resolved from another index)"
        )
    else:
        before = f"{version}: {entry.before} of CodeArtifact's hash(es)"
    after = f"{version}: hashes replaced with CodeArtifact's {entry.after} file(s)"
    return _row(entry.path, entry.section, entry.package, before, after)


def _row(path: str, category: str, package: str, before: str, after: str) -> str:
    """A change table row: the first three cells as written, the last two already Markdown."""
    cells = (code(path, in_table=True), code(category, in_table=True), code(package, in_table=True))
    return f"| {' | '.join(cells)} | {before} | {after} |"


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
    """The fix commit's message: the title, then each entry pinned, each lock entry given
    CodeArtifact's files, each index added and each requirements file changed (a fix
    without entries names what it changed too)."""
    lines = [title, ""]
    if fix.entries:
        pinned = sorted({f"{e.package} ({e.path})" for e in fix.entries})
        lines.append("Pinned by pipfleet: " + ", ".join(pinned))
    if fix.rehashed:
        rehashed = sorted({f"{e.package}=={e.version} ({e.path})" for e in fix.rehashed})
        lines.append("CodeArtifact's hashes for: " + ", ".join(rehashed))
    if fix.added_sources:
        lines.append("Source added to: " + ", ".join(sorted(set(fix.added_sources))))
    if added := sorted({m.path for m in fix.manifests if m.added_index}):
        lines.append("CodeArtifact index added to: " + ", ".join(added))
    changed = {c.file for m in fix.manifests for p in m.applied for c in p.changes}
    if changed:
        lines.append("pip index options changed in: " + ", ".join(sorted(changed)))
    return "\n".join(lines) + "\n"


def _left_out(omitted: int, total: int) -> str:
    return (
        f"- {omitted:,} of the {total:,} changed entries are not listed above, to keep this "
        "description within GitHub's size limit: the *Files changed* tab shows every change."
    )


def render(fix: RepoFix, title: str, settings: BodySettings) -> PullRequestText:
    """The pull request; a table too long for GitHub is cut, saying how much and where to look."""
    rows = [
        _row(
            e.path,
            e.category,
            e.package,
            code(e.before, in_table=True) if e.before else "*not listed*",
            code(e.after, in_table=True),
        )
        for e in fix.entries
    ]
    rows.extend(_rehashed_row(entry) for entry in fix.rehashed)
    notes = _notes(fix, settings)
    body = _body(fix, rows, notes, settings)
    if len(body) > BODY_LIMIT:
        # The note is sized for the most digits it can show, so the body fits whatever is cut.
        room = BODY_LIMIT - len(_body(fix, [], [_left_out(len(rows), len(rows)), *notes], settings))
        kept = _prefix(rows, room, "\n")
        notes.insert(0, _left_out(len(rows) - len(kept), len(rows)))
        body = _body(fix, kept, notes, settings)
    return PullRequestText(title, body)


_PIPENV_FILES = ("Pipfile", "Pipfile.lock")


def _name(path: str) -> str:
    return path.rpartition("/")[2]


def _uses_pipenv(fix: RepoFix) -> bool:
    """Whether the fix changes Pipfiles (a fix of nothing else is one, as it always was)."""
    return not fix.manifests or any(_name(c.path) in _PIPENV_FILES for c in fix.changes)


def _steps(kind: ManifestKind, index_name: str, fix: RepoFix) -> str:
    """The commands that check a uv, Poetry or pip install, each on its own lines."""
    name = _variable(index_name)
    match kind:
        case ManifestKind.UV:
            return (
                f"\nexport UV_INDEX_{name}_USERNAME=aws "
                f'UV_INDEX_{name}_PASSWORD="$CODEARTIFACT_AUTH_TOKEN"\n'
                "uv lock && uv sync --locked  # private packages locked from CodeArtifact"
            )
        case ManifestKind.POETRY:
            return (
                f"\nexport POETRY_HTTP_BASIC_{name}_USERNAME=aws "
                f'POETRY_HTTP_BASIC_{name}_PASSWORD="$CODEARTIFACT_AUTH_TOKEN"\n'
                "poetry check --lock && poetry install  # the lock matches, installs"
            )
        case _:
            # Paths are the repository's: quoted for the shell, controls shown as escapes.
            installs = [m.path for m in fix.manifests if m.kind is kind and m.applied]
            return "".join(f"\npip install -r {shlex.quote(printable(path))}" for path in installs)


def _check_locally(fix: RepoFix, settings: BodySettings) -> str:
    """Commands that prove the change: the lock it brings must pass what CI and deploys run."""
    options = [
        ("--domain", settings.domain),
        ("--domain-owner", settings.domain_owner),
        ("--region", settings.region),
    ]
    # Shell-quoted and on one line each: the configuration's values are pasted into a shell.
    shown = " ".join(f"{flag} {shlex.quote(printable(value))}" for flag, value in options)
    kinds = {manifest.kind for manifest in fix.manifests}
    if not _uses_pipenv(fix):
        steps = ""
    elif any(change.path.endswith("Pipfile.lock") for change in fix.changes):
        steps = (
            "pipenv verify                  # Pipfile.lock matches the Pipfile\n"
            "pipenv install --deploy --dev  # installs the locked files, hashes checked"
        )
    else:
        steps = "pipenv install --dev  # resolves every private package from CodeArtifact"
    steps += "".join(_steps(kind, settings.index_name, fix) for kind in sorted(kinds))
    block = (
        "export CODEARTIFACT_AUTH_TOKEN=$(aws codeartifact get-authorization-token \\\n"
        f"    {shown} \\\n"
        "    --query authorizationToken --output text)\n"
        f"{steps.strip()}"
    )
    fence = _fence(block, 3)
    return f"""## Check it locally

In each folder this changes, with AWS credentials that may read CodeArtifact:

{fence}sh
{block}
{fence}
"""


def _guide(fix: RepoFix, settings: BodySettings) -> str:
    """A link to the guide or, with none configured, its key points."""
    if settings.guide_url:
        # Percent-encoded where a character would end the link's destination.
        url = quote(settings.guide_url, safe=_URL_SAFE)
        return f"More in the guide: [CodeArtifact and pipenv]({url}).\n"
    if not _uses_pipenv(fix):
        return f"## The rule\n{_other_rule(settings)}"
    index = code(f'index = "{settings.index_name}"')
    update = code(f'pipenv install --index {shlex.quote(settings.index_name)} "name==x.y"')
    other = _other_rule(settings) if fix.manifests else ""
    return f"""## The rule

Every private package in a Pipfile names its index: {index}. That
includes a private package that arrives only as a dependency of another: list it too,
with `version = "*"`. The private `[[source]]` comes after PyPI, and its URL reads the
token from `${{CODEARTIFACT_AUTH_TOKEN}}`, so no token lands in the Pipfile or the lock.
To update a private package: {update}.
{other}"""


def _other_rule(settings: BodySettings) -> str:
    """The rule for uv, Poetry and pip: a paragraph that starts with a blank line."""
    uv = code(pinned_source(settings.index_name))
    poetry = code(source_setting(settings.index_name))
    return f"""
In uv, every private package has {uv} in `[tool.uv.sources]`, a dependency of
another one included (list it in the project's dependencies); in Poetry, {poetry}.
Their CodeArtifact index is explicit, so it serves only what is pinned to it. With pip,
CodeArtifact is the only `--index-url`: it serves public packages through its PyPI
upstream, and `--extra-index-url` is never needed for it.
"""


def _opt_out(settings: BodySettings) -> str:
    topic, file = code(settings.opt_out_topic), code(settings.opt_out_file)
    return f"""## Not wanted here?

- Close this pull request without merging: pipfleet takes it as a "no" and never proposes
  the same fix again.
- To stop pipfleet's pull requests for this repository, add the topic {topic}
  to it, or commit a file {file} containing `enabled = false` at the root of
  the default branch. pipfleet still reports the repository's compliance.
"""


_OTHER_INSTALLERS = """
uv and Poetry look for a package not pinned to an index on the default one, usually
public PyPI. pip asks every index it is given for every name and installs the best
version it finds, wherever it comes from.
"""


def _why(fix: RepoFix, index: str) -> str:
    """Why the change: pipenv's reason for Pipfiles, then uv's, Poetry's and pip's."""
    if not _uses_pipenv(fix):
        return """
These changes are for private packages that live in our CodeArtifact repository but
that these manifests do not pin to it. uv and Poetry look for a package not pinned to
an index on the default one, usually public PyPI; pip asks every index it is given for
every name and installs the best version it finds. There the install fails or, worse,
takes a public package that happens to have the same name: anyone can publish one
(dependency confusion).
"""
    return f"""
These Pipfile entries name private packages that live in our CodeArtifact repository,
but they do not say so with {index}. pipenv looks for each package on
exactly one index: the source its `index` names, else the first `[[source]]`, usually
public PyPI. There `pipenv lock` fails with *Could not find a version that satisfies the
requirement*, or, worse, installs a public package that happens to have the same name:
anyone can publish one (dependency confusion).
{_OTHER_INSTALLERS if fix.manifests else ""}"""


def _body(fix: RepoFix, rows: Sequence[str], notes: Sequence[str], settings: BodySettings) -> str:
    index = code(f'index = "{settings.index_name}"')
    return f"""\
{_security(fix)}## Why
{_why(fix, index)}
## What changes

| File | Category | Package | Before | After |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

{chr(10).join(notes)}

{_requirements(fix)}{_check_locally(fix, settings)}
{_guide(fix, settings)}
{_opt_out(settings)}
Opened by pipfleet.

{MARKER_PREFIX}{fix.fingerprint} -->
"""
