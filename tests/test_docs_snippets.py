"""The guide and the project-standards section say what pipfleet does: every TOML snippet
in them parses and gets the verdict its marker claims, and every `pipfleet` command they
show exists with the options shown.

A snippet is marked with an HTML comment on the line before its fence (invisible when
rendered): ``<!-- check: ok -->`` (nothing needs action), ``<!-- check: <kind> <package> -->``
(a snippet shown as wrong: it must give that finding) or ``<!-- check: opt-out -->`` (a
``.pipfleet.toml`` that turns pull requests off). A snippet without ``[[source]]`` is a
fragment: it is checked inside the two sources the guide prescribes, under ``[packages]``
when it has no table of its own.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from pipfleet.cli import app
from pipfleet.engine import poetryproject, requirements, uvproject
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.listing import parse_listing
from pipfleet.jobs.check import FileStatus, Mode, check_text

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [
    ROOT / "docs" / "integration-guides" / "codeartifact.md",
    ROOT / "docs" / "templates" / "project-standards.md",
]
# What the documents' examples assume CodeArtifact holds.
LISTING = """\
orb-common 2.0.0 2.1.0 2.2.0
orb-utils 3.0.0 3.1.0
orb-events 1.4.0 1.5.0
orb-testing 1.0.0
orb-api 1.3.0 -> orb-common>=2.0
"""
SOURCES = """\
[[source]]
name = "pypi"
url = "https://pypi.org/simple"
verify_ssl = true

[[source]]
name = "codeartifact"
url = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-111122223333.d.codeartifact.eu-west-1.amazonaws.com/pypi/private/simple/"
verify_ssl = true

"""
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\S*)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
MARKER = re.compile(r"<!-- check(?:-(?P<tool>uv|poetry|requirements))?: (?P<claim>[^>]*?) -->\n *$")
COMMAND = re.compile(r"(?<![\w/.-])pipfleet((?: +[^\s`|;&)]+)+)")


@dataclass(frozen=True)
class Snippet:
    document: str
    line: int
    lang: str
    body: str
    claim: str | None
    tool: str = "pipenv"  # whose file the snippet is: pipenv, uv, poetry or requirements

    def __str__(self) -> str:
        return f"{self.document}:{self.line}"


def snippets(path: Path) -> list[Snippet]:
    text = path.read_text()
    found = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        body = "".join(line[indent:] + "\n" for line in match["body"].splitlines())
        marker = MARKER.search(text, max(0, match.start() - 200), match.start())
        marked = marker is not None and marker.end() == match.start()
        claim = marker["claim"] if marker and marked else None
        tool = (marker["tool"] if marker and marked else None) or "pipenv"
        line = text.count("\n", 0, match.start()) + 1
        found.append(Snippet(path.name, line, match["lang"], body, claim, tool))
    return found


ALL = [snippet for path in DOCUMENTS for snippet in snippets(path)]
TOML = [s for s in ALL if s.lang == "toml" and s.tool == "pipenv"]
OTHER_TOOLS = [s for s in ALL if s.tool != "pipenv"]


def as_pipfile(body: str) -> str:
    if "[[source]]" in body:
        return body
    return SOURCES + (body if re.search(r"^\[", body, re.M) else "[packages]\n" + body)


def test_the_documents_have_snippets_to_check() -> None:
    assert all(path.is_file() for path in DOCUMENTS)
    for path in DOCUMENTS:
        claims = [s.claim for s in TOML if s.document == path.name]
        assert "ok" in claims and any(c and c != "ok" for c in claims), path


@pytest.mark.parametrize("snippet", TOML, ids=str)
def test_every_toml_snippet_gets_the_verdict_it_claims(snippet: Snippet) -> None:
    assert snippet.claim, f"{snippet}: a TOML snippet needs a <!-- check: ... --> marker"
    tomllib.loads(snippet.body)  # it parses as written, fragment or not
    if snippet.claim == "opt-out":
        assert tomllib.loads(snippet.body) == {"enabled": False}
        return
    listing = parse_listing(LISTING)
    result = check_text(as_pipfile(snippet.body), "Pipfile", listing, AuditOptions(), Mode.AUDIT)
    needs_action = {(f.kind.value, f.package) for f in result.remaining}
    if snippet.claim == "ok":
        assert result.status is FileStatus.COMPLIANT, needs_action
    else:
        kind, package = snippet.claim.split()
        assert (kind, package) in needs_action, needs_action


def other_tool_findings(snippet: Snippet) -> set[tuple[str, str | None]]:
    """What needs action in a uv, Poetry or requirements snippet, by its own engine."""
    listing = parse_listing(LISTING)
    if snippet.tool == "uv":
        report = uvproject.audit(uvproject.parse(snippet.body), listing)
    elif snippet.tool == "poetry":
        report = poetryproject.audit(poetryproject.parse(snippet.body), listing, AuditOptions())
    else:
        report = requirements.audit(requirements.parse(snippet.body), listing)
    return {(f.kind.value, f.package) for f in report.findings if f.needs_action}


def test_the_guide_shows_every_other_tool_right_and_wrong() -> None:
    claims = {(s.tool, s.claim == "ok") for s in OTHER_TOOLS}
    assert claims == {
        (tool, ok) for tool in ("uv", "poetry", "requirements") for ok in (True, False)
    }


@pytest.mark.parametrize("snippet", OTHER_TOOLS, ids=str)
def test_every_uv_poetry_and_requirements_snippet_gets_its_verdict(snippet: Snippet) -> None:
    assert snippet.claim
    found = other_tool_findings(snippet)
    if snippet.claim == "ok":
        assert found == set()
    else:
        kind, _, package = snippet.claim.partition(" ")
        assert (kind, package or None) in found, found


def shown_commands() -> list[tuple[str, list[str]]]:
    """Every ``pipfleet ...`` command in the documents' code blocks and code spans."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text()
        code = [m["body"] for m in FENCE.finditer(text)]
        code += re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
        for piece in code:
            for line in piece.replace("\\\n", " ").splitlines():
                for match in COMMAND.finditer(line.split("#")[0]):
                    found.append((f"{path.name}: pipfleet{match[1]}", shlex.split(match[1])))
    return found


COMMANDS = shown_commands()


def test_the_documents_show_commands() -> None:
    assert any(words[0] == "check" for _, words in COMMANDS)


@pytest.mark.parametrize(("shown", "words"), COMMANDS, ids=[shown for shown, _ in COMMANDS])
def test_every_command_shown_exists_with_its_options(shown: str, words: list[str]) -> None:
    command = typer.main.get_command(app)
    for word in words:
        if word.startswith("-") or not hasattr(command, "commands"):
            break
        assert word in command.commands, f"{shown}: no command {word!r}"
        command = command.commands[word]
    options = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    for word in words:
        if word.startswith("-"):
            assert word.split("=")[0] in options, f"{shown}: {command.name} has no {word}"
