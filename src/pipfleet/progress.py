"""How a long job shows progress: a Rich bar on a terminal, plain or JSON lines otherwise."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipfleet.jobs.scan import Progress as ProgressCallback

PLAIN_EVERY = 50  # repositories between two plain progress lines


def log_line(stream: TextIO, log_format: str, event: str, **fields: object) -> None:
    """One structured line: ``key=value`` text or a JSON object."""
    if log_format == "json":
        stream.write(json.dumps({"ts": round(time.time(), 3), "event": event, **fields}) + "\n")
    else:
        stream.write(f"{event}: " + " ".join(f"{k}={v}" for k, v in fields.items()) + "\n")
    stream.flush()


@contextmanager
def scan_progress(log_format: str, stream: TextIO = sys.stderr) -> Iterator[ProgressCallback]:
    """A progress callback for the scan job, shown the way ``stream`` can show it."""
    if log_format == "text" and stream.isatty():
        bar = Progress(
            TextColumn("scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=True,
        )
        task = bar.add_task("scan", total=None)

        def on_rich(phase: str, count: int) -> None:
            if phase == "listed":
                bar.update(task, total=count)
            elif phase == "repository":
                bar.advance(task, count)

        with bar:
            yield on_rich
        return

    done = 0
    total = 0

    def on_line(phase: str, count: int) -> None:
        nonlocal done, total
        if phase == "listing":
            log_line(stream, log_format, "scan.listing", private_packages=count)
        elif phase == "listed":
            total = count
            log_line(stream, log_format, "scan.repositories", matching=count)
        elif phase == "repository":
            done += count
            if done % PLAIN_EVERY == 0 or done == total:
                log_line(stream, log_format, "scan.progress", done=done, total=total)

    yield on_line
