"""`pipfleet mcp` over stdio, driven by the SDK's client: every tool, resource and prompt,
answers compared with `pipfleet check --format json` and `pipfleet report --format json`
on the same data, and bad input answered with tool errors while the server goes on."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import TextResourceContents
from tests.conftest import API_PIPFILE, CORPUS, WORKER_PIPFILE, corpus_dirs
from tests.engine.test_poetrylock import OTHER
from tests.engine.test_poetrylock import PYPROJECT as POETRY_PYPROJECT
from tests.engine.test_poetrylock import lock as poetry_lock
from tests.engine.test_poetrylock import package as poetry_package
from tests.engine.test_uvlock import PUBLIC
from tests.engine.test_uvlock import lock as uv_lock
from tests.report.conftest import COMPLIANT_PIPFILE

from pipfleet.assistant.fleetdata import FleetData
from pipfleet.assistant.server import (
    GUIDE_URI,
    STANDARDS_URI,
    SUMMARY_URI,
    ServerOptions,
    build_server,
)
from pipfleet.config import Settings, load_settings
from pipfleet.engine.findings import FindingKind
from pipfleet.github.queries import MAX_BLOB_BYTES
from pipfleet.safetext import mask_credentials
from pipfleet.store.models import PullRequestState

from .conftest import ROOT, Fleet, SyncClient, stdio_parameters, structured, text_of

TOOLS = {
    "check_pipfile",
    "check_manifest",
    "fleet_summary",
    "repository_status",
    "package_usage",
    "explain_finding",
}
SECRET = "s3cr3t-Token-9f8e7d"
LEAKY_PIPFILE = f"""\
[[source]]
name = "pypi"
url = "https://pypi.org/simple"
verify_ssl = true

[[source]]
name = "codeartifact"
url = "https://aws:{SECRET}@acme-111122223333.d.codeartifact.eu-west-1.amazonaws.com/pypi/private/simple/"
verify_ssl = true

[packages]
orb-common = "==9.9.9"
"""


@pytest.fixture(scope="module")
def client(fleet: Fleet) -> Iterator[SyncClient]:
    # The checkout's own docs: the project-standards section may not be written yet.
    connection = SyncClient(stdio_parameters(fleet))
    yield connection
    connection.close()


def _check_json(fleet: Fleet, paths: list[Path], cwd: Path) -> dict[str, Any]:
    out = fleet.pipfleet(
        "check",
        *paths,
        "--listing",
        fleet.listing,
        "--source-url",
        fleet.source_url,
        "--format",
        "json",
        "--diff",
        cwd=cwd,
        ok=(0, 1, 2),
    )
    return dict(json.loads(out))


def _masked(finding: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_credentials(v) if isinstance(v, str) else v for k, v in finding.items()}


@pytest.fixture(scope="module")
def report(fleet: Fleet) -> dict[str, Any]:
    """`pipfleet report --format json` on the fleet's database."""
    return dict(json.loads(fleet.pipfleet("report", "--config", fleet.config, "-f", "json")))


