"""One scan run of the compliance database, read into frozen dataclasses.

With several orgs in the database a report covers each org as of its own latest run
(runs are per org), unless ``--org`` or ``--run`` narrows it to one org.

Figures are computed from the tables rather than the views so that ``--repo`` and
``--kind`` narrow every one of them the same way; unfiltered they equal the views'
(the tests compare them). A report opens the database read-only and never writes.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    String,
    Table,
    case,
    create_engine,
    func,
    inspect,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from pipfleet.config import GitHubSettings
from pipfleet.engine.findings import FindingKind, Severity
from pipfleet.errors import StoreError, UsageError
from pipfleet.report.model import (
    GOOD_RUNS,
    MANIFEST_KINDS,
    PR_STATES,
    SEVERITIES,
    SEVERITY_RANK,
    STATES,
    FindingRow,
    FleetSummary,
    PackageRow,
    PipfileRow,
    PullRequestRow,
    Report,
    ReportQuery,
    RepositoryRow,
    RunRow,
    TrendPoint,
    run_failed,
)
from pipfleet.states import ManifestKind, RunStatus, ScanStatus
from pipfleet.store.db import make_engine, parse_url
from pipfleet.store.models import utcnow

if TYPE_CHECKING:
    AnyRow = Row[*tuple[Any, ...]]

NO_SCAN = "no scan recorded yet: run pipfleet scan"
OPT_OUT_TOPIC = GitHubSettings.opt_out_topic
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


def load_report(
    engine: Engine, query: ReportQuery | None = None, *, opt_out_topic: str = OPT_OUT_TOPIC
) -> Report:
    """The report for ``query`` (default: the latest run, every repository and kind).

    Its figures are the latest known state: those of the last run that read the fleet
    (the run itself unless it failed), each repository whose read failed keeping its last
    successful one. ``opt_out_topic`` is the GitHub topic by which a repository opts out
    of pull requests (``github.opt_out_topic``).
    """
    query = query or ReportQuery()
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("scan_runs"):
                raise StoreError(NO_SCAN)
            scope = _scope(connection, query)
            parts = [_part(connection, query, org) for org in scope]
            scans = [row for part in parts for row in part.scans]
            if query.repo is not None and not scans:
                runs_read = " and ".join(
                    f"run {part.data_run.id}" for part in parts if part.data_run
                )
                raise UsageError(f"no repository of {runs_read} matches --repo {query.repo!r}")
            selected = {row.repository_id: row.full_name for row in scans}
            reads = {key: row for part in parts for key, row in part.reads.items()}
            data_runs = [part.data_run for part in parts if part.data_run is not None]
            data_run_ids = {run.id for run in data_runs}
            # .all(): one fetch for the lot is several times faster than row by row on psycopg.
            rows = [
                row
                for run_id, ids in _by_run(reads).items()
                for row in connection.execute(
                    _findings_of(run_id, None if run_id in data_run_ids else ids)
                ).all()
                if row.repository_id in ids
            ]
            # Every org's runs read the same CodeArtifact: the newest listing is the one shown.
            newest = max(data_run_ids, default=None)
            packages = () if newest is None else _packages(connection, newest, rows, selected)
            pulls = _pull_requests(connection, selected)
            files = _pipfiles(connection, reads)
            trend = _merged_trends(
                [
                    _trend(connection, part.good[: query.trend_runs], selected, query)
                    for part in parts
                ]
            )
    except DBAPIError as exc:  # not a pipfleet database, or one from another schema version
        raise StoreError(f"cannot read the report from the database: {_reason(exc)}") from exc
    findings = sorted(
        (
            _finding(row, selected)
            for row in rows
            if query.kind in (None, row.kind) and query.manifest in (None, row.manifest_kind)
        ),
        key=lambda f: (-_rank(f.severity), f.repository, f.path, f.line or 0, f.kind),
    )
    everyone = _repositories(scans, reads, findings, pulls, files, opt_out_topic)
    if len(parts) > 1:
        everyone = tuple(sorted(everyone, key=lambda row: row.full_name))
    # --kind lists the repositories with such a finding, --manifest those with such a file;
    # compliance still covers them all.
    seen = {f.repository for f in findings}
    repositories = tuple(
        r
        for r in everyone
        if (query.kind is None or r.full_name in seen)
        and (query.manifest is None or query.manifest in r.manifest_kinds)
    )
    shown = _shown(parts)
    return Report(
        query=query,
        generated_at=utcnow(),
        summary=_summary(shown.runs[0], shown.data_run, everyone, findings, pulls),
        trend=trend,
        repositories=repositories,
        packages=packages,
        findings=tuple(findings),
        orgs=tuple(org for org in scope if org is not None) if len(scope) > 1 else (),
    )


@dataclass(frozen=True)
class _Part:
    """One org's share of a report: its runs, newest first, and its repositories' scans."""

    runs: list[RunRow]
    scans: list[AnyRow]
    reads: dict[int, AnyRow]

    @property
    def good(self) -> list[RunRow]:
        return [run for run in self.runs if run.good]

    @property
    def data_run(self) -> RunRow | None:
        return next(iter(self.good), None)


def _scope(connection: Connection, query: ReportQuery) -> list[str | None]:
    """The orgs a report covers, each read on its own: None stands for every run at once,
    as in a database of one org (or of runs from before several orgs)."""
    runs = _table("scan_runs")
    orgs = list(
        connection.execute(
            select(runs.c.org).where(runs.c.org.is_not(None)).distinct().order_by(runs.c.org)
        ).scalars()
    )
    if query.org is not None:
        if query.org not in orgs:
            known = ", ".join(orgs) or "none"
            raise UsageError(f"no scan of org {query.org!r} in the database (orgs: {known})")
        return [query.org]
    if query.run_id is not None and len(orgs) > 1:
        org = connection.execute(select(runs.c.org).where(runs.c.id == query.run_id)).scalar()
        return [org]
    return list(orgs) if len(orgs) > 1 else [None]


def _part(connection: Connection, query: ReportQuery, org: str | None) -> _Part:
    runs = _runs(connection, query, org)
    data_run = next((run for run in runs if run.good), None)
    scans = [] if data_run is None else _selected_scans(connection, data_run.id, query)
    return _Part(runs, scans, _last_reads(connection, data_run, scans))


def _shown(parts: Sequence[_Part]) -> _Part:
    """The part whose run the summary and banner tell of: a failed one first, else the
    latest."""
    failed = [part for part in parts if run_failed(part.runs[0].status)]
    return failed[0] if failed else max(parts, key=lambda part: part.runs[0].id)


def _merged_trends(trends: Sequence[tuple[TrendPoint, ...]]) -> tuple[TrendPoint, ...]:
    """Several orgs' trends as one: their runs paired newest with newest (the orgs of a
    nightly run are scanned one after the other), the counts added up."""
    if len(trends) == 1:
        return trends[0]
    merged = []
    for back in range(max((len(trend) for trend in trends), default=0), 0, -1):
        points = [trend[-back] for trend in trends if len(trend) >= back]
        latest = max(points, key=lambda point: point.run_id)
        judged = sum(point.repositories_with_pipfiles for point in points)
        compliant = sum(point.compliant_repositories for point in points)
        merged.append(
            TrendPoint(
                run_id=latest.run_id,
                started_at=latest.started_at,
                status=latest.status,
                repositories_with_pipfiles=judged,
                compliant_repositories=compliant,
                compliant_share=compliant / judged if judged else None,
                findings=sum(point.findings for point in points),
            )
        )
    return tuple(merged)


def _reason(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__


def latest_run(engine: Engine) -> RunRow | None:
    """The newest run of any status, or None before the first: a cheap sign of life."""
    runs = _table("scan_runs")
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("scan_runs"):
                return None
            row = connection.execute(
                select(
                    runs.c.id, runs.c.started_at, runs.c.finished_at, runs.c.status, runs.c.error
                )
                .order_by(runs.c.id.desc())
                .limit(1)
            ).first()
    except DBAPIError as exc:
        raise StoreError(f"cannot read the database: {_reason(exc)}") from exc
    return None if row is None else RunRow(*row)


def _runs(connection: Connection, query: ReportQuery, org: str | None = None) -> list[RunRow]:
    """The wanted run, then the runs before it that read the fleet, newest first: of
    ``org``, or of any org when None.

    By default the wanted run is the latest that is not still running (one that is has
    recorded only part of the fleet): a failed or interrupted one included, whose
    failure the report shows above the latest known state. A running run is shown only
    when asked for by number.
    """
    runs = _table("scan_runs")
    running = runs.c.status == RunStatus.RUNNING.value
    of_org = true() if org is None else runs.c.org == org
    latest = connection.execute(select(func.max(runs.c.id)).where(of_org)).scalar()
    if latest is None:
        raise StoreError(NO_SCAN)
    finished = connection.execute(select(func.max(runs.c.id)).where(of_org, ~running)).scalar()
    wanted = query.run_id if query.run_id is not None else finished or latest
    rows = connection.execute(
        select(runs.c.id, runs.c.started_at, runs.c.finished_at, runs.c.status, runs.c.error)
        .where(
            of_org,
            runs.c.id <= wanted,
            or_(runs.c.status.in_(GOOD_RUNS), runs.c.id == wanted),
        )
        .order_by(runs.c.id.desc())
        .limit(query.trend_runs + 1)
    ).all()
    if not rows or rows[0].id != wanted:
        raise UsageError(f"no scan run {wanted} in the database: the latest is run {latest}")
    return [RunRow(row.id, row.started_at, row.finished_at, row.status, row.error) for row in rows]


def _selected_scans(connection: Connection, run_id: int, query: ReportQuery) -> list[AnyRow]:
    return [
        row
        for row in connection.execute(_scans_of(run_id)).all()
        if query.selects(row.name, row.full_name)
    ]


def _last_reads(
    connection: Connection, data_run: RunRow | None, scans: Sequence[AnyRow]
) -> dict[int, AnyRow]:
    """Per repository, the scan whose state is shown: the data run's, or for a repository
    that run could not read, its last successful read before it (absent if none)."""
    reads = {row.repository_id: row for row in scans if row.status != ScanStatus.FAILED.value}
    failed = [row.repository_id for row in scans if row.status == ScanStatus.FAILED.value]
    if data_run is None or not failed:
        return reads
    s = _table("repository_scans")
    earlier = connection.execute(
        select(
            s.c.run_id,
            s.c.repository_id,
            s.c.pipfiles,
            s.c.compliant,
            s.c.scanned_at,
            s.c.opted_out,
        )
        .where(
            s.c.repository_id.in_(failed),
            s.c.run_id < data_run.id,
            s.c.status.in_([ScanStatus.FETCHED.value, ScanStatus.CARRIED.value]),
        )
        .order_by(s.c.run_id)
    ).all()
    return reads | {row.repository_id: row for row in earlier}  # the latest one wins


def _by_run(reads: Mapping[int, AnyRow]) -> dict[int, set[int]]:
    """The repositories to read from each run: a handful of runs at most."""
    runs: dict[int, set[int]] = defaultdict(set)
    for repository_id, row in reads.items():
        runs[row.run_id].add(repository_id)
    return runs


def _pipfiles(connection: Connection, reads: Mapping[int, AnyRow]) -> dict[int, list[PipfileRow]]:
    p = _table("pipfiles")
    files: dict[int, list[PipfileRow]] = defaultdict(list)
    for run_id, ids in _by_run(reads).items():
        rows = connection.execute(
            select(
                p.c.repository_id,
                p.c.path,
                # As stored: decoding thousands of values into the enum only to print them
                # costs a good part of the report's time.
                type_coerce(p.c.status, String).label("status"),
                p.c.parse_error,
                p.c.error_line,
                p.c.error_column,
                p.c.has_lock,
                p.c.compliant,
                type_coerce(p.c.manifest_kind, String).label("manifest_kind"),
            )
            .where(p.c.run_id == run_id)
            .order_by(p.c.path)
        ).all()
        for row in rows:
            if row.repository_id in ids:
                compliant = None if row.compliant is None else bool(row.compliant)
                files[row.repository_id].append(
                    PipfileRow(
                        row.path,
                        row.status,
                        row.parse_error,
                        row.error_line,
                        row.error_column,
                        bool(row.has_lock),
                        compliant,
                        row.manifest_kind,
                    )
                )
    return files


def _scans_of(run_id: int) -> Any:
    scans, repos = _table("repository_scans"), _table("repositories")
    return (
        select(
            scans.c.run_id,
            scans.c.repository_id,
            repos.c.full_name,
            repos.c.name,
            repos.c.org,
            repos.c.html_url,
            repos.c.topics,
            scans.c.status,
            scans.c.skip_reason,
            scans.c.error,
            scans.c.pipfiles,
            scans.c.compliant,
            scans.c.scanned_at,
            scans.c.opted_out,
        )
        .join(repos, repos.c.id == scans.c.repository_id)
        .where(scans.c.run_id == run_id)
        .order_by(repos.c.full_name)
    )


def _findings_of(run_id: int, only: Iterable[int] | None = None) -> Any:
    f, p = _table("findings"), _table("pipfiles")
    query = (
        select(
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
            # Every finding's file is recorded in the same run; 'pipfile' covers none found.
            func.coalesce(type_coerce(p.c.manifest_kind, String), ManifestKind.PIPFILE.value).label(
                "manifest_kind"
            ),
        )
        .select_from(f.outerjoin(p, _its_file(f, p)))
        .where(f.c.run_id == run_id)
    )
    return query if only is None else query.where(f.c.repository_id.in_(list(only)))


def _its_file(findings: Table, pipfiles: Table) -> Any:
    """The join of a finding to the row of the file it is in (same run, repository, path)."""
    return (
        (pipfiles.c.run_id == findings.c.run_id)
        & (pipfiles.c.repository_id == findings.c.repository_id)
        & (pipfiles.c.path == findings.c.path)
    )


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
    runs: Sequence[RunRow],
    selected: Mapping[int, str],
    query: ReportQuery,
) -> tuple[TrendPoint, ...]:
    """Compliance and findings per run for the selected repositories, over the runs that
    read the fleet: a failed run has no picture of it, and is left out rather than drawn
    as a drop.

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
    if query.manifest is not None:
        p = _table("pipfiles")
        finding_counts = finding_counts.join(p, _its_file(f, p))
        finding_counts = finding_counts.where(p.c.manifest_kind == query.manifest)
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
    reads: Mapping[int, AnyRow],
    findings: Sequence[FindingRow],
    pulls: Mapping[int, Sequence[PullRequestRow]],
    files: Mapping[int, Sequence[PipfileRow]],
    opt_out_topic: str,
) -> tuple[RepositoryRow, ...]:
    needing: Counter[str] = Counter()
    worst: dict[str, str] = {}
    kinds: dict[str, set[str]] = defaultdict(set)
    for finding in findings:
        if finding.kind != FindingKind.COMPLIANT.value:
            kinds[finding.repository].add(finding.kind)
        if not finding.needs_action:
            continue
        needing[finding.repository] += 1
        earlier = worst.get(finding.repository, finding.severity)
        worst[finding.repository] = max(earlier, finding.severity, key=_rank)
    rows = []
    for row in scans:
        read = reads.get(row.repository_id)
        topics = tuple(json.loads(row.topics or "[]"))
        prs = tuple(pulls.get(row.repository_id, ()))
        rows.append(
            RepositoryRow(
                repository_id=row.repository_id,
                full_name=row.full_name,
                name=row.name,
                html_url=row.html_url,
                status=row.status,
                skip_reason=row.skip_reason,
                compliant=None if read is None or read.compliant is None else bool(read.compliant),
                pipfiles=0 if read is None else read.pipfiles,
                findings=needing[row.full_name],
                worst_severity=worst.get(row.full_name),
                last_scanned_at=row.scanned_at,
                error=row.error,
                pull_request=next(iter(prs), None),
                read_at=None if read is None else read.scanned_at,
                read_run_id=None if read is None else read.run_id,
                topics=topics,
                opted_out=_opt_out(topics, opt_out_topic, read),
                pipfile_states=tuple(files.get(row.repository_id, ())),
                pull_requests=prs,
                kinds=tuple(sorted(kinds[row.full_name])),
                org=row.org,
            )
        )
    return tuple(rows)


