"""Benchmark: audit and fix throughput per manifest kind over the shared corpora.

The uv and Poetry ``pyproject.toml`` files and the requirements files of
``../shared/corpus/{uv,poetry,requirements}`` (real public files) are each repeated to
about ``--files`` texts a kind. The private listing is about 30% of each kind's registry
package names (crc32 of the name, as bench/check_corpus.py chooses them), so most files
have private packages without a CodeArtifact index. Requirements files get a CodeArtifact
``--extra-index-url`` line on top (with PyPI as ``--index-url``), the setup their audit is
about; ``-r``/``-c`` includes are not in the corpus and count as missing.

* audit -- parse and audit as the scan does (uv and Poetry: ``projects.project_report``,
  no lock, so the listing's private dependencies are followed; requirements: load the
  include tree, audit it and attach the proposals, ``audit_with_proposals``);
* fix   -- audit, then the kind's rewrite for a file with something to fix
  (uvrewrite.rewrite, poetryrewrite.rewrite, requirementsrewrite.rewrite).

Rewrites its own section of BENCHMARKS.md. Issue 16 sets no target for these kinds; the
section shows the load average, as the figures move with it.

    .venv/bin/python bench/manifests.py
    .venv/bin/python bench/manifests.py --files 200 --rounds 3 --no-write
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from _report import BENCHMARKS, ROOT, context_lines, update_section

from pipfleet.engine import (
    poetryproject,
    poetryrewrite,
    projects,
    requirements,
    requirementsincludes,
    requirementsrewrite,
    uvproject,
    uvrewrite,
)
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport
from pipfleet.engine.listing import Listing
from pipfleet.errors import FixError, PipfileError, RewriteError

SECTION_TITLE = "## manifests: audit and fix per manifest kind (uv, Poetry, requirements)"
CORPUS = ROOT.parent / "shared" / "corpus"
CODEARTIFACT = (
    "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-111122223333.d.codeartifact."
    "eu-west-1.amazonaws.com/pypi/private/simple/"
)
OPTIONS = AuditOptions(index_name="codeartifact", source_url=CODEARTIFACT)
LEAK = f"--index-url https://pypi.org/simple\n--extra-index-url {CODEARTIFACT}\n"
PRIVATE_TENTHS = 3


@dataclass(frozen=True)
class Kind:
    name: str
    pattern: str  # corpus files of this kind, under CORPUS
    names: Callable[[str, str], list[str]]  # registry package names of one file
    audit: Callable[[str, str, Listing], FileReport]
    fix: Callable[[str, str, Listing], bool]  # whether the rewrite changed anything


def _uv_names(text: str, path: str) -> list[str]:
    return [r.name for r in uvproject.parse(text, path).requirements if not r.direct_url]


# The audits are the scan's: a manifest with what its lock adds (here, without a lock, the
# private dependencies the listing says it needs), a requirements file with its proposals.
def _uv_audit(text: str, path: str, listing: Listing) -> FileReport:
    return projects.project_report(uvproject.parse(text, path), listing, OPTIONS, None)


def _uv_fix(text: str, path: str, listing: Listing) -> bool:
    report = _uv_audit(text, path, listing)
    return bool(report.fixable) and uvrewrite.rewrite(text, report, listing, OPTIONS) != text


def _poetry_names(text: str, path: str) -> list[str]:
    project = poetryproject.parse(text, path)
    return [d.name for d in project.dependencies if d.non_registry_key is None]


def _poetry_audit(text: str, path: str, listing: Listing) -> FileReport:
    return projects.project_report(poetryproject.parse(text, path), listing, OPTIONS, None)


def _poetry_fix(text: str, path: str, listing: Listing) -> bool:
    report = _poetry_audit(text, path, listing)
    return bool(report.fixable) and poetryrewrite.rewrite(text, report) != text


def _requirements_names(text: str, path: str) -> list[str]:
    parsed = requirements.parse(text, path)
    return [r.name for r in parsed.requirements if r.name and r.url is None]


def _requirements_audit(text: str, path: str, listing: Listing) -> FileReport:
    return requirementsrewrite.audit_with_proposals(path, {path: text}, listing, OPTIONS)


def _requirements_fix(text: str, path: str, listing: Listing) -> bool:
    tree = requirementsincludes.load_tree(path, {path: text})
    report = requirementsincludes.audit_loaded(tree, listing, OPTIONS)
    return bool(requirementsrewrite.rewrite(tree, report, listing, OPTIONS))


KINDS = (
    Kind("uv", "uv/*/pyproject.toml", _uv_names, _uv_audit, _uv_fix),
    Kind("Poetry", "poetry/*/pyproject.toml", _poetry_names, _poetry_audit, _poetry_fix),
    Kind(
        "requirements",
        "requirements/*/*.txt",
        _requirements_names,
        _requirements_audit,
        _requirements_fix,
    ),
)


@dataclass
class Measured:
    kind: str
    corpus_files: int
    unreadable: int  # corpus files the kind's parser refuses (counted, still timed)
    files: int  # per round
    private: int
    registry_names: int
    rewritten: int
    refused: int  # rewrites that raised FixError/RewriteError (the file is left alone)
    audit: list[float]
    fix: list[float]

    def rate(self, seconds: list[float]) -> float:
        return self.files / statistics.median(seconds)


def load(kind: Kind) -> list[tuple[str, str]]:
    texts = []
    for path in sorted(CORPUS.glob(kind.pattern)):
        text = path.read_bytes().decode("utf-8")
        texts.append(
            (str(path.relative_to(CORPUS)), LEAK + text if kind.name == "requirements" else text)
        )
    if not texts:
        raise SystemExit(f"no {kind.pattern} under {CORPUS}")
    return texts


def listing_for(kind: Kind, texts: Sequence[tuple[str, str]]) -> tuple[Listing, int, int]:
    names: set[str] = set()
    unreadable = 0
    for path, text in texts:
        try:
            names.update(kind.names(text, path))
        except PipfileError:
            unreadable += 1
    private = sorted(n for n in names if zlib.crc32(n.encode()) % 10 < PRIVATE_TENTHS)
    return Listing.of(private), len(names), unreadable


def timed(run: Callable[[], object], rounds: int) -> list[float]:
    run()  # warm-up: lazy imports, regex compiles
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def measure(kind: Kind, files: int, rounds: int) -> Measured:
    corpus = load(kind)
    listing, registry_names, unreadable = listing_for(kind, corpus)
    texts = corpus * max(1, round(files / len(corpus)))
    rewritten = refused = 0

    def audit_all() -> None:
        for path, text in texts:
            try:
                kind.audit(text, path, listing)
            except PipfileError:
                pass  # the scan records it as a parse error

    def fix_all() -> tuple[int, int]:
        changed = failed = 0
        for path, text in texts:
            try:
                changed += kind.fix(text, path, listing)
            except PipfileError:
                pass
            except (FixError, RewriteError):
                failed += 1
        return changed, failed

    rewritten, refused = fix_all()
    return Measured(
        kind.name,
        len(corpus),
        unreadable,
        len(texts),
        len(listing),
        registry_names,
        rewritten,
        refused,
        timed(audit_all, rounds),
        timed(fix_all, rounds),
    )


def render(command: str, results: Sequence[Measured], rounds: int, load: float) -> str:
    lines = [
        SECTION_TITLE,
        "",
        *context_lines(command),
        f"- Load average (1 min) before: {load:.2f}",
        f"- Corpora: ../shared/corpus/{{uv,poetry,requirements}} (real public files); private "
        f"listing: the registry names with crc32 % 10 < {PRIVATE_TENTHS}; requirements files "
        "get PyPI as --index-url and CodeArtifact as --extra-index-url on top",
        f"- Rounds: {rounds} timed after one warm-up; files/s from the median round",
        "",
        "| Kind | Corpus files (unreadable) | Files a round | Private / registry names "
        "| Rewritten (refused) a round | Audit files/s | Fix files/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        lines.append(
            f"| {m.kind} | {m.corpus_files} ({m.unreadable}) | {m.files} | {m.private} / "
            f"{m.registry_names} | {m.rewritten} ({m.refused}) | {m.rate(m.audit):,.0f} | "
            f"{m.rate(m.fix):,.0f} |"
        )
    lines += [
        "",
        '"Refused" rewrites raised FixError or RewriteError: the file is left alone and its '
        "findings stay in the report (e.g. sources written inline, which have no table to add "
        "a pin to).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="about this many files a kind")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per measure")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    if args.files < 1 or args.rounds < 1:
        parser.error("--files and --rounds must be at least 1")
    load = os.getloadavg()[0]
    results = [measure(kind, args.files, args.rounds) for kind in KINDS]
    for m in results:
        print(
            f"{m.kind:>12}: audit {m.rate(m.audit):8,.0f} files/s, fix {m.rate(m.fix):8,.0f} "
            f"files/s ({m.files} files, {m.rewritten} rewritten, {m.refused} refused)"
        )
    if not args.no_write:
        words = sys.argv[1:] if argv is None else list(argv)
        command = " ".join([".venv/bin/python", "bench/manifests.py", *words])
        update_section(SECTION_TITLE, render(command, results, args.rounds, load), BENCHMARKS)
        print(f"updated {BENCHMARKS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
