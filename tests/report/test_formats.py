"""Each text format of the report: JSON against its schema, CSV, Markdown, the table."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from packaging.utils import canonicalize_name

from pipfleet.errors import UsageError
from pipfleet.report import ReportFormat
from pipfleet.report.document import PARTS, REPORT_SCHEMA, SCHEMA, part_schema, to_json
from pipfleet.report.formats import CSV_COLUMNS, csv_cell, md, md_link
from pipfleet.report.model import ReportQuery
from pipfleet.report.output import make_report, write_report
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import CodeArtifactPackage, PackageOrigin, World

from .conftest import Rows, fill

# Package names a spreadsheet would run as formulas, one that would clear a terminal,
# and one that reads "orb-exe.txt" on screen.
FORMULAS = ("=cmd|' /C calc'!A0", "@SUM(1+1)*cmd", "+cmd", "-2+3")
CLEARS_SCREEN = "orb\x1b[2J"
REVERSED = "orb-\u202etxt.exe"


def test_json_validates_against_the_documented_schema(scanned: str, query: Rows) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    document = json.loads(make_report(scanned, ReportFormat.JSON))
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert document["schema"] == REPORT_SCHEMA == "pipfleet.report/1"
    assert document["query"] == {
        "run": None,
        "repo": None,
        "kind": None,
        "org": None,
        "manifest": None,
    }
    view = query("SELECT * FROM v_run_summary WHERE run_id = 2")[0]
    assert document["run"]["id"] == 2
    assert document["summary"]["compliant_share"] == pytest.approx(view["compliant_share"])
    assert document["summary"]["findings"] == view["findings"] == len(document["findings"])
    assert [r["kind"] for r in document["risks"]] == ["foreign-hashes", "confusion-risk"]
    api = next(r for r in document["repositories"] if r["full_name"] == "acme/orb-api")
    assert api["pull_request"]["html_url"] == "https://github.com/acme/orb-api/pull/12"


def test_json_documents_docs_and_code_agree() -> None:
    """docs/dashboard.md shows the schema's every key."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "dashboard.md").read_text()
    assert REPORT_SCHEMA in docs
    for key, value in SCHEMA["properties"].items():
        assert f'"{key}"' in docs, key
        for inner in value.get("properties", {}) or value.get("items", {}).get("properties", {}):
            assert f'"{inner}"' in docs, f"{key}.{inner}"


def test_json_filters_are_recorded(sqlite_scanned: str) -> None:
    text = make_report(
        sqlite_scanned, ReportFormat.JSON, ReportQuery(run_id=1, kind="missing-index")
    )
    document = json.loads(text)
    jsonschema.validate(document, SCHEMA)
    assert document["query"] == {
        "run": 1,
        "repo": None,
        "kind": "missing-index",
        "org": None,
        "manifest": None,
    }
    assert {f["kind"] for f in document["findings"]} == {"missing-index"}


def test_json_parts_have_the_header_and_one_key(sqlite_scanned: str) -> None:
    from pipfleet.report.data import load_report, open_read_only

    engine = open_read_only(sqlite_scanned)
    report = load_report(engine)
    engine.dispose()
    for part in PARTS:
        document = json.loads(to_json(report, part))
        jsonschema.validate(document, part_schema(part))
        header = {"schema", "generated_at", "query", "orgs", "run", "data_run", "banner"}
        assert set(document) == header | {part}


def test_csv_has_one_row_per_finding(scanned: str, query: Rows) -> None:
    rows = list(csv.DictReader(io.StringIO(make_report(scanned, ReportFormat.CSV))))
    findings = query("SELECT kind, severity FROM findings WHERE run_id = 2")
    assert len(rows) == len(findings) == 11
    assert tuple(rows[0]) == CSV_COLUMNS
    assert sorted((r["kind"], r["severity"]) for r in rows) == sorted(
        (f["kind"], f["severity"]) for f in findings
    )
    assert [(r["kind"], r["severity"]) for r in rows[:2]] == [  # most severe first
        ("foreign-hashes", "critical"),
        ("confusion-risk", "critical"),
    ]
    risk = rows[1]
    assert (risk["repository"], risk["run_id"]) == ("acme/orb-api", "2")
    assert risk["path"] == "services/worker/Pipfile" and risk["line"] == "2"


