"""``pipfleet mcp``: the engine and the compliance database as MCP tools, resources, prompts.

Built on the official SDK's ``MCPServer``; every tool is read-only and nothing here talks
to GitHub or CodeArtifact. A PipfleetError (bad input, no database, a locked one) becomes
a tool error with its one-line message, so the server keeps answering; every answer and
error passes through ``mask_credentials`` once, here, on its way out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from pipfleet import __version__
from pipfleet.assistant import answers, prompts
from pipfleet.assistant.answers import (
    CheckAnswer,
    FleetAnswer,
    ManifestAnswer,
    PackageAnswer,
    RepositoryAnswer,
)
from pipfleet.assistant.fleetdata import FleetData
from pipfleet.assistant.guidance import Guidance, guidance
from pipfleet.config import Settings
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FindingKind
from pipfleet.errors import PipfleetError
from pipfleet.packagedata import GUIDES, package_folder
from pipfleet.safetext import mask_credentials
from pipfleet.store.models import utcnow

GUIDE_URI = "pipfleet://guides/codeartifact-pipenv"
STANDARDS_URI = "pipfleet://guides/project-standards"
SUMMARY_URI = "pipfleet://fleet/summary"
GUIDE_DOC = "integration-guides/codeartifact.md"
STANDARDS_DOC = "templates/project-standards.md"
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
_INSTRUCTIONS = (
    "pipfleet knows how the organisation's Python projects must use private packages from "
    "AWS CodeArtifact (every private package resolving from the private index alone: pinned "
    'with index = "codeartifact" in a Pipfile, through [tool.uv.sources] or a Poetry source, '
    "CodeArtifact as pip's only index), and what its nightly scan found across the fleet. "
    "Use check_manifest on a Pipfile, a uv or Poetry pyproject.toml or a requirements file "
    "(check_pipfile on a Pipfile does the same) before advising on it, and answer from these "
    "tools rather than from memory."
)


def docs_dir() -> Path:
    """The guides served as resources, shipped as the package ``pipfleet.guides``."""
    return package_folder(GUIDES)


def _wire(value: Any) -> Any:
    """``value`` as JSON data: secrets masked, times as ``pipfleet report`` writes them."""
    if isinstance(value, str):
        return mask_credentials(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    return value


def _structured(answer: Any) -> dict[str, Any]:
    return dict(_wire(asdict(answer)))


def _answer(build: Callable[[], tuple[Any, str]]) -> CallToolResult:
    """The tool's answer: structured content (JSON, secrets masked) and its short text."""
    try:
        answer, text = build()
    except PipfleetError as exc:
        raise ToolError(mask_credentials(str(exc))) from None
    return CallToolResult(
        content=[TextContent(type="text", text=mask_credentials(text))],
        structured_content=_structured(answer),
    )


@dataclass(frozen=True)
class ServerOptions:
    settings: Settings
    data: FleetData
    docs: Path


