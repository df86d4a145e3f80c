"""One scan run of the compliance database, read into frozen dataclasses.

Figures are computed from the tables rather than the views so that ``--repo`` and
``--kind`` narrow every one of them the same way; unfiltered they equal the views'
(the tests compare them). A report opens the database read-only and never writes.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Table,
    case,
    create_engine,
    func,
    inspect,
    or_,
    select,
    true,
)
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from pipfleet.engine.findings import FindingKind
from pipfleet.errors import StoreError, UsageError
from pipfleet.report.model import (
    PR_STATES,
    SEVERITIES,
    SEVERITY_RANK,
    FindingRow,
    FleetSummary,
    PackageRow,
    PullRequestRow,
    Report,
    ReportQuery,
    RepositoryRow,
    TrendPoint,
)
from pipfleet.store.db import make_engine, parse_url
from pipfleet.store.models import RunStatus, utcnow

if TYPE_CHECKING:
    AnyRow = Row[*tuple[Any, ...]]

NO_SCAN = "no scan recorded yet: run pipfleet scan"
# The kinds v_private_package_usage counts as "not pinned to the private index".
_UNPINNED = frozenset({"missing-index", "wrong-index", "undefined-index"})
# A repository's pull request shown first: the one still being worked on.
_PR_PRIORITY = {"open": 0, "pending": 1}


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, -1)


def _table(name: str) -> Table:
    # Importing pipfleet.store.models above registered them.
    return SQLModel.metadata.tables[name]


def open_read_only(url: str) -> Engine:
    """An engine that cannot write: SQLite opened with mode=ro, PostgreSQL read-only transactions.

    A SQLite file that does not exist is an error here rather than a new empty file.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        # One snapshot for the report's several queries, even while a scan is writing.
        return make_engine(url).execution_options(
            postgresql_readonly=True, isolation_level="REPEATABLE READ"
        )
    if parsed.database in (None, "", ":memory:"):
        raise StoreError("a report needs a database file, not an in-memory SQLite database")
    path = Path(parsed.database).expanduser().resolve()
    if not path.is_file():
        raise StoreError(f"no database at {path}: run pipfleet scan first")
    return create_engine(f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true")


def load_report(engine: Engine, query: ReportQuery | None = None) -> Report:
    """The report for ``query`` (default: the latest finished run, every repository and kind)."""
    query = query or ReportQuery()
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("scan_runs"):
                raise StoreError(NO_SCAN)
            runs = _runs(connection, query)
            run = runs[0]
            scans = [
                row
                for row in connection.execute(_scans_of(run.id)).all()
                if query.selects(row.name, row.full_name)
            ]
            if query.repo is not None and not scans:
                raise UsageError(f"no repository of run {run.id} matches --repo {query.repo!r}")
            selected = {row.repository_id: row.full_name for row in scans}
            # .all(): one fetch for the lot is several times faster than row by row on psycopg.
            rows = connection.execute(_findings_of(run.id)).all()
            all_findings = [row for row in rows if row.repository_id in selected]
            packages = _packages(connection, run.id, all_findings, selected)
            pulls = _pull_requests(connection, selected)
            trend = _trend(connection, runs, selected, query)
    except DBAPIError as exc:  # not a pipfleet database, or one from another schema version
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StoreError(f"cannot read the report from the database: {reason}") from exc
    findings = sorted(
        (_finding(row, selected) for row in all_findings if query.kind in (None, row.kind)),
        key=lambda f: (-_rank(f.severity), f.repository, f.path, f.line or 0, f.kind),
    )
    repositories = _repositories(scans, findings, pulls, narrowed=query.kind is not None)
    return Report(
        query=query,
        generated_at=utcnow(),
        summary=_summary(run, scans, findings, pulls),
        trend=trend,
        repositories=repositories,
        packages=packages,
        findings=tuple(findings),
    )


def _runs(connection: Connection, query: ReportQuery) -> Sequence[AnyRow]:
    """The wanted run, then the runs before it for the trend, newest first.

    By default the wanted run is the latest that finished: one still running (or
    interrupted before it could finish) has recorded only part of the fleet. Such runs stay
    out of the trend too, unless asked for by number.
    """
    runs = _table("scan_runs")
    unfinished = runs.c.status.in_([RunStatus.RUNNING.value, RunStatus.INTERRUPTED.value])
    latest = connection.execute(select(func.max(runs.c.id))).scalar()
    if latest is None:
        raise StoreError(NO_SCAN)
    finished = connection.execute(select(func.max(runs.c.id)).where(~unfinished)).scalar()
    wanted = query.run_id if query.run_id is not None else finished or latest
    rows = connection.execute(
        select(runs.c.id, runs.c.started_at, runs.c.finished_at, runs.c.status, runs.c.error)
        .where(runs.c.id <= wanted, or_(~unfinished, runs.c.id == wanted))
        .order_by(runs.c.id.desc())
        .limit(query.trend_runs)
    ).all()
    if not rows or rows[0].id != wanted:
        raise UsageError(f"no scan run {wanted} in the database: the latest is run {latest}")
    return rows


def _scans_of(run_id: int) -> Any:
    scans, repos = _table("repository_scans"), _table("repositories")
    return (
        select(
            scans.c.repository_id,
            repos.c.full_name,
            repos.c.name,
            repos.c.html_url,
            scans.c.status,
            scans.c.skip_reason,
            scans.c.error,
            scans.c.pipfiles,
            scans.c.compliant,
            scans.c.scanned_at,
        )
        .join(repos, repos.c.id == scans.c.repository_id)
        .where(scans.c.run_id == run_id)
        .order_by(repos.c.full_name)
    )


def _findings_of(run_id: int) -> Any:
    f = _table("findings")
    return select(
        f.c.repository_id,
        f.c.path,
        f.c.line,
        f.c.category,
        f.c.package,
        f.c.package_name,
        f.c.current,
        f.c.expected,
        f.c.index_name,
        f.c.kind,
        f.c.severity,
        f.c.fixable,
        f.c.message,
    ).where(f.c.run_id == run_id)


def _finding(row: AnyRow, names: Mapping[int, str]) -> FindingRow:
    # The columns _findings_of reads are FindingRow's fields, give or take these three.
    fields = dict(row._mapping) | {"fixable": bool(row.fixable)}
    del fields["repository_id"], fields["package_name"]
    return FindingRow(repository=names[row.repository_id], **fields)


def _packages(
    connection: Connection, run_id: int, findings: Iterable[AnyRow], names: Mapping[int, str]
) -> tuple[PackageRow, ...]:
    """Each private package of the run, with its use by the selected repositories.

    Counted as v_private_package_usage counts: an entry is one repository, Pipfile and
    category naming the package.
    """
    use: dict[str, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
    for row in findings:
        if row.package_name is None:
            continue
        entry = (row.repository_id, row.path, row.category or "")
        usage = use[row.package_name]
        usage["repositories"].add(row.repository_id)
        usage["entries"].add(entry)
        if row.kind == FindingKind.COMPLIANT.value:
            usage["pinned"].add(entry)
        elif row.kind in _UNPINNED:
            usage["unpinned"].add(entry)
        if row.current is not None:
            usage["versions"].add(row.current)
    p = _table("private_packages")
    rows = connection.execute(
        select(p.c.name, p.c.public_status, p.c.origin, p.c.upstream, p.c.versions)
        .where(p.c.run_id == run_id)
        .order_by(p.c.name)
    )
    packages = []
    for row in rows:
        usage = use.get(row.name, {})
        packages.append(
            PackageRow(
                name=row.name,
                public_status=row.public_status,
                origin=row.origin,
                upstream=row.upstream,
                published=tuple(json.loads(row.versions or "[]")),
                repositories=tuple(sorted(names[i] for i in usage.get("repositories", ()))),
                entries=len(usage.get("entries", ())),
                pinned_entries=len(usage.get("pinned", ())),
                unpinned_entries=len(usage.get("unpinned", ())),
                versions=tuple(sorted(usage.get("versions", ()))),
            )
        )
    return tuple(packages)


def _pull_requests(
    connection: Connection, selected: Mapping[int, str]
) -> dict[int, list[PullRequestRow]]:
    pr = _table("pull_requests")
    rows = connection.execute(
        select(
            pr.c.repository_id, pr.c.number, pr.c.state, pr.c.title, pr.c.html_url, pr.c.updated_at
        )
    ).all()
    pulls: dict[int, list[PullRequestRow]] = defaultdict(list)
    for row in rows:
        if row.repository_id in selected:
            pulls[row.repository_id].append(
                PullRequestRow(row.number, row.state, row.title, row.html_url, row.updated_at)
            )
    for items in pulls.values():
        items.sort(key=lambda p: (_PR_PRIORITY.get(p.state, 2), -p.updated_at.timestamp()))
    return pulls


def _trend(
    connection: Connection,
    runs: Sequence[AnyRow],
    selected: Mapping[int, str],
    query: ReportQuery,
) -> tuple[TrendPoint, ...]:
    """Compliance and findings per run for the selected repositories.

    Unfiltered, the database adds up per run (a dozen rows); with --repo it adds up per
    run and repository, and the pattern (which SQL cannot match) picks the rows here.
    """
    scans, f = _table("repository_scans"), _table("findings")
    run_ids = [run.id for run in runs]
    by_repository = query.repo is not None
    judged: Counter[int] = Counter()
    compliant: Counter[int] = Counter()
    scan_keys = [scans.c.run_id, *([scans.c.repository_id] if by_repository else [])]
    scan_counts = (
        select(
            *scan_keys,
            func.count().label("judged"),
            func.sum(case((scans.c.compliant == true(), 1), else_=0)).label("compliant"),
        )
        .where(scans.c.run_id.in_(run_ids), scans.c.pipfiles > 0)
        .group_by(*scan_keys)
    )
    for row in connection.execute(scan_counts):
        if not by_repository or row.repository_id in selected:
            judged[row.run_id] += row.judged
            compliant[row.run_id] += row.compliant
    finding_keys = [f.c.run_id, *([f.c.repository_id] if by_repository else [])]
    finding_counts = select(*finding_keys, func.count().label("n")).where(f.c.run_id.in_(run_ids))
    if query.kind is not None:
        finding_counts = finding_counts.where(f.c.kind == query.kind)
    findings: Counter[int] = Counter()
    for row in connection.execute(finding_counts.group_by(*finding_keys)):
        if not by_repository or row.repository_id in selected:
            findings[row.run_id] += row.n
    return tuple(
        TrendPoint(
            run_id=run.id,
            started_at=run.started_at,
            status=run.status,
            repositories_with_pipfiles=judged[run.id],
            compliant_repositories=compliant[run.id],
            compliant_share=compliant[run.id] / judged[run.id] if judged[run.id] else None,
            findings=findings[run.id],
        )
        for run in reversed(runs)
    )


def _repositories(
    scans: Iterable[AnyRow],
    findings: Sequence[FindingRow],
    pulls: Mapping[int, Sequence[PullRequestRow]],
    *,
    narrowed: bool,
) -> tuple[RepositoryRow, ...]:
    needing: Counter[str] = Counter()
    worst: dict[str, str] = {}
    seen: set[str] = set()
    for finding in findings:
        seen.add(finding.repository)
        if not finding.needs_action:
            continue
        needing[finding.repository] += 1
        earlier = worst.get(finding.repository, finding.severity)
        worst[finding.repository] = max(earlier, finding.severity, key=_rank)
    return tuple(
        RepositoryRow(
            repository_id=row.repository_id,
            full_name=row.full_name,
            name=row.name,
            html_url=row.html_url,
            status=row.status,
            skip_reason=row.skip_reason,
            compliant=None if row.compliant is None else bool(row.compliant),
            pipfiles=row.pipfiles,
            findings=needing[row.full_name],
            worst_severity=worst.get(row.full_name),
            last_scanned_at=row.scanned_at,
            error=row.error,
            pull_request=next(iter(pulls.get(row.repository_id, ())), None),
        )
        for row in scans
        if not narrowed or row.full_name in seen
    )


def _summary(
    run: AnyRow,
    scans: Sequence[AnyRow],
    findings: Sequence[FindingRow],
    pulls: Mapping[int, Sequence[PullRequestRow]],
) -> FleetSummary:
    judged = [row for row in scans if row.pipfiles > 0]
    compliant = sum(bool(row.compliant) for row in judged)
    severities = Counter(f.severity for f in findings)
    states = Counter(p.state for items in pulls.values() for p in items)
    return FleetSummary(
        run_id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        status=run.status,
        run_error=run.error,
        repositories=len(scans),
        repositories_with_pipfiles=len(judged),
        compliant_repositories=compliant,
        compliant_share=compliant / len(judged) if judged else None,
        pipfiles=sum(row.pipfiles for row in scans),
        failed_repositories=sum(row.status == "failed" for row in scans),
        skipped_repositories=sum(row.status == "skipped" for row in scans),
        findings=len(findings),
        findings_needing_action=sum(f.needs_action for f in findings),
        findings_by_kind=dict(sorted(Counter(f.kind for f in findings).items())),
        findings_by_severity={s: severities[s] for s in SEVERITIES}
        | {s: n for s, n in severities.items() if s not in SEVERITIES},
        pull_requests={s: states[s] for s in PR_STATES}
        | {s: n for s, n in states.items() if s not in PR_STATES},
        confusion_risks=sum(f.kind == FindingKind.CONFUSION_RISK.value for f in findings),
        foreign_hashes=sum(f.kind == FindingKind.FOREIGN_HASHES.value for f in findings),
    )