def test_csv_honours_kind_and_repo(sqlite_scanned: str) -> None:
    text = make_report(sqlite_scanned, ReportFormat.CSV, ReportQuery(repo="orb-good"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["repository"] for r in rows} == {"acme/orb-good"}
    text = make_report(sqlite_scanned, ReportFormat.CSV, ReportQuery(kind="hardcoded-credential"))
    assert text.splitlines() == [",".join(CSV_COLUMNS)]


def test_markdown_is_short_with_the_summary_table(sqlite_scanned: str) -> None:
    text = make_report(sqlite_scanned, ReportFormat.MARKDOWN)
    assert text.startswith("### pipfleet compliance, run 2 (partial, ")
    assert "| Metric | Value |" in text
    assert "| Compliant repositories | **50.0%** (1 of 2 with manifests) |" in text
    assert "| Pull requests | 1 open, 1 merged, 0 dismissed |" in text
    assert "| Scan errors | 1 |" in text
    assert "Trend over the last 2 runs: 0.0% → 50.0%" in text
    assert "| critical | acme/orb-api | services/worker/Pipfile:2 | pipfile | orb-events |" in text
    assert "| Manifests | 3 (3 pipfile) |" in text
    assert "[#12 open](<https://github.com/acme/orb-api/pull/12>)" in text
    assert text.index("Dependency-confusion risks") < text.index("Repositories needing action")
    assert len(text.splitlines()) < 60


def test_markdown_cells_cannot_break_the_table_or_inject_html() -> None:
    assert md("a|b <script>x</script> & *y*\nz") == (
        "a\\|b &lt;script&gt;x&lt;/script&gt; &amp; \\*y\\* z"
    )
    assert md_link("x", "javascript:alert(1)") == "x"
    assert md_link("x", "https://h/a b>c") == "[x](<https://h/a%20b%3Ec>)"


def test_table_shows_each_section_as_plain_text(sqlite_scanned: str) -> None:
    text = make_report(sqlite_scanned, ReportFormat.TABLE)
    for expected in (
        "pipfleet compliance, run 2",
        "50.0% (1 of 2 repositories with manifests)",
        "Dependency-confusion risks (2)",
        "acme/orb-api",
        "#12 open",
        "Private packages (2)",
        "orb-events",
        "failed: Could not resolve",
    ):
        assert expected in text, expected
    assert "\x1b[" not in text  # no colour unless asked
    assert "\x1b[" in make_report(sqlite_scanned, ReportFormat.TABLE, color=True)


def test_write_report_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    write_report(target, "<p>new</p>\n")
    assert target.read_text() == "<p>new</p>\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(UsageError, match=r"^cannot write .*/missing/report\.csv: "):
        write_report(tmp_path / "missing" / "report.csv", "x")


@pytest.fixture
def hostile_report(sandbox: SandboxServer, world: World, tmp_path: Path) -> str:
    """A scanned database where one repository's Pipfile has hostile package names.

    Most come as git entries (no registry accepts such names); the bidi one is private,
    so that it shows in the table's package section too.
    """
    key = canonicalize_name(REVERSED)
    world.codeartifact.packages[key] = CodeArtifactPackage(
        key, {"1.0": "INTERNAL"}, PackageOrigin("ALLOW", "BLOCK")
    )
    git = '{git = "https://example.com/x.git"}'
    pipfile = "[packages]\n" + "".join(
        f"{json.dumps(name)} = {git}\n" for name in (*FORMULAS, CLEARS_SCREEN, "\torb-tab")
    )
    pipfile += f'{json.dumps(REVERSED)} = "==1.0"\n'
    world.add_repository("acme", "orb-hostile", {"Pipfile": pipfile.encode()})
    return fill(sandbox, world, f"sqlite:///{tmp_path / 'hostile.db'}")


def test_csv_cells_from_repositories_are_never_formulas_or_controls(hostile_report: str) -> None:
    text = make_report(hostile_report, ReportFormat.CSV, ReportQuery(repo="orb-hostile"))
    rows = list(csv.DictReader(io.StringIO(text)))
    packages = {row["package"] for row in rows}
    assert {f"'{name}" for name in FORMULAS} <= packages
    assert "orb[2J" in packages and "orb-tab" in packages  # controls stripped
    assert "\x1b" not in text and "\t" not in text and "\u202e" not in text
    for row in rows:
        for column in CSV_COLUMNS:
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row
        assert row["run_id"] == "2" and (row["line"] == "" or row["line"].isdigit())
    source = next(row["expected"] for row in rows if row["kind"] == "missing-source")
    assert source.startswith("[[source]]\nname = ")  # line breaks inside a cell stay


def test_csv_cell_follows_owasp() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+1", "-1", "@x", "\t=x", "\r+x", "a=b", "")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@x",
        "'=x",
        "'+x",
        "a=b",
        "",
    ]
    assert csv_cell(None) == "" and csv_cell("x\x1b[31my\u202ez\x7f") == "x[31myz"
    assert csv_cell("[a]\r\nb = 1\n") == "[a]\nb = 1\n"


