"""The report as a JSON document, versioned by its ``schema`` field.

docs/dashboard.md documents it; ``SCHEMA`` is the same contract as a JSON Schema that
the tests validate every document against. Additions keep the version; any other
change bumps ``REPORT_SCHEMA``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pipfleet.report.model import (
    MANIFEST_KINDS,
    STATES,
    FindingRow,
    PackageRow,
    PullRequestRow,
    Report,
    RepositoryRow,
    RunRow,
    TrendPoint,
)

REPORT_SCHEMA = "pipfleet.report/1"
# The parts /api/<part>.json serves, each with the document's header.
PARTS = ("repositories", "packages", "findings", "risks", "trend", "errors")


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _pull_request(pr: PullRequestRow) -> dict[str, Any]:
    return {
        "number": pr.number,
        "state": pr.state,
        "title": pr.title,
        "html_url": pr.html_url,
        "updated_at": _when(pr.updated_at),
    }


def _repository(row: RepositoryRow) -> dict[str, Any]:
    pr = row.pull_request
    return {
        "full_name": row.full_name,
        "name": row.name,
        "org": row.org,
        "html_url": row.html_url,
        "state": row.state,
        "status": row.status,
        "skip_reason": row.skip_reason,
        "compliant": row.compliant,
        "pipfiles": row.pipfiles,
        "findings": row.findings,
        "worst_severity": row.worst_severity,
        "last_scanned_at": _when(row.last_scanned_at),
        "error": row.error,
        "pull_request": None if pr is None else _pull_request(pr),
        "read_at": _when(row.read_at),
        "read_run_id": row.read_run_id,
        "topics": list(row.topics),
        "opted_out": row.opted_out,
        "why": row.why,
        "kinds": list(row.kinds),
        "pipfile_states": [
            {
                "path": p.path,
                "status": p.status,
                "parse_error": p.parse_error,
                "error_line": p.error_line,
                "error_column": p.error_column,
                "has_lock": p.has_lock,
                "compliant": p.compliant,
                "manifest_kind": p.manifest_kind,
            }
            for p in row.pipfile_states
        ],
        "pull_requests": [_pull_request(p) for p in row.pull_requests],
    }


def _package(row: PackageRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "public_status": row.public_status,
        "origin": row.origin,
        "upstream": row.upstream,
        "published": list(row.published),
        "repositories": list(row.repositories),
        "entries": row.entries,
        "pinned_entries": row.pinned_entries,
        "unpinned_entries": row.unpinned_entries,
        "versions": list(row.versions),
    }


def _finding(row: FindingRow) -> dict[str, Any]:
    return {
        "repository": row.repository,
        "path": row.path,
        "line": row.line,
        "category": row.category,
        "package": row.package,
        "current": row.current,
        "expected": row.expected,
        "index_name": row.index_name,
        "kind": row.kind,
        "severity": row.severity,
        "fixable": row.fixable,
        "message": row.message,
        "manifest_kind": row.manifest_kind,
    }


def _point(point: TrendPoint) -> dict[str, Any]:
    return {
        "run_id": point.run_id,
        "started_at": _when(point.started_at),
        "status": point.status,
        "repositories_with_pipfiles": point.repositories_with_pipfiles,
        "compliant_repositories": point.compliant_repositories,
        "compliant_share": point.compliant_share,
        "findings": point.findings,
    }


def _run(run: RunRow | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "started_at": _when(run.started_at),
        "finished_at": _when(run.finished_at),
        "status": run.status,
    }


def _header(report: Report) -> dict[str, Any]:
    s = report.summary
    banner = report.banner()
    return {
        "schema": REPORT_SCHEMA,
        "generated_at": _when(report.generated_at),
        "query": {
            "run": report.query.run_id,
            "repo": report.query.repo,
            "kind": report.query.kind,
            "org": report.query.org,
            "manifest": report.query.manifest,
        },
        "orgs": list(report.orgs),
        "run": {
            "id": s.run_id,
            "started_at": _when(s.started_at),
            "finished_at": _when(s.finished_at),
            "status": s.status,
            "error": s.run_error,
        },
        "data_run": _run(s.data_run),
        "banner": {"level": banner.level, "text": banner.text},
    }


def document(report: Report, part: str | None = None) -> dict[str, Any]:
    """The whole document, or its header with one of ``PARTS``."""
    s = report.summary
    body: dict[str, Any] = {
        "summary": {
            "repositories": s.repositories,
            "repositories_with_pipfiles": s.repositories_with_pipfiles,
            "compliant_repositories": s.compliant_repositories,
            "compliant_share": s.compliant_share,
            "pipfiles": s.pipfiles,
            "manifests_by_kind": dict(s.manifests_by_kind),
            "failed_repositories": s.failed_repositories,
            "skipped_repositories": s.skipped_repositories,
            "findings": s.findings,
            "findings_needing_action": s.findings_needing_action,
            "findings_by_kind": dict(s.findings_by_kind),
            "findings_by_severity": dict(s.findings_by_severity),
            "pull_requests": dict(s.pull_requests),
            "confusion_risks": s.confusion_risks,
            "confusion_risks_pinned": s.confusion_risks_pinned,
            "foreign_hashes": s.foreign_hashes,
            "repositories_by_state": dict(s.repositories_by_state),
            "scan_errors": s.scan_errors,
        },
        "trend": [_point(p) for p in report.trend],
        "risks": [_finding(f) for f in report.risks],
        "repositories": [_repository(r) for r in report.repositories],
        "packages": [_package(p) for p in report.packages],
        "findings": [_finding(f) for f in report.findings],
        "errors": [{"subject": x.subject, "message": x.message} for x in report.errors],
    }
    if part is not None:
        body = {part: body[part]}
    return _header(report) | body


def to_json(report: Report, part: str | None = None) -> str:
    return json.dumps(document(report, part), indent=2, ensure_ascii=False) + "\n"


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_WHEN = {"type": "string", "format": "date-time"}
_WHEN_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_SHARE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
_STRINGS = {"type": "array", "items": _STR}

_PULL_REQUEST = _object(
    {
        "number": {"type": ["integer", "null"]},
        "state": _STR,
        "title": _STR,
        "html_url": _STR_OR_NULL,
        "updated_at": _WHEN,
    }
)
_RUN_STATUS = {"enum": ["running", "completed", "partial", "failed", "interrupted"]}

_MANIFEST_KIND = {"enum": list(MANIFEST_KINDS)}

_FINDING = _object(
    {
        "repository": _STR,
        "path": _STR,
        "line": {"type": ["integer", "null"]},
        "category": _STR_OR_NULL,
        "package": _STR_OR_NULL,
        "current": _STR_OR_NULL,
        "expected": _STR_OR_NULL,
        "index_name": _STR_OR_NULL,
        "kind": _STR,
        "severity": _STR,
        "fixable": {"type": "boolean"},
        "message": _STR,
        "manifest_kind": _MANIFEST_KIND,
    }
)

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://pipfleet.dev/schemas/report-1.json",
    "title": "pipfleet report",
    **_object(
        {
            "schema": {"const": REPORT_SCHEMA},
            "generated_at": _WHEN,
            "query": _object(
                {
                    "run": {"type": ["integer", "null"]},
                    "repo": _STR_OR_NULL,
                    "kind": _STR_OR_NULL,
                    "org": _STR_OR_NULL,
                    "manifest": {"oneOf": [{"type": "null"}, _MANIFEST_KIND]},
                }
            ),
            # The orgs covered when they are several, each as of its own latest run.
            "orgs": _STRINGS,
            "run": _object(
                {
                    "id": {"type": "integer"},
                    "started_at": _WHEN,
                    "finished_at": _WHEN_OR_NULL,
                    "status": _RUN_STATUS,
                    "error": _STR_OR_NULL,
                }
            ),
            "data_run": {
                "oneOf": [
                    {"type": "null"},
                    _object(
                        {
                            "id": {"type": "integer"},
                            "started_at": _WHEN,
                            "finished_at": _WHEN_OR_NULL,
                            "status": _RUN_STATUS,
                        }
                    ),
                ]
            },
            "banner": _object({"level": {"enum": ["ok", "warning", "error"]}, "text": _STR}),
            "summary": _object(
                {
                    "repositories": _COUNT,
                    "repositories_with_pipfiles": _COUNT,
                    "compliant_repositories": _COUNT,
                    "compliant_share": _SHARE,
                    "pipfiles": _COUNT,
                    "manifests_by_kind": _COUNTS,
                    "failed_repositories": _COUNT,
                    "skipped_repositories": _COUNT,
                    "findings": _COUNT,
                    "findings_needing_action": _COUNT,
                    "findings_by_kind": _COUNTS,
                    "findings_by_severity": _COUNTS,
                    "pull_requests": _COUNTS,
                    "confusion_risks": _COUNT,
                    "confusion_risks_pinned": _COUNT,
                    "foreign_hashes": _COUNT,
                    "repositories_by_state": _COUNTS,
                    "scan_errors": _COUNT,
                }
            ),
            "trend": {
                "type": "array",
                "items": _object(
                    {
                        "run_id": {"type": "integer"},
                        "started_at": _WHEN,
                        "status": _STR,
                        "repositories_with_pipfiles": _COUNT,
                        "compliant_repositories": _COUNT,
                        "compliant_share": _SHARE,
                        "findings": _COUNT,
                    }
                ),
            },
            "risks": {"type": "array", "items": _FINDING},
            "repositories": {
                "type": "array",
                "items": _object(
                    {
                        "full_name": _STR,
                        "name": _STR,
                        "org": _STR,
                        "html_url": _STR_OR_NULL,
                        "state": {"enum": list(STATES)},
                        "status": {"enum": ["fetched", "carried", "failed", "skipped"]},
                        "skip_reason": _STR_OR_NULL,
                        "compliant": {"type": ["boolean", "null"]},
                        "pipfiles": _COUNT,
                        "findings": _COUNT,
                        "worst_severity": _STR_OR_NULL,
                        "last_scanned_at": _WHEN,
                        "error": _STR_OR_NULL,
                        "pull_request": {"oneOf": [{"type": "null"}, _PULL_REQUEST]},
                        "read_at": _WHEN_OR_NULL,
                        "read_run_id": {"type": ["integer", "null"]},
                        "topics": _STRINGS,
                        "opted_out": _STR_OR_NULL,
                        "why": _STR_OR_NULL,
                        "kinds": _STRINGS,
                        "pipfile_states": {
                            "type": "array",
                            "items": _object(
                                {
                                    "path": _STR,
                                    "status": _STR,
                                    "parse_error": _STR_OR_NULL,
                                    "error_line": {"type": ["integer", "null"]},
                                    "error_column": {"type": ["integer", "null"]},
                                    "has_lock": {"type": "boolean"},
                                    "compliant": {"type": ["boolean", "null"]},
                                    "manifest_kind": _MANIFEST_KIND,
                                }
                            ),
                        },
                        "pull_requests": {"type": "array", "items": _PULL_REQUEST},
                    }
                ),
            },
            "packages": {
                "type": "array",
                "items": _object(
                    {
                        "name": _STR,
                        "public_status": {"enum": ["taken", "free", "unknown"]},
                        "origin": {"enum": ["internal", "mixed", "external"]},
                        "upstream": {"enum": ["allowed", "blocked"]},
                        "published": _STRINGS,
                        "repositories": _STRINGS,
                        "entries": _COUNT,
                        "pinned_entries": _COUNT,
                        "unpinned_entries": _COUNT,
                        "versions": _STRINGS,
                    }
                ),
            },
            "findings": {"type": "array", "items": _FINDING},
            "errors": {
                "type": "array",
                "items": _object({"subject": _STR, "message": _STR}),
            },
        }
    ),
}
_HEADER = ("schema", "generated_at", "query", "orgs", "run", "data_run", "banner")


def part_schema(part: str) -> dict[str, Any]:
    """The schema of /api/<part>.json: the header and that one key."""
    keep = (*_HEADER, part)
    properties = {key: value for key, value in SCHEMA["properties"].items() if key in keep}
    return SCHEMA | {"properties": properties, "required": list(keep)}
