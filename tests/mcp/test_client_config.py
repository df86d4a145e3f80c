"""config/mcp-client.json: the registration README shows, and a command line pipfleet takes."""

from __future__ import annotations

import json
import re

import typer.main

from pipfleet.cli import app

from .conftest import ROOT

# The variables pipfleet mcp reads besides its options.
KNOWN_ENV = {"PIPFLEET_CONFIG", "PIPFLEET_DATABASE_URL", "PIPFLEET_LISTING"}


def test_the_example_is_what_readme_shows_and_pipfleet_mcp_accepts() -> None:
    example = json.loads((ROOT / "config" / "mcp-client.json").read_text())
    readme = (ROOT / "README.md").read_text()
    shown = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, re.S)]
    assert example in shown
    (entry,) = example["mcpServers"].values()
    assert set(entry) == {"command", "args", "env"}
    assert entry["command"].endswith("pipfleet") and entry["args"][0] == "mcp"
    assert set(entry["env"]) <= KNOWN_ENV
    command = typer.main.get_command(app).commands["mcp"]  # type: ignore[attr-defined]
    context = command.make_context("mcp", list(entry["args"][1:]))
    assert context.params["config"] is not None and not context.params["http"]