def test_table_fits_80_columns_and_cuts_no_name(sqlite_scanned: str) -> None:
    wide = make_report(sqlite_scanned, ReportFormat.TABLE, width=120)
    text = make_report(sqlite_scanned, ReportFormat.TABLE, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # names, paths and states fold onto a second line instead
    # The risk's repository above its file, in one column.
    assert re.search(r"│ acme/orb-api +│ orb-events", text)
    assert re.search(r"│ services/worker/Pipfile:2 +│ +│", text)
    # Repositories: the read's age under the name, the pull request under the state.
    assert "┃ Read" not in text and "┃ Pull request" not in text
    assert re.search(r"┃ Worst +┃$", text, re.MULTILINE)  # the last column is not cropped
    assert re.search(r"│ read \d+ \w+ ago +│ pull request #12 open +│", text)
    assert "┃ Read" in wide and "UTC (" in wide and "┃ Pull request" in wide


def test_table_shows_controls_as_escapes(hostile_report: str) -> None:
    table = make_report(hostile_report, ReportFormat.TABLE)
    assert "\u202e" not in table and "orb-\\u202etxt-exe" in table  # the PEP 503 name
    assert "\x1b" not in table


def test_markdown_cells_show_controls_as_escapes() -> None:
    assert md(CLEARS_SCREEN + "\u202e") == "orb\\\\x1b\\[2J\\\\u202e"  # shows orb\x1b[2J\u202e


def test_every_format_shows_a_failed_run_over_the_last_good_state(after_bad_nights: str) -> None:
    document = json.loads(make_report(after_bad_nights, ReportFormat.JSON))
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert (document["run"]["id"], document["run"]["status"]) == (4, "failed")
    assert document["data_run"]["id"] == 3 and document["banner"]["level"] == "error"
    good = json.loads(make_report(after_bad_nights, ReportFormat.JSON, ReportQuery(run_id=3)))
    assert document["summary"] | {"scan_errors": 0} == good["summary"] | {"scan_errors": 0}
    assert [e["subject"] for e in document["errors"]] == ["run 4", "acme/orb-api"]
    assert document["summary"]["scan_errors"] == 2
    api = next(r for r in document["repositories"] if r["name"] == "orb-api")
    assert (api["status"], api["state"], api["read_run_id"]) == ("failed", "non-compliant", 2)
    assert [p["path"] for p in api["pipfile_states"]] == ["Pipfile", "services/worker/Pipfile"]

    markdown = make_report(after_bad_nights, ReportFormat.MARKDOWN)
    banner = markdown.splitlines()[2]
    assert banner.startswith("> ❌ Run 4 failed ") and "from run 3, read " in banner
    assert "| Scan errors | 2 |" in markdown and "- **run 4**: " in markdown
    assert "| Compliant repositories | **50.0%** (1 of 2 with manifests) |" in markdown

    table = make_report(after_bad_nights, ReportFormat.TABLE, width=300)
    assert table.startswith("Run 4 failed ") and "from run 3, read " in table
    row = next(line for line in table.splitlines() if "acme/orb-api" in line and "ago)" in line)
    assert "non-compliant: last read failed: Could not resolve" in row