def test_lists_tools_resources_and_prompts(client: SyncClient) -> None:
    tools = {tool.name: tool for tool in client.run(lambda c: c.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and tool.output_schema, tool.name
        assert tool.annotations is not None and tool.annotations.read_only_hint
    assert tools["check_pipfile"].input_schema["required"] == ["pipfile"]
    assert set(tools["check_pipfile"].input_schema["properties"]) == {"pipfile", "lock", "path"}
    assert "findings" in tools["check_pipfile"].output_schema["properties"]  # type: ignore[index]
    assert tools["check_manifest"].input_schema["required"] == ["text", "path"]
    assert set(tools["check_manifest"].input_schema["properties"]) == {
        "text",
        "path",
        "lock",
        "includes",
    }
    resources = {str(r.uri): r for r in client.run(lambda c: c.list_resources()).resources}
    assert {uri: r.mime_type for uri, r in resources.items()} == {
        GUIDE_URI: "text/markdown",
        STANDARDS_URI: "text/markdown",
        SUMMARY_URI: "application/json",
    }
    prompts = {p.name: p for p in client.run(lambda c: c.list_prompts()).prompts}
    assert set(prompts) == {"fix-pipfile", "update-codeartifact-package"}
    assert [a.name for a in prompts["update-codeartifact-package"].arguments or []] == [
        "package",
        "version",
    ]


def _sandbox_projects(root: Path, fleet: Fleet) -> list[Path]:
    """Pipfiles with private entries: unpinned, pinned, a leaked token, one with a lock."""
    texts = {
        "api": API_PIPFILE,
        "worker": WORKER_PIPFILE,
        "leaky": LEAKY_PIPFILE,
        "good": COMPLIANT_PIPFILE.format(source_url=fleet.source_url),
    }
    paths = []
    for name, text in texts.items():
        (root / name).mkdir()
        (root / name / "Pipfile").write_text(text)
        paths.append(Path(name) / "Pipfile")
    shutil.copy(CORPUS / corpus_dirs()[0].name / "Pipfile.lock", root / "api" / "Pipfile.lock")
    return paths


def test_check_pipfile_answers_as_pipfleet_check(
    client: SyncClient, fleet: Fleet, tmp_path: Path
) -> None:
    """Same findings, diff and status as `pipfleet check --format json --diff`, on the
    sandbox's private names (the scan's listing) and on every corpus Pipfile and lock."""
    (tmp_path / "corpus").symlink_to(CORPUS)
    paths = _sandbox_projects(tmp_path, fleet)
    paths += [Path("corpus") / d.name / "Pipfile" for d in corpus_dirs()]
    expected = _check_json(fleet, paths, tmp_path)
    assert {f["status"] for f in expected["files"]} >= {"compliant", "needs-action", "invalid"}
    for item in expected["files"]:
        pipfile = (tmp_path / item["path"]).read_text()
        lock = tmp_path / Path(item["path"]).parent / "Pipfile.lock"
        arguments: dict[str, Any] = {"pipfile": pipfile, "path": item["path"]}
        if lock.is_file():
            arguments["lock"] = lock.read_text()
        result = client.call("check_pipfile", **arguments)
        if item["status"] == "invalid":
            (error,) = item["findings"]
            assert result.is_error and error["message"] in text_of(result), item["path"]
            if error["line"] is not None:
                assert f"line {error['line']}" in text_of(result), item["path"]
            continue
        answer = structured(result)
        assert answer["listing"] == "scan run 2 of the database"
        assert answer["listing_digest"] == expected["listing"]["digest"]
        assert answer["status"] == item["status"], item["path"]
        assert answer["diff"] == (item["diff"] or None), item["path"]
        assert answer["fix_error"] == item["fix_error"]
        guidance = {"why", "what_to_do"}
        found = [{k: v for k, v in f.items() if k not in guidance} for f in answer["findings"]]
        # The one intended difference: a literal credential in a URL is masked.
        assert found == [_masked(f) for f in item["findings"]], item["path"]
        for finding in answer["findings"]:
            assert finding["why"] and finding["what_to_do"]
        if item["diff"]:
            assert answer["fixed_pipfile"] != pipfile
        for finding in item["findings"]:
            if finding["severity"] != "info":
                assert finding["message"] in text_of(result)


def test_check_manifest_answers_as_pipfleet_check(
    client: SyncClient, fleet: Fleet, tmp_path: Path
) -> None:
    """A uv project with its uv.lock, a Poetry one with its poetry.lock, a requirements
    install with the file it includes and a plain pyproject.toml: the same findings, diff,
    status and kind as `pipfleet check --format json --diff` on the files on disk."""
    texts = {
        "svc/pyproject.toml": (
            '[project]\nname = "svc"\ndependencies = ["orb-common", "requests"]\n\n[tool.uv]\n'
        ),
        "svc/uv.lock": uv_lock(PUBLIC, "2.1.0"),
        "app/pyproject.toml": POETRY_PYPROJECT,
        "app/poetry.lock": poetry_lock(
            POETRY_PYPROJECT,
            poetry_package("orb-common", "2.0.0", "sha256:" + "a" * 64, "public"),
            poetry_package("requests", "2.31.0", OTHER),
        ),
        "requirements.txt": "-r requirements/base.txt\nflask\n",
        "requirements/base.txt": (
            f"--extra-index-url {fleet.source_url}\nrequests\norb-common==2.1.0\n"
        ),
        "plain/pyproject.toml": '[project]\nname = "plain"\n',
    }
    for path, text in texts.items():
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text(text)
    checked = [
        "svc/pyproject.toml",
        "app/pyproject.toml",
        "requirements.txt",
        "plain/pyproject.toml",
    ]
    expected = _check_json(fleet, [Path(p) for p in checked], tmp_path)
    arguments: dict[str, dict[str, Any]] = {
        "svc/pyproject.toml": {"lock": texts["svc/uv.lock"]},
        "app/pyproject.toml": {"lock": texts["app/poetry.lock"]},
        "requirements.txt": {"includes": {"requirements/base.txt": texts["requirements/base.txt"]}},
        "plain/pyproject.toml": {},
    }
    for item in expected["files"]:
        path = item["path"]
        result = client.call("check_manifest", text=texts[path], path=path, **arguments[path])
        answer = structured(result)
        assert (answer["kind"], answer["status"]) == (item["kind"], item["status"]), path
        assert answer["diff"] == (item["diff"] or None), path
        guidance = {"why", "what_to_do"}
        found = [{k: v for k, v in f.items() if k not in guidance} for f in answer["findings"]]
        assert found == [_masked(f) for f in item["findings"]], path
        lock = item["lock"]
        assert (answer["lock"] or {}).get("problem") == (lock or {}).get("problem"), path
        assert [c["path"] for c in answer["also_changed"]] == [
            c["path"] for c in item["also_changed"]
        ]
    statuses = {item["path"]: item["status"] for item in expected["files"]}
    assert statuses["plain/pyproject.toml"] == "not-audited"
    kinds = {item["path"]: item["kind"] for item in expected["files"]}
    assert kinds == {
        "svc/pyproject.toml": "uv",
        "app/pyproject.toml": "poetry",
        "requirements.txt": "requirements",
        "plain/pyproject.toml": None,
    }
    uv = structured(client.call("check_manifest", text=texts[checked[0]], path=checked[0]))
    assert "missing-index" in {f["kind"] for f in uv["findings"]}
    poetry = structured(
        client.call(
            "check_manifest", text=texts[checked[1]], path=checked[1], lock=texts["app/poetry.lock"]
        )
    )
    # The sandbox's CodeArtifact lists no files for the locked orb-common 2.0.0: the lock is
    # left for Poetry to resolve again, and the answer says so.
    assert poetry["lock"]["path"] == "app/poetry.lock" and poetry["lock"]["fixed_text"] is None
    assert "run poetry lock" in poetry["lock"]["problem"]
    assert poetry["fixed_text"] and 'source = "codeartifact"' in poetry["fixed_text"]
    requirements = structured(
        client.call(
            "check_manifest",
            text=texts["requirements.txt"],
            path="requirements.txt",
            includes=arguments["requirements.txt"]["includes"],
        )
    )
    (changed,) = requirements["also_changed"]
    assert changed["path"] == "requirements/base.txt"
    assert changed["fixed_text"].startswith("--index-url ")
    (finding,) = requirements["findings"]
    assert (finding["kind"], finding["file"], finding["manual"]) == (
        "extra-index-url",
        "requirements/base.txt",
        False,
    )
    # Without the file it includes, the answer says which to send.
    missing = client.call("check_manifest", text=texts["requirements.txt"], path="requirements.txt")
    assert missing.is_error and "requirements/base.txt" in text_of(missing)


def test_no_secret_in_any_answer(client: SyncClient) -> None:
    result = client.call("check_pipfile", pipfile=LEAKY_PIPFILE)
    answer = structured(result)
    assert "hardcoded-credential" in {f["kind"] for f in answer["findings"]}
    assert SECRET not in json.dumps(answer) + text_of(result)
    assert "aws:****@" in answer["fixed_pipfile"]
    # Even an error quoting the input masks it.
    error = client.call("repository_status", repository=f"https://aws:{SECRET}@host/x")
    assert error.is_error and SECRET not in text_of(error)


def test_fleet_summary_and_its_resource_match_pipfleet_report(
    client: SyncClient, report: dict[str, Any]
) -> None:
    result = client.call("fleet_summary")
    answer = structured(result)
    summary = answer["summary"]
    assert {k: summary[k] for k in report["summary"]} == report["summary"]
    assert summary["run_id"] == report["run"]["id"] == 2
    assert summary["status"] == report["run"]["status"] == "partial"
    assert summary["finished_at"] == report["run"]["finished_at"]
    assert answer["trend"] == report["trend"]
    assert 0 <= answer["age_seconds"] < 3600
    assert "Scan run 2 (partial" in text_of(result) and "0% -> 50%" in text_of(result)
    (content,) = client.run(lambda c: c.read_resource(SUMMARY_URI)).contents
    assert isinstance(content, TextResourceContents) and content.mime_type == "application/json"
    document = json.loads(content.text)
    assert document["summary"] == summary and document["trend"] == answer["trend"]


def test_repository_status_matches_pipfleet_report(
    client: SyncClient, report: dict[str, Any]
) -> None:
    for row in report["repositories"]:
        answer = structured(client.call("repository_status", repository=row["name"]))
        expected = dict(row)
        assert answer["state"] == expected.pop("state")
        assert {k: answer["repository"][k] for k in expected} == expected
        assert len(answer["pipfiles"]) == (row["pipfiles"] if row["status"] != "failed" else 0)
        mine = [f for f in report["findings"] if f["repository"] == row["full_name"]]
        assert answer["findings"] == mine
    api = structured(client.call("repository_status", repository="ACME/orb-api"))
    assert api["repository"]["pull_request"]["html_url"].endswith("/pull/12")
    assert [p["path"] for p in api["pipfiles"]] == ["Pipfile", "services/worker/Pipfile"]
    assert [p["manifest_kind"] for p in api["pipfiles"]] == ["pipfile", "pipfile"]
    text = text_of(client.call("repository_status", repository="orb-api"))
    assert "2 manifest(s) (pipfile)" in text
    assert api["opted_out"] is None


def test_repository_status_names_the_opt_out_topic(fleet: Fleet, tmp_path: Path) -> None:
    """Answered from a copy of the database, by an in-process server."""
    copy = tmp_path / "copy.db"
    shutil.copy(fleet.database, copy)
    with sqlite3.connect(copy) as connection:
        connection.execute(
            "UPDATE repositories SET topics = '[\"pipfleet-ignore\"]' WHERE name = 'orb-good'"
        )
    settings = load_settings(fleet.config, {"PIPFLEET_DATABASE_URL": f"sqlite:///{copy}"})
    excluding = replace(settings, github=replace(settings.github, exclude=("orb-a*",)))

    async def ask(settings: Settings, repository: str) -> dict[str, Any]:
        server = build_server(ServerOptions(settings, FleetData(settings), ROOT / "docs"))
        async with Client(server) as connection:
            result = await connection.call_tool("repository_status", {"repository": repository})
        return structured(result)

    answer = asyncio.run(ask(settings, "orb-good"))
    assert answer["opted_out"] == "topic pipfleet-ignore"
    assert answer["repository"]["pull_request"]["state"] == PullRequestState.MERGED.value
    assert asyncio.run(ask(settings, "orb-api"))["opted_out"] is None
    assert asyncio.run(ask(excluding, "orb-api"))["opted_out"] == "excluded by the configuration"


def test_package_usage_matches_pipfleet_report(client: SyncClient, report: dict[str, Any]) -> None:
    for package in report["packages"]:
        result = client.call("package_usage", package=package["name"].upper())
        answer = structured(result)
        assert answer["package"] == package
        uses = answer["uses"]
        assert {u["repository"] for u in uses} == set(package["repositories"])
        assert sum(u["pinned_to_index"] for u in uses) == package["pinned_entries"]
    common = structured(client.call("package_usage", package="orb_common"))
    assert common["pinned_versions_in_use"] == ["==2.1.0"]
    assert common["pinned_versions_missing"] == []
    assert {u["spec"] for u in common["uses"]} == {"==2.1.0"}


def test_explain_finding_for_every_kind(client: SyncClient) -> None:
    for kind in FindingKind:
        result = client.call("explain_finding", kind=kind.value)
        answer = structured(result)
        assert answer["kind"] == kind.value and answer["severity"] == kind.severity.label
        assert answer["why"] in text_of(result) and answer["what_to_do"]
    assert structured(client.call("explain_finding", kind="foreign-hashes"))[
        "fixed_by_pull_request"
    ]


def test_guide_resources_are_the_docs(client: SyncClient) -> None:
    (guide,) = client.run(lambda c: c.read_resource(GUIDE_URI)).contents
    assert isinstance(guide, TextResourceContents)
    assert guide.text == (ROOT / "docs" / "integration-guides" / "codeartifact.md").read_text()
    standards = ROOT / "docs" / "templates" / "project-standards.md"
    if standards.is_file():  # written by another change; read at request time
        (content,) = client.run(lambda c: c.read_resource(STANDARDS_URI)).contents
        assert isinstance(content, TextResourceContents)
        assert content.text == standards.read_text() and content.mime_type == "text/markdown"


def test_prompts_name_the_tools_and_the_arguments(client: SyncClient) -> None:
    fix = client.run(lambda c: c.get_prompt("fix-pipfile", {"pipfile": API_PIPFILE}))
    text = "\n".join(m.content.text for m in fix.messages if m.content.type == "text")
    assert "check_pipfile" in text and API_PIPFILE in text
    leaky = client.run(lambda c: c.get_prompt("fix-pipfile", {"pipfile": LEAKY_PIPFILE}))
    assert SECRET not in str(leaky.messages) and "aws:****@" in str(leaky.messages)
    update = client.run(
        lambda c: c.get_prompt(
            "update-codeartifact-package", {"package": "orb-common", "version": "2.2.0"}
        )
    )
    text = "\n".join(m.content.text for m in update.messages if m.content.type == "text")
    assert "package_usage" in text
    assert 'pipenv install --index codeartifact "orb-common==2.2.0"' in text


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("check_pipfile", {"pipfile": "#" * (MAX_BLOB_BYTES + 1)}, "over the 1,048,576"),
        ("check_pipfile", {"pipfile": API_PIPFILE, "lock": "[" * 2_000_000}, "Pipfile.lock is"),
        ("check_pipfile", {"pipfile": "[packages]\norb-common = \n"}, "line 2"),
        ("check_pipfile", {}, "pipfile"),
        ("repository_status", {"repository": "orb-apii"}, "did you mean acme/orb-api"),
        ("package_usage", {"package": "orb-comon"}, "did you mean orb-common"),
        ("explain_finding", {"kind": "no-such-kind"}, "missing-index"),
        ("no_such_tool", {}, "no_such_tool"),
    ],
)
def test_bad_input_is_a_tool_error_and_the_server_goes_on(
    client: SyncClient, tool: str, arguments: dict[str, Any], says: str
) -> None:
    result = client.call(tool, **arguments)
    assert result.is_error and says in text_of(result)
    assert "Traceback" not in text_of(result)
    assert not client.call("explain_finding", kind="compliant").is_error


