"""`pipfleet mcp --http`: Streamable HTTP on loopback with the dashboard's Host checks,
driven by the SDK's client; and the command's usage errors."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.conftest import API_PIPFILE

from pipfleet.assistant.server import SUMMARY_URI
from pipfleet.cli import main

from .conftest import ROOT, Fleet, SyncClient, structured, text_of


@dataclass(frozen=True)
class Running:
    url: str
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def http_server(fleet: Fleet) -> Iterator[Running]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipfleet", "mcp", "--config", str(fleet.config)]
        + ["--http", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"on (http://127\.0\.0\.1:\d+/mcp) ", line)
    assert found, line + (process.stderr.read() if process.stderr else "")
    yield Running(found.group(1), process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    # Interrupted, as a shell reports Ctrl-C (like `pipfleet sandbox serve`), quietly.
    assert process.returncode == 130 and "Traceback" not in stderr, stderr


@pytest.fixture(scope="module")
def client(http_server: Running) -> Iterator[SyncClient]:
    connection = SyncClient(http_server.url)
    yield connection
    connection.close()


def test_lists_and_answers_over_streamable_http(client: SyncClient, fleet: Fleet) -> None:
    tools = client.run(lambda c: c.list_tools()).tools
    assert len(tools) == 6 and all(tool.output_schema for tool in tools)
    assert len(client.run(lambda c: c.list_resources()).resources) == 3
    assert len(client.run(lambda c: c.list_prompts()).prompts) == 2
    report = json.loads(fleet.pipfleet("report", "--config", fleet.config, "-f", "json"))
    summary = structured(client.call("fleet_summary"))["summary"]
    assert {key: summary[key] for key in report["summary"]} == report["summary"]
    (content,) = client.run(lambda c: c.read_resource(SUMMARY_URI)).contents
    assert json.loads(content.text)["summary"] == summary  # type: ignore[union-attr]
    answer = structured(client.call("check_pipfile", pipfile=API_PIPFILE))
    assert {"missing-source", "missing-index"} <= {f["kind"] for f in answer["findings"]}
    assert answer["diff"].startswith("--- a/Pipfile")


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("check_pipfile", {"pipfile": "[packages"}),
        ("repository_status", {"repository": "nope"}),
        ("check_pipfile", {"pipfile": "x" * 1_100_000}),
    ],
)
def test_bad_input_is_a_tool_error_and_the_server_goes_on(
    client: SyncClient, tool: str, arguments: dict[str, Any]
) -> None:
    result = client.call(tool, **arguments)
    assert result.is_error and "Traceback" not in text_of(result)
    assert not client.call("repository_status", repository="orb-good").is_error


def _initialize(url: str, **headers: str) -> httpx.Response:
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "0"},
        },
    }
    return httpx.post(
        url,
        json=message,
        headers={"Accept": "application/json, text/event-stream", **headers},
        timeout=10,
    )


def test_host_and_origin_must_be_the_served_address(http_server: Running) -> None:
    """As for `pipfleet serve`: a page elsewhere cannot reach it through DNS rebinding."""
    port = http_server.url.split(":")[2].split("/")[0]
    assert _initialize(http_server.url).status_code == 200
    assert _initialize(http_server.url, Host=f"localhost:{port}").status_code == 200
    assert _initialize(http_server.url, Host="evil.example").status_code == 400
    assert _initialize(http_server.url, Host=f"evil.example:{port}").status_code == 400
    refused = _initialize(http_server.url, Origin="http://evil.example")
    assert refused.status_code == 403
    assert _initialize(http_server.url, Origin="http://localhost:6274").status_code == 200


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--http", "--host", "0.0.0.0"], "loopback addresses only"),
        (["--port", "9999"], "need --http"),
        (["--listing", "/no/such/listing"], "cannot read listing"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    fleet: Fleet,
    arguments: list[str],
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process through the CLI's own entry point: each refused before serving anything."""
    monkeypatch.setattr(sys, "argv", ["pipfleet", "mcp", "--config", str(fleet.config), *arguments])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert err.startswith("pipfleet: error:") and says in err
    assert err.count("\n") == 1 and out == ""
