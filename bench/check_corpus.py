"""Benchmark: audit and fix throughput over the shared corpus of real Pipfiles.

Loads every corpus Pipfile once (bytes decoded as UTF-8, line endings untouched),
repeats the list to about ``--files`` texts, builds a private-package listing of
about 30% of the corpus's registry package names, then times, over ``--rounds``
rounds each:

* audit -- ``audit_text`` on every text;
* fix   -- ``audit_text`` then ``rewrite`` for every text that has fixable findings
  (texts with nothing to fix count as processed too).

The deliberately invalid corpus files (NEGATIVE-CASE in MANIFEST.tsv) are included:
they cost one failed parse each and produce a ``parse-error`` finding.

Prints files/s and rewrites its own section of BENCHMARKS.md (other sections are
kept). Timings belong here, never in the test suite.

    .venv/bin/python bench/check_corpus.py            # what `make bench` runs
    .venv/bin/python bench/check_corpus.py --profile  # cProfile one audit pass instead
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import platform
import pstats
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _report import BENCHMARKS, cpu_model, update_section  # bench/ is first on sys.path

from pipfleet.engine.audit import AuditOptions, audit_text
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import parse
from pipfleet.engine.rewrite import rewrite
from pipfleet.errors import FixError, PipfileError, RewriteError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = "../shared/corpus/pipfiles"
SECTION_TITLE = "## check_corpus: audit and fix over the corpus"

OPTIONS = AuditOptions(
    index_name="codeartifact",
    source_url=(
        "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-111122223333.d.codeartifact."
        "eu-west-1.amazonaws.com/pypi/private/simple/"
    ),
)
#: Targets in Pipfiles per second, judged on the median round.
TARGETS = {"audit": 1000.0, "fix": 200.0}
#: A registry package is private when crc32(canonical name) % 10 < PRIVATE_TENTHS.
PRIVATE_TENTHS = 3


@dataclass(frozen=True)
class CorpusFile:
    path: str
    text: str
    negative: bool  # NEGATIVE-CASE in the manifest: deliberately invalid TOML


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: list[float]
    files: int

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def rate(self, seconds: float) -> float:
        return self.files / seconds

    def ms_per_file(self, seconds: float) -> float:
        return 1000.0 * seconds / self.files


def load_corpus(corpus: Path) -> list[CorpusFile]:
    manifest = corpus / "MANIFEST.tsv"
    negative: set[str] = set()
    if manifest.is_file():
        for row in manifest.read_text(encoding="utf-8").splitlines()[1:]:
            cells = row.split("\t")
            if len(cells) >= 5 and "NEGATIVE-CASE" in cells[4]:
                negative.add(cells[0])
    files = []
    for pipfile in sorted(corpus.glob("*/Pipfile")):
        text = pipfile.read_bytes().decode("utf-8")
        files.append(CorpusFile(str(pipfile), text, pipfile.parent.name in negative))
    if not files:
        raise SystemExit(f"no */Pipfile under {corpus}")
    return files


def build_listing(corpus: Sequence[CorpusFile]) -> tuple[Listing, int]:
    """About 30% of the corpus's registry package names (chosen by hash), nothing else.

    Returns the listing and how many distinct registry names the corpus has.
    """
    names: set[str] = set()
    for item in corpus:
        try:
            pipfile = parse(item.text, item.path)
        except PipfileError:
            continue
        names.update(e.name for e in pipfile.entries() if e.non_registry_key is None)
    private = sorted(n for n in names if zlib.crc32(n.encode()) % 10 < PRIVATE_TENTHS)
    return Listing.of(private), len(names)


def audit_pass(texts: Sequence[tuple[str, str]], listing: Listing) -> None:
    for path, text in texts:
        audit_text(text, path, listing, OPTIONS)


@dataclass
class FixCounts:
    processed: int = 0
    parse_errors: int = 0
    with_fixable: int = 0
    rewritten: int = 0  # the rewrite changed the text
    failed: int = 0  # FixError / RewriteError


def fix_pass(texts: Sequence[tuple[str, str]], listing: Listing) -> FixCounts:
    counts = FixCounts()
    for path, text in texts:
        counts.processed += 1
        pipfile, report = audit_text(text, path, listing, OPTIONS)
        if pipfile is None:
            counts.parse_errors += 1
            continue
        if not report.fixable:
            continue
        counts.with_fixable += 1
        try:
            new_text = rewrite(pipfile, report, OPTIONS.source_url)
        except (FixError, RewriteError):
            counts.failed += 1
            continue
        if new_text != text:
            counts.rewritten += 1
    return counts


def time_rounds(name: str, run: Callable[[], object], rounds: int, files: int) -> Timing:
    run()  # warm-up, not timed: first-call costs (regex compiles, lazy imports)
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return Timing(name, seconds, files)


def render_section(
    *,
    command: str,
    corpus_files: Sequence[CorpusFile],
    repeats: int,
    files: int,
    listing: Listing,
    registry_names: int,
    timings: Sequence[Timing],
    counts: FixCounts,
    rounds: int,
) -> str:
    negatives = sum(item.negative for item in corpus_files)
    lines = [
        SECTION_TITLE,
        "",
        f"- Date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Machine: {platform.platform()}; CPU: {cpu_model()}; os.cpu_count() = {os.cpu_count()}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        f"- Command: `{command}` (`make bench` runs `.venv/bin/python bench/check_corpus.py`)",
        f"- Files: {files} per round = {len(corpus_files)} corpus Pipfiles x {repeats}, "
        f"of which {negatives * repeats} are the {negatives} deliberately invalid "
        "(NEGATIVE-CASE) files: they are included and each gives one `parse-error` finding",
        f"- Listing: {len(listing)} private names, the registry package names of the corpus "
        f"with crc32(canonical name) % 10 < {PRIVATE_TENTHS} "
        f"({len(listing)} of {registry_names} distinct registry names)",
        f"- Options: `AuditOptions(index_name={OPTIONS.index_name!r}, "
        "source_url=<CodeArtifact URL>)`",
        f"- Rounds: {rounds} timed rounds after one untimed warm-up pass; "
        "time.perf_counter around a whole pass",
        f"- Fix pass: {counts.with_fixable} of {counts.processed} files had fixable findings, "
        f"{counts.rewritten} were rewritten, {counts.failed} rewrites failed, "
        f"{counts.parse_errors} were parse errors",
        "",
        "| Measure | Best files/s | Median files/s | Best ms/file | Median ms/file |",
        "|---|---:|---:|---:|---:|",
    ]
    for timing in timings:
        lines.append(
            f"| {timing.name} | {timing.rate(timing.best):,.0f} | {timing.rate(timing.median):,.0f}"
            f" | {timing.ms_per_file(timing.best):.3f} | {timing.ms_per_file(timing.median):.3f} |"
        )
    lines += [
        "",
        "Targets (judged on the median round):",
        "",
    ]
    for timing in timings:
        target = TARGETS[timing.name]
        rate = timing.rate(timing.median)
        verdict = "met" if rate >= target else "not met"
        lines.append(f"- {timing.name} >= {target:,.0f} Pipfiles/s: **{verdict}** ({rate:,.0f}/s)")
    lines += [
        "",
        '"audit" is `audit_text` per file; "fix" is `audit_text` then `rewrite` for files '
        "with fixable findings (no re-audit, no diff, no disk write: "
        "`pipfleet check --fix` does more per file than this).",
    ]
    return "\n".join(lines) + "\n"


def profile_audit(texts: Sequence[tuple[str, str]], listing: Listing, top: int) -> None:
    audit_pass(texts, listing)  # warm-up
    profiler = cProfile.Profile()
    profiler.enable()
    audit_pass(texts, listing)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"pipfleet", top)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        default=DEFAULT_CORPUS,
        help=f"folder of */Pipfile (relative to the repo root; default {DEFAULT_CORPUS})",
    )
    parser.add_argument("--files", type=int, default=1000, help="about this many files a round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per measure")
    parser.add_argument(
        "--no-write", action="store_true", help="print the results, leave BENCHMARKS.md alone"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile one audit pass and print the hotspots instead of benchmarking",
    )
    args = parser.parse_args(argv)
    if args.files < 1 or args.rounds < 1:
        parser.error("--files and --rounds must be at least 1")

    corpus_dir = Path(args.corpus)
    if not corpus_dir.is_absolute():
        corpus_dir = (ROOT / corpus_dir).resolve()
    corpus = load_corpus(corpus_dir)
    repeats = max(1, round(args.files / len(corpus)))  # whole copies keep the corpus's mix
    texts = [(item.path, item.text) for item in corpus] * repeats
    listing, registry_names = build_listing(corpus)

    if args.profile:
        profile_audit(texts, listing, top=25)
        return 0

    # Sanity, untimed: invalid files give exactly one parse-error each, valid files none.
    for item in corpus:
        _, report = audit_text(item.text, item.path, listing, OPTIONS)
        if (report.parse_error is not None) != item.negative:
            raise SystemExit(f"{item.path}: parse-error does not match the manifest")
    counts = fix_pass(texts, listing)

    audit = time_rounds("audit", lambda: audit_pass(texts, listing), args.rounds, len(texts))
    fix = time_rounds("fix", lambda: fix_pass(texts, listing), args.rounds, len(texts))
    timings = [audit, fix]

    print(
        f"{len(texts)} files a round ({len(corpus)} corpus Pipfiles x {repeats}, "
        f"{sum(i.negative for i in corpus) * repeats} invalid), listing of {len(listing)} names, "
        f"{args.rounds} rounds"
    )
    print(
        f"fix: {counts.with_fixable} files with fixable findings, {counts.rewritten} rewritten, "
        f"{counts.failed} failed, {counts.parse_errors} parse errors"
    )
    for timing in timings:
        target = TARGETS[timing.name]
        median_rate = timing.rate(timing.median)
        print(
            f"{timing.name:>5}: best {timing.rate(timing.best):8,.0f} files/s "
            f"({timing.ms_per_file(timing.best):.3f} ms/file), median {median_rate:8,.0f} files/s "
            f"({timing.ms_per_file(timing.median):.3f} ms/file); target >= {target:,.0f}: "
            f"{'met' if median_rate >= target else 'NOT met'}"
        )

    if not args.no_write:
        command = " ".join([".venv/bin/python", "bench/check_corpus.py", *sys.argv[1:]])
        if argv is not None:
            command = " ".join([".venv/bin/python", "bench/check_corpus.py", *argv])
        section = render_section(
            command=command,
            corpus_files=corpus,
            repeats=repeats,
            files=len(texts),
            listing=listing,
            registry_names=registry_names,
            timings=timings,
            counts=counts,
            rounds=args.rounds,
        )
        update_section(SECTION_TITLE, section, BENCHMARKS)
        print(f"updated {BENCHMARKS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
