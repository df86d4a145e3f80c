"""Proposed changes for a requirements install's findings, and the few applied by rewrite.

Every extra-index-url, missing-index, hardcoded-credential and insecure-source finding of
``requirementsincludes.audit_loaded`` gets a ``Proposal``: the exact lines that change, as
written and as they would read (credentials masked), for the report and the PR body.

``rewrite`` applies a proposal only when the file itself settles the answer:

- a literal token in a CodeArtifact URL's password becomes ``${CODEARTIFACT_AUTH_TOKEN}``.
  CodeArtifact tokens live 12 hours at most, so the literal one is expired or leaked
  already; pip expands ``${NAME}`` from the environment on every line it reads, and that
  variable is the one ``aws codeartifact get-authorization-token`` is documented with.
- CodeArtifact (one repository URL) as an index beside PyPI and nothing else (PyPI
  implicit, or written as -i/--extra-index-url https://pypi.org/simple) becomes the only
  ``--index-url``: its line is rewritten (an -i keeps its spelling), the PyPI lines
  removed. This is CodeArtifact's own pip setup (``aws codeartifact login --tool pip``
  sets index-url alone), public packages coming through the repository's PyPI upstream;
  tests/test_pip_e2e.py shows pip installing the private package and the public ones
  that way. Only when every index line is in one file and holds that one option, so
  removing or rewriting a line touches nothing else.
- ``http://`` to an AWS CodeArtifact host becomes ``https://`` and ``--trusted-host`` for
  one is removed: CodeArtifact serves only https, with a publicly trusted certificate
  (the configured source URL's host is not assumed to: it may be a proxy).

Everything else stays a proposal: another extra index (PyTorch's wheels) cannot just be
dropped, since what only it serves would stop resolving; two CodeArtifact URLs or one
dropped by a later --index-url leave open which one is meant; an index option after a
requirement (pip ignores it there) moves to a line of its own, which changes what pip
does; another host may have no https or a private certificate authority; another
credential needs a variable name only its owner can choose.

Edits are spliced into the original text line by line, so every other byte (comments,
CRLF, a missing final newline) stays; each result is re-parsed, audited again and
rewritten again before it is returned (see ``_verify``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import urlsplit

from pipfleet.engine.audit import AuditOptions, is_codeartifact_url, parse_error_report
from pipfleet.engine.findings import FileReport, Finding, FindingKind
from pipfleet.engine.hygiene import has_literal_credential, is_plain_http
from pipfleet.engine.listing import Listing
from pipfleet.engine.requirements import (
    IndexRole,
    PlacedIndex,
    RequirementsFile,
    is_codeartifact,
    line_ends,
    parse,
)
from pipfleet.engine.requirementsincludes import IncludeTree, audit_loaded, load_tree
from pipfleet.errors import PipfileError, RewriteError
from pipfleet.safetext import mask_credentials

TOKEN_VARIABLE = "${CODEARTIFACT_AUTH_TOKEN}"
_INDEX_OPTION = r"(?<![\w-])(?P<option>--extra-index-url|--index-url|-i)"
_SEPARATOR = r"(?P<sep>[ \t]*=[ \t]*|[ \t]+|)"


class _Action(StrEnum):
    SET_URL = "set-url"  # replace the URL ``old`` by ``new`` where it is written
    ONLY_INDEX = "only-index"  # the index option of URL ``old`` becomes --index-url ``new``
    # The index option of URL ``old`` leaves its requirement line (where pip ignores it)
    # for a line of its own above it: --index-url ``new``.
    OWN_LINE_INDEX = "own-line-index"
    DROP_INDEX = "drop-index"  # remove the index option of URL ``old``
    DROP_TRUSTED = "drop-trusted"  # remove --trusted-host ``old``


@dataclass(frozen=True)
class _Op:
    file: str
    line: int
    action: _Action
    old: str
    new: str = ""


@dataclass(frozen=True)
class LineChange:
    """Physical lines of one file as written and as proposed (empty ``after``: removed);
    credentials masked, for showing."""

    file: str
    line: int
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class Proposal:
    """One change that answers findings of ``kind``; ``automatic`` when ``rewrite`` makes it."""

    kind: FindingKind
    summary: str
    changes: tuple[LineChange, ...]
    automatic: bool


@dataclass(frozen=True)
class _Planned:
    kind: FindingKind
    summary: str
    ops: tuple[_Op, ...]
    automatic: bool


def _pattern(action: _Action, old: str) -> re.Pattern[str]:
    value = rf"(?P<q>[\"']?){re.escape(old)}(?P=q)"
    match action:
        case _Action.SET_URL:
            return re.compile(re.escape(old))
        case _Action.ONLY_INDEX:
            return re.compile(_INDEX_OPTION + _SEPARATOR + value)
        case _Action.DROP_INDEX | _Action.OWN_LINE_INDEX:
            return re.compile(r"[ \t]*" + _INDEX_OPTION + _SEPARATOR + value)
        case _Action.DROP_TRUSTED:
            return re.compile(
                r"[ \t]*(?<![\w-])--trusted-host" + _SEPARATOR + value + r"(?![\w.-])"
            )


def _apply(op: _Op, raw: str) -> str | None:
    """``raw`` (a logical line's physical lines) with ``op`` made, "" when nothing is left;
    None when the option is not written where the parser saw it (no edit is safe)."""
    match = _pattern(op.action, op.old).search(raw)
    if match is None:
        return None
    if op.action is _Action.SET_URL:
        replacement = op.new
    elif op.action is _Action.ONLY_INDEX:
        # An --index-url (or -i) keeps its spelling; an --extra-index-url becomes one.
        option, separator = match.group("option", "sep")
        if option == "--extra-index-url":
            option, separator = "--index-url", separator or " "
        quote = match.group("q")
        replacement = f"{option}{separator}{quote}{op.new}{quote}"
    else:
        replacement = ""
    end = match.end()
    if not replacement and raw[: match.start()].strip(" \t") == "":
        # Removed from the start of the line: the blanks after it go with it.
        end += len(raw[end:]) - len(raw[end:].lstrip(" \t"))
    changed = raw[: match.start()] + replacement + raw[end:]
    if op.action is _Action.OWN_LINE_INDEX:
        newline = "\r\n" if raw.endswith("\r\n") else "\n"
        return f"--index-url {op.new}{newline}{changed}"
    return changed if line_ends(changed) else ""


class _Lines:
    """A file's physical lines (endings kept) and its logical lines' spans."""

    def __init__(self, text: str) -> None:
        self.physical = text.splitlines(keepends=True)
        self.ends = line_ends(text)

    def raw(self, line: int) -> str:
        return "".join(self.physical[line - 1 : self.ends.get(line, line)])


def _shown(raw: str) -> tuple[str, ...]:
    return tuple(mask_credentials(line) for line in raw.splitlines())


def _with_variable(url: str) -> str | None:
    """A CodeArtifact URL whose literal password is ``${CODEARTIFACT_AUTH_TOKEN}``; None when
    the credential is not a password (CodeArtifact wants user aws and the token)."""
    netloc = urlsplit(url).netloc
    userinfo = netloc.rpartition("@")[0]
    user, has_password, _ = userinfo.partition(":")
    if not has_password or not user:
        return None
    return url.replace(f"{userinfo}@", f"{user}:{TOKEN_VARIABLE}@", 1)


def _variable_for(url: str) -> str:
    """A proposed URL for another host's literal credential, its variable named for the host."""
    split = urlsplit(url)
    name = re.sub(r"[^A-Z0-9]+", "_", (split.hostname or "index").upper()).strip("_")
    userinfo = split.netloc.rpartition("@")[0]
    user, has_password, _ = userinfo.partition(":")
    secret = f"{user}:${{{name}_TOKEN}}" if has_password else f"${{{name}_TOKEN}}"
    return url.replace(f"{userinfo}@", f"{secret}@", 1)


def _is_pypi(url: str) -> bool:
    try:
        split = urlsplit(url)
    except ValueError:
        return False
    return split.hostname in ("pypi.org", "pypi.python.org") and split.path.rstrip("/") == "/simple"


def _lone_option(raw: str) -> bool:
    """Whether a logical line holds one index option and nothing else."""
    try:
        parsed = parse(raw)
    except PipfileError:
        return False
    return len(parsed.indexes) == 1 and parsed == RequirementsFile(
        parsed.path, (), (), parsed.indexes, (), False, False
    )


def _only_index(
    tree: IncludeTree, kind: FindingKind, options: AuditOptions, lines: Mapping[str, _Lines]
) -> _Planned | None:
    """CodeArtifact as the only --index-url, every other index line removed."""
    written = list(
        dict.fromkeys(p for p in tree.indexes if p.option.role is not IndexRole.FIND_LINKS)
    )
    private = [p for p in written if is_codeartifact(p.option.url, options)]
    if not private:
        return None
    keep = private[0]
    url = keep.option.url
    # The line is rewritten anyway: it takes the other automatic fixes of its URL with it.
    if has_literal_credential(url) and is_codeartifact(url, options):
        url = _with_variable(url) or url
    # Only an AWS CodeArtifact host is known to serve https; the configured source's host
    # (a loopback test index, a proxy) may not.
    if is_plain_http(url) and is_codeartifact_url(url):
        url = "https" + url[len("http") :]
    action = _Action.OWN_LINE_INDEX if keep.option.ignored else _Action.ONLY_INDEX
    ops = [_Op(keep.file, keep.option.line, action, keep.option.url, url)]
    ops += [
        _Op(p.file, p.option.line, _Action.DROP_INDEX, p.option.url) for p in written if p != keep
    ]
    others = {p.option.url for p in written if not is_codeartifact(p.option.url, options)}
    automatic = (
        kind is FindingKind.EXTRA_INDEX_URL
        and all(_is_pypi(other) for other in others)
        and len({p.option.url for p in private}) == 1
        and len({op.file for op in ops}) == 1
        and all(_lone_option(lines[op.file].raw(op.line)) for op in ops)
    )
    dropped = ", ".join(sorted(mask_credentials(o) for o in others if not _is_pypi(o)))
    summary = (
        "Make CodeArtifact the only index: pip then asks it alone for every name, and it "
        "serves public packages through its PyPI upstream (aws codeartifact "
        "associate-external-connection --external-connection public:pypi), which the "
        "repository must have."
    )
    if dropped:
        summary += (
            f" {dropped} would be dropped: what only it serves must reach CodeArtifact "
            "another way, or the project moves to a tool that pins a package to one index "
            "(pipenv, uv, Poetry)."
        )
    return _Planned(kind, summary, tuple(ops), automatic)


def _credential(placed: PlacedIndex, options: AuditOptions) -> _Planned:
    url = placed.option.url
    fixed = _with_variable(url) if is_codeartifact(url, options) else None
    summary = (
        "Reference the token from the environment (pip expands ${NAME} on every line), set "
        "it where pip runs, and revoke the one written here."
    )
    op = _Op(placed.file, placed.option.line, _Action.SET_URL, url, fixed or _variable_for(url))
    return _Planned(FindingKind.HARDCODED_CREDENTIAL, summary, (op,), fixed is not None)


def _https(placed: PlacedIndex) -> _Planned:
    url = placed.option.url
    fixed = "https" + url[len("http") :]
    op = _Op(placed.file, placed.option.line, _Action.SET_URL, url, fixed)
    summary = "Reach the index over https (CodeArtifact serves nothing else)."
    return _Planned(FindingKind.INSECURE_SOURCE, summary, (op,), is_codeartifact_url(url))


def _untrust(file: str, line: int, host: str) -> _Planned:
    op = _Op(file, line, _Action.DROP_TRUSTED, host)
    summary = f"Remove --trusted-host {host}, so pip verifies the host's certificate."
    automatic = is_codeartifact_url(f"https://{host}")
    return _Planned(FindingKind.INSECURE_SOURCE, summary, (op,), automatic)


def _plan(
    tree: IncludeTree, report: FileReport, options: AuditOptions, lines: Mapping[str, _Lines]
) -> list[_Planned]:
    planned: list[_Planned] = []
    confusion = [f.kind for f in report.findings if f.kind in _CONFUSION_KINDS]
    if confusion and (only := _only_index(tree, confusion[0], options, lines)) is not None:
        planned.append(only)
    at = {(f.kind, f.file, f.line) for f in report.findings}
    for placed in dict.fromkeys(tree.indexes):
        key = (placed.file, placed.option.line)
        url = placed.option.url
        if (FindingKind.HARDCODED_CREDENTIAL, *key) in at and has_literal_credential(url):
            planned.append(_credential(placed, options))
        if (FindingKind.INSECURE_SOURCE, *key) in at and is_plain_http(url):
            planned.append(_https(placed))
    for requirements in tree.files:
        for trusted in requirements.trusted_hosts:
            if (FindingKind.INSECURE_SOURCE, requirements.path, trusted.line) in at:
                planned.append(_untrust(requirements.path, trusted.line, trusted.host))
    # An op that cannot be made where the parser saw its option makes no proposal.
    return [
        p
        for p in planned
        if all(_apply(op, lines[op.file].raw(op.line)) is not None for op in p.ops)
    ]


_CONFUSION_KINDS = (FindingKind.EXTRA_INDEX_URL, FindingKind.MISSING_INDEX)


def _lines_of(tree: IncludeTree) -> dict[str, _Lines]:
    return {path: _Lines(text) for path, text in tree.texts.items()}


def proposals(
    tree: IncludeTree, report: FileReport, options: AuditOptions | None = None
) -> tuple[Proposal, ...]:
    """The change proposed for ``report``'s findings (from ``audit_loaded(tree, ...)``)."""
    lines = _lines_of(tree)
    result = []
    for planned in _plan(tree, report, options or AuditOptions(), lines):
        changes = []
        for op in sorted(planned.ops, key=lambda op: (op.file, op.line)):
            raw = lines[op.file].raw(op.line)
            after = _apply(op, raw) or ""
            if after != raw:  # CodeArtifact's own --index-url line may stay as it is
                changes.append(LineChange(op.file, op.line, _shown(raw), _shown(after)))
        result.append(Proposal(planned.kind, planned.summary, tuple(changes), planned.automatic))
    return tuple(result)


def _own_changes(proposal: Proposal, finding: Finding) -> list[LineChange]:
    return [c for c in proposal.changes if (c.file, c.line) == (finding.file, finding.line)]


def _proposed_text(proposal: Proposal, finding: Finding) -> str:
    """A proposal as one finding's ``expected``: the line it changes at the finding, else
    every line it changes, each as ``file:line: new text`` ("(removed)" when it goes)."""
    return "\n".join(
        f"{change.file}:{change.line}: {' '.join(change.after) or '(removed)'}"
        for change in _own_changes(proposal, finding) or proposal.changes
    )


def with_proposals(
    tree: IncludeTree, report: FileReport, options: AuditOptions | None = None
) -> FileReport:
    """``report`` (``audit_loaded(tree, ...)``) with each finding a proposal answers given
    that proposal as its ``expected``: fixable when ``rewrite`` makes it, ``manual`` when a
    person must. What the scan records, so the fix job takes up a repository whose only
    fix is in a requirements file and the report shows the rest."""
    proposed = proposals(tree, report, options)
    if not proposed:
        return report
    findings = []
    for finding in report.findings:
        answer = next((p for p in proposed if _answers(p, finding)), None)
        if answer is not None and answer.changes:
            # An include not read may hold index options that change the right answer, so
            # ``build_fix`` makes no change then.
            made = answer.automatic and not tree.problems
            # A change to other lines (the index options, for a requirement's finding) is
            # no new value for what the finding quotes: reports show it alone.
            current = finding.current if _own_changes(answer, finding) else None
            finding = replace(
                finding,
                current=current,
                expected=_proposed_text(answer, finding),
                manual=not made,
            )
        findings.append(finding)
    return replace(report, findings=tuple(findings))


def _answers(proposal: Proposal, finding: Finding) -> bool:
    """Whether ``proposal`` answers ``finding``: making CodeArtifact the only index answers
    every finding of its kind (one per private requirement); the others their own line."""
    if proposal.kind is not finding.kind:
        return False
    if finding.kind in _CONFUSION_KINDS:
        return True
    return any((c.file, c.line) == (finding.file, finding.line) for c in proposal.changes)


def audit_with_proposals(
    root: str,
    files: Mapping[str, str | None],
    listing: Listing,
    options: AuditOptions | None = None,
) -> FileReport:
    """``requirementsincludes.audit_tree`` with the proposals (see ``with_proposals``)."""
    try:
        tree = load_tree(root, files)
    except PipfileError as exc:
        return parse_error_report(root, exc)
    return with_proposals(tree, audit_loaded(tree, listing, options), options)


def _edited(text: str, ops: Iterable[_Op]) -> str:
    """``text`` with ``ops`` made, each logical line edited by all of its ops in turn."""
    lines = _Lines(text)
    by_line: dict[int, list[_Op]] = {}
    for op in ops:
        by_line.setdefault(op.line, []).append(op)
    out, number = [], 1
    while number <= len(lines.physical):
        if number not in by_line:
            out.append(lines.physical[number - 1])
            number += 1
            continue
        raw = lines.raw(number)
        for op in by_line[number]:
            # An op whose option an earlier op already rewrote (a literal token the new
            # --index-url line no longer holds) has nothing left to do.
            if raw and (made := _apply(op, raw)) is not None:
                raw = made
        out.append(raw)
        number = lines.ends.get(number, number) + 1
    return "".join(out)


def rewrite(
    tree: IncludeTree, report: FileReport, listing: Listing, options: AuditOptions | None = None
) -> dict[str, str]:
    """The new text of each file the automatic proposals change (none: an empty dict).

    ``report`` is ``audit_loaded(tree, listing, options)``; a result that does not re-parse
    to the same requirements and includes, leaves a finding it answers, adds one, or would
    change again raises ``RewriteError``.
    """
    options = options or AuditOptions()
    changed = _changed(tree, report, options)
    if changed:
        _verify(tree, report, listing, options, changed)
    return changed


def _changed(tree: IncludeTree, report: FileReport, options: AuditOptions) -> dict[str, str]:
    ops = [op for p in _plan(tree, report, options, _lines_of(tree)) if p.automatic for op in p.ops]
    changed = {}
    for path in dict.fromkeys(op.file for op in ops):
        text = _edited(tree.texts[path], (op for op in ops if op.file == path))
        if text != tree.texts[path]:
            changed[path] = text
    return changed


def _meaning(requirements: RequirementsFile) -> tuple[object, ...]:
    """What a rewrite must not change: the requirements and includes, lines aside."""
    return (
        [
            (r.name, r.text, r.specifier, r.marker, r.url, r.editable, r.hashes)
            for r in requirements.requirements
        ],
        [(i.kind, i.target) for i in requirements.includes],
        requirements.pre,
        requirements.no_index,
    )


def _verify(
    tree: IncludeTree,
    report: FileReport,
    listing: Listing,
    options: AuditOptions,
    changed: Mapping[str, str],
) -> None:
    texts: dict[str, str | None] = {**tree.texts, **changed}
    try:
        new_tree = load_tree(tree.root, texts)
    except PipfileError as exc:
        raise RewriteError(f"{tree.root}: the rewrite does not parse ({exc})") from None
    for path in changed:
        old, new = tree.file(path), new_tree.file(path)
        if old is None or new is None or _meaning(old) != _meaning(new):
            raise RewriteError(f"{path}: the rewrite changed the requirements or includes")
    new_report = audit_loaded(new_tree, listing, options)

    def counts(findings: Iterable[Finding]) -> Counter[tuple[FindingKind, str, str | None]]:
        return Counter((f.kind, f.file, f.package) for f in findings)

    before, after = counts(report.findings), counts(new_report.findings)
    if after - before or sum(after.values()) >= sum(before.values()):
        raise RewriteError(f"{tree.root}: the rewrite did not remove a finding or added one")
    if _changed(new_tree, new_report, options):
        raise RewriteError(f"{tree.root}: rewriting the rewrite changes it again")
