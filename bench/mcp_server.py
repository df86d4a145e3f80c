"""Benchmark: `pipfleet mcp` as an MCP client sees it, through the SDK's own client.

(Not bench/mcp.py: a script's folder is first on sys.path, so that name would hide the SDK.)

1. A synthetic fleet (``make_fleet``, ``--repos``) is served by the sandbox in this
   process and scanned once into a fresh SQLite database, with the private listing of
   bench/check_corpus.py (about 30% of the corpus's registry names) given as the scan's
   listing file: the database then holds the listing ``check_pipfile`` judges corpus
   Pipfiles by, as a real one holds CodeArtifact's. The sandbox stops before timing.
2. Start: ``--starts`` times, a fresh ``pipfleet mcp`` (the venv's console script, as an
   MCP client runs it) is spawned over stdio; the time from just before the spawn to the
   first ``check_pipfile`` answer (handshake included) is one sample.
3. Throughput: one server per transport (stdio, then Streamable HTTP on loopback) answers
   ``check_pipfile`` for every corpus Pipfile (with its Pipfile.lock when there is one),
   one call at a time, ``--rounds`` rounds after an untimed warm-up round.

Prints the figures and rewrites its own section of BENCHMARKS.md (``--no-write``: print
only). Timings belong here, never in the test suite.

    .venv/bin/python bench/mcp_server.py
    .venv/bin/python bench/mcp_server.py --starts 3 --rounds 2 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _report import ROOT, context_lines, update_section  # bench/ is first on sys.path
from check_corpus import DEFAULT_CORPUS, build_listing, load_corpus
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult
from scan import code_line

from pipfleet.config import parse_settings
from pipfleet.jobs.setup import scan_fleet
from pipfleet.sandbox.clientconfig import config_text, environment
from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.makefleet import make_fleet
from pipfleet.sandbox.server import SandboxServer

SECTION_TITLE = "## mcp_server: the MCP server (`pipfleet mcp`), start and check_pipfile answers"
PIPFLEET = str(Path(sys.executable).parent / "pipfleet")


@dataclass(frozen=True)
class Call:
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Throughput:
    transport: str
    rounds: list[float]  # seconds per round
    calls: int  # per round
    errors: int  # tool errors per round (the invalid corpus Pipfiles)

    def rate(self, seconds: float) -> float:
        return self.calls / seconds


def corpus_calls(corpus: Path) -> list[Call]:
    calls = []
    for item in load_corpus(corpus):
        path = Path(item.path)
        arguments: dict[str, Any] = {"pipfile": item.text, "path": f"{path.parent.name}/Pipfile"}
        lock = path.parent / "Pipfile.lock"
        if lock.is_file():
            arguments["lock"] = lock.read_bytes().decode("utf-8")
        calls.append(Call(arguments))
    return calls


def scanned_database(root: Path, repos: int, corpus: Path) -> tuple[Path, int]:
    """A fleet scanned once with the corpus listing; the config file and the listing's size."""
    listing, _ = build_listing(load_corpus(corpus))
    make_fleet(root / "fleet", repos, seed=7)
    world = load_fleet(root / "fleet")
    database = root / "pipfleet.db"
    with SandboxServer(world) as sandbox:
        text = config_text(sandbox.urls, world, "acme")
        env = environment(sandbox.urls, world) | {"PIPFLEET_DATABASE_URL": f"sqlite:///{database}"}
        scan_fleet(parse_settings(tomllib.loads(text), env), listing_override=listing)
    config = root / "pipfleet.toml"
    config.write_text(text + f'\n[database]\nurl = "sqlite:///{database}"\n')
    return config, len(listing)


def _checked(result: Any) -> CallToolResult:
    assert isinstance(result, CallToolResult), type(result)
    return result


async def first_answer(config: Path, call: Call) -> float:
    started = time.perf_counter()
    server = StdioServerParameters(command=PIPFLEET, args=["mcp", "--config", str(config)])
    async with Client(server) as client:
        result = _checked(await client.call_tool("check_pipfile", call.arguments))
        elapsed = time.perf_counter() - started
    assert not result.is_error, result.content
    return elapsed


