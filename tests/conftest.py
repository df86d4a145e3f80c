"""Shared fixtures: small real things (Pipfile texts, listings, corpus paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pipfiles"
SOURCE_URL = (
    "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-111122223333.d.codeartifact."
    "eu-west-1.amazonaws.com/pypi/private/simple/"
)


def corpus_dirs() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared Pipfile corpus is missing at {CORPUS}")
    return sorted(path for path in CORPUS.iterdir() if (path / "Pipfile").is_file())


def corpus_features() -> dict[str, str]:
    rows = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {row.split("\t")[0]: row.split("\t")[4] for row in rows if row.strip()}


@pytest.fixture(autouse=True)
def _no_machine_pip_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep this machine's pip settings out of anything a test runs."""
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