def _opt_out(topics: Sequence[str], topic: str, read: AnyRow | None) -> str | None:
    """The topic as GitHub has it now (it changes without a commit), else what the
    repository's .pipfleet.toml said when it was last read."""
    if topic in topics:
        return f"topic {topic}"
    return None if read is None else read.opted_out


def _summary(
    run: RunRow,
    data_run: RunRow | None,
    repositories: Sequence[RepositoryRow],
    findings: Sequence[FindingRow],
    pulls: Mapping[int, Sequence[PullRequestRow]],
) -> FleetSummary:
    judged = [row for row in repositories if row.pipfiles > 0]
    compliant = sum(bool(row.compliant) for row in judged)
    severities = Counter(f.severity for f in findings)
    states = Counter(p.state for items in pulls.values() for p in items)
    risks = [f for f in findings if f.kind == FindingKind.CONFUSION_RISK.value]
    unpinned = sum(f.severity == Severity.CRITICAL.label for f in risks)
    by_state = Counter(row.state for row in repositories)
    failed = sum(row.status == ScanStatus.FAILED.value for row in repositories)
    manifests = Counter(p.manifest_kind for row in repositories for p in row.pipfile_states)
    return FleetSummary(
        run_id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        status=run.status,
        run_error=run.error,
        data_run=data_run,
        repositories=len(repositories),
        repositories_with_pipfiles=len(judged),
        compliant_repositories=compliant,
        compliant_share=compliant / len(judged) if judged else None,
        pipfiles=sum(row.pipfiles for row in repositories),
        manifests_by_kind={kind: manifests[kind] for kind in MANIFEST_KINDS},
        failed_repositories=failed,
        skipped_repositories=by_state["skipped"],
        findings=len(findings),
        findings_needing_action=sum(f.needs_action for f in findings),
        findings_by_kind=dict(sorted(Counter(f.kind for f in findings).items())),
        findings_by_severity={s: severities[s] for s in SEVERITIES}
        | {s: n for s, n in severities.items() if s not in SEVERITIES},
        pull_requests={s: states[s] for s in PR_STATES}
        | {s: n for s, n in states.items() if s not in PR_STATES},
        confusion_risks=unpinned,
        confusion_risks_pinned=len(risks) - unpinned,
        foreign_hashes=sum(f.kind == FindingKind.FOREIGN_HASHES.value for f in findings),
        repositories_by_state={state: by_state[state] for state in STATES},
        scan_errors=run_failed(run.status) + failed,
    )