async def answer_rounds(
    server: StdioServerParameters | str, transport: str, calls: Sequence[Call], rounds: int
) -> Throughput:
    times = []
    errors = 0
    async with Client(server) as client:
        for round_ in range(rounds + 1):  # the first is the warm-up
            errors = 0
            started = time.perf_counter()
            for call in calls:
                result = _checked(await client.call_tool("check_pipfile", call.arguments))
                errors += bool(result.is_error)
            if round_:
                times.append(time.perf_counter() - started)
    return Throughput(transport, times, len(calls), errors)


def http_rounds(config: Path, calls: Sequence[Call], rounds: int) -> Throughput:
    process = subprocess.Popen(
        [PIPFLEET, "mcp", "--config", str(config), "--http", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"on (http://\S+/mcp) ", line)
        if found is None:
            raise SystemExit(f"pipfleet mcp --http did not start: {line!r}")
        return asyncio.run(answer_rounds(found.group(1), "Streamable HTTP", calls, rounds))
    finally:
        process.terminate()
        process.wait(timeout=20)


def render(
    command: str,
    repos: int,
    private: int,
    starts: list[float],
    results: Sequence[Throughput],
    load: tuple[float, float],
) -> str:
    first = results[0]
    lines = [
        SECTION_TITLE,
        "",
        *context_lines(command),
        code_line(),
        f"- Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f} on "
        f"{os.cpu_count()} cores (a shared machine: best and median show the noise)",
        f"- Data: a {repos}-repository synthetic fleet (make_fleet, seed 7) scanned once by the "
        f"sandbox into SQLite with bench/check_corpus.py's listing ({private} private names, "
        "about 30% of the corpus's registry names): check_pipfile judges by that listing, "
        "asking the database on every call whether a newer one was recorded",
        f"- Calls: every corpus Pipfile, {first.calls} a round, with its Pipfile.lock where it "
        f"has one; {first.errors} a round are the deliberately invalid files, answered with a "
        "tool error; one call at a time, the SDK's Client, after one untimed round",
        f"- Start: {len(starts)} fresh `pipfleet mcp` processes over stdio, from just before "
        "the spawn to the first check_pipfile answer (initialize handshake included)",
        "",
        "| Measure | Best | Median |",
        "|---|---:|---:|",
        f"| process start to first check_pipfile answer (stdio) | {min(starts):.2f} s | "
        f"{statistics.median(starts):.2f} s |",
    ]
    for result in results:
        best, median = min(result.rounds), statistics.median(result.rounds)
        lines.append(
            f"| check_pipfile answers/s ({result.transport}, {len(result.rounds)} rounds) | "
            f"{result.rate(best):,.0f} | {result.rate(median):,.0f} |"
        )
    lines += [
        "",
        "An answer is the whole round trip: JSON-RPC framing, argument validation, the "
        "listing's freshness asked of the database, `check_text` in diff mode (audit, "
        "rewrite, diff), guidance per finding, and the structured content checked against "
        "its output schema by the server and again by the client (the SDK's Client validates "
        "every result with jsonschema). bench/check_corpus.py times the engine alone.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / DEFAULT_CORPUS)
    parser.add_argument("--repos", type=int, default=40)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    command = " ".join([".venv/bin/python bench/mcp_server.py", *(argv or sys.argv[1:])])
    calls = corpus_calls(args.corpus)
    valid = next(call for call in calls if "[packages]" in call.arguments["pipfile"])
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pipfleet-bench-mcp-") as folder:
        config, private = scanned_database(Path(folder), args.repos, args.corpus)
        starts = [asyncio.run(first_answer(config, valid)) for _ in range(args.starts)]
        stdio = StdioServerParameters(command=PIPFLEET, args=["mcp", "--config", str(config)])
        results = [
            asyncio.run(answer_rounds(stdio, "stdio", calls, args.rounds)),
            http_rounds(config, calls, args.rounds),
        ]
    load = (load_before, os.getloadavg()[0])
    section = render(command, args.repos, private, starts, results, load)
    print(section)
    if not args.no_write:
        update_section(SECTION_TITLE, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
