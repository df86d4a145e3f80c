"""A database filled by sandbox scans, and `pipfleet mcp` driven by the SDK's own client.

One database for the package and one server per test module: starting a server costs
about a second, so tests share it (and prove on the way that it keeps answering).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult
from tests.conftest import write_fleet
from tests.report.conftest import fill

from pipfleet.assistant.fleetdata import FleetData
from pipfleet.config import load_settings
from pipfleet.engine.listing import listing_text
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.server import SandboxServer

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Fleet:
    config: Path
    database: Path
    listing: Path  # for `pipfleet check`: the names the scans recorded
    source_url: str

    def pipfleet(
        self, *args: str | Path, cwd: Path | None = None, ok: tuple[int, ...] = (0, 1)
    ) -> str:
        """`pipfleet ...` on this fleet's data: its stdout, the exit code one of ``ok``."""
        done = subprocess.run(
            [sys.executable, "-m", "pipfleet", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=60,
        )
        assert done.returncode in ok, done.stderr
        return done.stdout


@pytest.fixture(scope="package")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Two sandbox scans and three pull requests (tests/report/conftest.py's ``fill``)."""
    root = tmp_path_factory.mktemp("mcp-fleet")
    database = root / "pipfleet.db"
    with pytest.MonkeyPatch.context() as env:
        # What tests/conftest.py's autouse fixtures set, for this longer-lived fixture.
        env.setenv("AWS_ACCESS_KEY_ID", "sandbox")
        env.setenv("AWS_SECRET_ACCESS_KEY", "sandbox")
        env.setenv("AWS_CONFIG_FILE", "/dev/null")
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        env.setenv("XDG_CACHE_HOME", str(root / "xdg-cache"))
        world = load_fleet(write_fleet(root / "fleet"))
        with SandboxServer(world) as sandbox:
            fill(sandbox, world, f"sqlite:///{database}")
            text = config_text(sandbox.urls, world, "acme")
            source_url = sandbox.urls.private_index_with_auth()
    config = root / "pipfleet.toml"
    config.write_text(text + f'\n[database]\nurl = "sqlite:///{database}"\n')
    recorded = FleetData(load_settings(config)).listing()
    listing = root / "private-packages.txt"
    listing.write_text(listing_text(recorded.listing))
    yield Fleet(config, database, listing, source_url)


class SyncClient:
    """The SDK's ``Client`` on a thread of its own, called from synchronous tests.

    The client's context is entered and left by one task, as anyio requires; tests hand
    it coroutines to run through a queue.
    """

    def __init__(self, server: StdioServerParameters | str):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        ready: Future[None] = Future()
        self._queue: asyncio.Queue[Any] | None = None
        self._main = asyncio.run_coroutine_threadsafe(self._serve(server, ready), self._loop)
        ready.result(timeout=60)

    async def _serve(self, server: StdioServerParameters | str, ready: Future[None]) -> None:
        self._queue = asyncio.Queue()
        try:
            async with Client(server) as client:
                ready.set_result(None)
                while (item := await self._queue.get()) is not None:
                    work, done = item
                    try:
                        done.set_result(await work(client))
                    except Exception as exc:
                        done.set_exception(exc)
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    def run(self, work: Callable[[Client], Awaitable[T]]) -> T:
        done: Future[T] = Future()
        assert self._queue is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (work, done))
        return done.result(timeout=60)

    def call(self, tool: str, **arguments: Any) -> CallToolResult:
        result = self.run(lambda client: client.call_tool(tool, arguments))
        assert isinstance(result, CallToolResult)
        return result

    def close(self) -> None:
        assert self._queue is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, None)
        self._main.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def stdio_parameters(fleet: Fleet, *args: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "pipfleet", "mcp", "--config", str(fleet.config), *args],
        cwd=str(ROOT),
    )


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    # What went over the wire is JSON: nothing in it needs more than json to read.
    return dict(json.loads(json.dumps(result.structured_content)))