def test_missing_or_locked_database_is_a_tool_error(client: SyncClient, fleet: Fleet) -> None:
    moved = fleet.database.with_suffix(".away")
    fleet.database.rename(moved)
    try:
        for tool in ("fleet_summary", "check_pipfile"):
            arguments = {"pipfile": API_PIPFILE} if tool == "check_pipfile" else {}
            result = client.call(tool, **arguments)
            assert result.is_error and "no database at" in text_of(result), tool
    finally:
        moved.rename(fleet.database)
    holder = sqlite3.connect(fleet.database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = client.call("fleet_summary")
        assert result.is_error and "locked" in text_of(result)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not client.call("fleet_summary").is_error


def test_without_a_scan_the_configs_listing_file_names_the_private_packages(
    fleet: Fleet, tmp_path: Path
) -> None:
    (tmp_path / "names.txt").write_text("orb-common 2.0.0 2.1.0\n")
    config = tmp_path / "pipfleet.toml"
    empty = f'url = "sqlite:///{tmp_path / "none.db"}"'
    text = fleet.config.read_text().replace(f'url = "sqlite:///{fleet.database}"', empty)
    config.write_text(text + '\n[mcp]\nlisting = "names.txt"\n')
    without = tmp_path / "without.toml"
    without.write_text(text)
    for path, listed in ((config, True), (without, False)):
        connection = SyncClient(
            StdioServerParameters(
                command=sys.executable,
                args=["-m", "pipfleet", "mcp", "--config", str(path)],
                cwd=str(tmp_path),  # the listing is found from the config's folder, not here
            )
        )
        try:
            result = connection.call("check_pipfile", pipfile='[packages]\norb-common = "*"\n')
        finally:
            connection.close()
        if listed:
            answer = structured(result)
            assert answer["listing"] == str(tmp_path / "names.txt")
            assert "missing-source" in {f["kind"] for f in answer["findings"]}
        else:
            assert result.is_error and "set mcp.listing in the config" in text_of(result)