def build_server(options: ServerOptions) -> MCPServer:
    """The MCP server over ``options``' database and docs; run it with stdio or HTTP."""
    settings, data = options.settings, options.data
    audit_options = AuditOptions(
        index_name=settings.codeartifact.source_name,
        source_url=settings.codeartifact.source_url,
    )
    server = MCPServer(
        "pipfleet",
        title="pipfleet",
        version=__version__,
        instructions=_INSTRUCTIONS,
        log_level="WARNING",  # stderr only; stdout is the stdio transport's
    )

    @server.tool(annotations=_READ_ONLY)
    def check_pipfile(
        pipfile: Annotated[str, Field(description="The Pipfile's text, as it is on disk.")],
        # Plain str, not str | None: the SDK would parse a JSON text given for any other
        # type (a lock) into an object before validating it.
        lock: Annotated[
            str, Field(description="The Pipfile.lock beside it (JSON text); empty for none.")
        ] = "",
        path: Annotated[
            str, Field(description="Where the Pipfile lives, for messages and the diff.")
        ] = "Pipfile",
    ) -> Annotated[CallToolResult, CheckAnswer]:
        """Audit one Pipfile (and its lock) the way `pipfleet check` does: findings with
        line, severity, why and what to do, the fixed Pipfile and its unified diff.
        Private package names come from the latest scan recorded in the database."""
        return _answer(
            lambda: answers.check_pipfile(
                pipfile, lock or None, path, data.listing(), audit_options
            )
        )

    @server.tool(annotations=_READ_ONLY)
    def check_manifest(
        text: Annotated[str, Field(description="The file's text, as it is on disk.")],
        path: Annotated[
            str,
            Field(
                description="Its path in the repository, e.g. svc/pyproject.toml: the name says "
                "what it is (Pipfile; pyproject.toml, uv's or Poetry's by its tables; "
                "requirements*.txt, constraints*.txt or requirements/*.txt)."
            ),
        ],
        lock: Annotated[
            str,
            Field(
                description="The lock beside it (Pipfile.lock, uv.lock or poetry.lock text); "
                "empty for none."
            ),
        ] = "",
        includes: Annotated[
            dict[str, str] | None,
            Field(
                description="A requirements file's includes (-r/-c), and theirs: path (as "
                "pip resolves it from the including file, e.g. requirements/base.txt) -> text."
            ),
        ] = None,
    ) -> Annotated[CallToolResult, ManifestAnswer]:
        """Audit one manifest of any kind `pipfleet check` reads, as it does with --diff:
        findings with line, severity, why and what to do; the fixed file, the diff and what
        happens to the lock (poetry.lock updated, uv.lock left to `uv lock`); for a
        requirements file, the changes pipfleet makes and the ones it proposes for a person
        (`manual`). Private package names come from the latest scan recorded in the database."""
        return _answer(
            lambda: answers.check_manifest(
                text, path, lock or None, includes or {}, data.listing(), audit_options
            )
        )

    @server.tool(annotations=_READ_ONLY)
    def fleet_summary() -> Annotated[CallToolResult, FleetAnswer]:
        """The latest scan run's headline figures (compliance, findings, pull requests),
        its status and age, and the compliance trend over the last runs."""
        return _answer(lambda: answers.fleet_summary(data.report(), utcnow()))

    @server.tool(annotations=_READ_ONLY)
    def repository_status(
        repository: Annotated[
            str, Field(description="The repository's name, e.g. orb-api or acme/orb-api.")
        ],
    ) -> Annotated[CallToolResult, RepositoryAnswer]:
        """One repository in the latest scan: its Pipfiles, findings, pipfleet's pull
        request (state, URL) and whether it opted out of pull requests."""

        def build() -> tuple[RepositoryAnswer, str]:
            report = data.report()
            row = answers.find_repository(report, repository)
            pipfiles = data.pipfiles(row.read_run_id or report.summary.run_id, row.repository_id)
            topics = data.topics(row.repository_id)
            return answers.repository_status(report, row, pipfiles, topics, settings.github)

        return _answer(build)

    @server.tool(annotations=_READ_ONLY)
    def package_usage(
        package: Annotated[str, Field(description="A private package's name, e.g. orb-common.")],
    ) -> Annotated[CallToolResult, PackageAnswer]:
        """Every repository and Pipfile using a private package in the latest scan: the
        spec, whether it is pinned to the private index, and the exact versions pinned
        against the versions CodeArtifact has."""
        return _answer(lambda: answers.package_usage(data.report(), package))

    @server.tool(annotations=_READ_ONLY)
    def explain_finding(kind: FindingKind) -> Annotated[CallToolResult, Guidance]:
        """Why a pipfleet finding kind matters and what to do about it."""
        advice = guidance(kind)
        return _answer(lambda: (advice, f"{advice.kind}: {advice.why} {advice.what_to_do}"))

    def document(name: str, what: str) -> str:
        path = options.docs / name
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ResourceError(f"{what} is not available: {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ResourceError(f"{what} cannot be read from {path}: {exc}") from None

    @server.resource(GUIDE_URI, name="codeartifact-pipenv-guide", mime_type="text/markdown")
    def guide() -> str:
        """How a pipenv project uses private packages from CodeArtifact safely."""
        return document(GUIDE_DOC, "the CodeArtifact and pipenv guide")

    @server.resource(STANDARDS_URI, name="project-standards", mime_type="text/markdown")
    def standards() -> str:
        """The project-standards section on updating CodeArtifact packages."""
        return document(STANDARDS_DOC, "the project-standards section")

    @server.resource(SUMMARY_URI, name="fleet-summary", mime_type="application/json")
    def summary() -> str:
        """The latest scan run's fleet summary, as the fleet_summary tool answers it."""
        try:
            answer, _ = answers.fleet_summary(data.report(), utcnow())
        except PipfleetError as exc:
            raise ResourceError(mask_credentials(str(exc))) from None
        return json.dumps(_structured(answer), indent=2) + "\n"

    server.prompt("fix-pipfile", description=prompts.FIX_PIPFILE)(prompts.fix_pipfile)
    server.prompt("update-codeartifact-package", description=prompts.UPDATE_PACKAGE)(
        prompts.update_package
    )
    return server
