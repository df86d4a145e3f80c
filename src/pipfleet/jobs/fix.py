"""The fix job: one pull request per repository, kept in step with the latest scan.

For each repository with fixable findings (or an open bot pull request) it reads
the current manifests (Pipfiles, uv and Poetry pyproject.toml files, requirements files
and what they include) and their locks, builds the fix, syncs the last recorded pull
request with GitHub, decides (engine.plan) and acts. Nothing is opened twice,
nothing a maintainer declined is proposed again, and a rate limit that would
take too long to wait out stops the run cleanly with the rest deferred.

Closing is destructive, so it needs positive evidence: the latest scan completed,
this run read the repository in full (every manifest, include and lock readable, every
manifest parsed), GitHub said the pull request is still open, and the fix is gone from
the default branch.
At most ``fix.max_closes_per_run`` closures happen in one run.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pipfleet.config import Settings
from pipfleet.engine import poetryproject, requirements, uvproject
from pipfleet.engine.audit import AuditOptions, audit_text
from pipfleet.engine.fixset import Manifests, RepoFix, build_fix
from pipfleet.engine.listing import Listing, VersionKey
from pipfleet.engine.plan import LastPull, PullAction, decide
from pipfleet.engine.prbody import (
    CLOSE_MARKER,
    BodySettings,
    PullRequestText,
    closed_comment,
    commit_message,
    rebuilt_comment,
    rebuilt_marker,
    render,
)
from pipfleet.errors import GitHubError, PipfileError, RateLimited, SafetyLimit, StoreError
from pipfleet.github.pulls import PullRequests
from pipfleet.github.queries import OPT_OUT_FILE, PullRead, RepoFiles
from pipfleet.jobs.scan import Gateway, file_opt_out, one_line
from pipfleet.manifests import lock_name, sibling
from pipfleet.registry.versions import Contents, with_contents
from pipfleet.repositories import RepoSummary
from pipfleet.states import ManifestKind, PullRequestState, RunStatus
from pipfleet.store.models import PullRequestRecord, utcnow
from pipfleet.store.prs import Candidate, PullRequestStore


@dataclass(frozen=True)
class FixOutcome:
    repository: str
    action: PullAction
    reason: str
    fix: RepoFix | None = None
    text: PullRequestText | None = None
    number: int | None = None
    url: str | None = None


@dataclass
class FixSummary:
    run_id: int
    outcomes: list[FixOutcome] = field(default_factory=list)
    writes: int = 0
    stopped: str | None = None  # why the run stopped early (a rate limit, a limit), if it did
    branches_deleted: int = 0  # branches of earlier closures whose delete had failed

    def counts(self) -> Counter[PullAction]:
        return Counter(outcome.action for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        return self.counts()[PullAction.FAILED]


def _locks_beside(files: RepoFiles) -> set[str]:
    """The paths of the locks each manifest's installer would write beside it."""
    return {
        sibling(blob.path, name) for blob in files.all_manifests if (name := lock_name(blob.kind))
    }


def _manifest_texts(files: RepoFiles) -> dict[ManifestKind, dict[str, str]]:
    """The uv, Poetry and requirements manifests GitHub gave whole, by kind: path -> text."""
    texts: dict[ManifestKind, dict[str, str]] = {
        kind: {} for kind in (ManifestKind.UV, ManifestKind.POETRY, ManifestKind.REQUIREMENTS)
    }
    for blob in files.manifests:
        if blob.text is not None and blob.oid and not (blob.truncated or blob.binary):
            texts[blob.kind][blob.path] = blob.text
    return texts


# Each engine's parser: parsing is all that tells a manifest the fix could not read.
_PARSERS: dict[ManifestKind, Callable[[str, str], object]] = {
    ManifestKind.UV: uvproject.parse,
    ManifestKind.POETRY: poetryproject.parse,
    ManifestKind.REQUIREMENTS: requirements.parse,
}


def _parses(kind: ManifestKind, text: str, path: str) -> bool:
    try:
        _PARSERS[kind](text, path)
    except PipfileError:
        return False
    return True


def opted_out(repo: RepoSummary, files: RepoFiles | None, settings: Settings) -> str | None:
    """Why a repository does not want pull requests, or None."""
    if settings.github.opt_out_topic in repo.topics:
        return f"topic {settings.github.opt_out_topic}"
    if any(fnmatch.fnmatchcase(repo.name, pattern) for pattern in settings.github.exclude):
        return "excluded by the configuration"
    return None if files is None else file_opt_out(files.opt_out)


class FixJob:
    def __init__(
        self,
        settings: Settings,
        gateway: Gateway,
        store: PullRequestStore,
        pulls: PullRequests | None,  # None: a dry run, which writes nothing anywhere
        versions: Mapping[VersionKey, Contents] | None = None,
    ):
        self.settings = settings
        # What CodeArtifact holds per private version (the scan's cache): without it a
        # fix could flip a lock entry's index but keep an impostor's hashes.
        self.versions = versions or {}
        self.gateway = gateway
        self.store = store
        self.pulls = pulls
        self.options = AuditOptions(
            index_name=settings.codeartifact.source_name,
            source_url=settings.codeartifact.source_url,
        )

    def run(self, only: Sequence[str] = (), max_prs: int | None = None) -> FixSummary:
        run_id = self.store.latest_run(self.settings.github.org)
        if run_id is None:
            raise StoreError("no finished scan is recorded yet: run `pipfleet scan` first")
        status = self.store.run_status(run_id)
        if status not in (RunStatus.COMPLETED, RunStatus.PARTIAL):
            raise SafetyLimit(
                f"the latest scan (run {run_id}) is {status}: pipfleet acts only on a "
                "completed scan; run `pipfleet scan` (or `pipfleet run`) again"
            )
        summary = FixSummary(run_id)
        listing = with_contents(self.store.listing(run_id), self.versions)
        candidates = [
            c
            for c in self.store.candidates(run_id, self.settings.github.org)
            if not only or c.name in only or c.full_name in only
        ]
        live = {repo.full_name: repo for repo in self.gateway.list_repositories()}
        readable = [
            live[c.full_name]
            for c in candidates
            if c.full_name in live and live[c.full_name].head_oid and not live[c.full_name].archived
        ]
        files = {f.repo.full_name: f for f in self.gateway.read_files(readable)}
        lock_wanted = {
            f.repo.full_name: sorted(f.lockfiles & _locks_beside(f))
            for f in files.values()
            if f.lockfiles and not f.error
        }
        locks = self.gateway.read_texts(
            [(live[name], paths) for name, paths in lock_wanted.items() if paths]
        )
        # The gateway read what requirements files include (-r/-c) with the files.
        includes = {name: f.includes for name, f in files.items() if not f.error and f.includes}
        open_pulls = [
            (live[c.full_name], c.record.number)
            for c in candidates
            if c.record is not None
            and c.record.state in (PullRequestState.OPEN, PullRequestState.CLOSING)
            and c.record.number is not None
            and c.full_name in live
        ]
        pulls_now = self.gateway.read_pulls(open_pulls)  # one request per batch, not per PR
        budget = self.settings.fix.max_prs_per_run if max_prs is None else max_prs
        closures = _Closures(
            allowed=status is RunStatus.COMPLETED, limit=self.settings.fix.max_closes_per_run
        )
        for candidate in candidates:
            if summary.stopped:
                summary.outcomes.append(
                    FixOutcome(candidate.full_name, PullAction.DEFERRED, summary.stopped)
                )
                continue
            repo = live.get(candidate.full_name)
            read = files.get(candidate.full_name)
            missing_locks = [
                path
                for path in lock_wanted.get(candidate.full_name, [])
                if path not in locks.get(candidate.full_name, {})
            ]
            if repo is None or read is None or read.error or missing_locks:
                why = "not readable (archived, empty or gone)"
                if read is not None and read.error:
                    why = read.error
                elif missing_locks:
                    why = f"GitHub did not return {', '.join(missing_locks)}"
                summary.outcomes.append(FixOutcome(candidate.full_name, PullAction.FAILED, why))
                continue
            try:
                remote = None
                if candidate.record is not None and candidate.record.number is not None:
                    remote = pulls_now.get((candidate.full_name, candidate.record.number))
                outcome = self._repository(
                    candidate,
                    repo,
                    read,
                    locks,
                    includes.get(candidate.full_name, {}),
                    listing,
                    budget,
                    remote,
                    closures,
                )
            except (RateLimited, SafetyLimit) as exc:
                summary.stopped = str(exc)
                outcome = FixOutcome(candidate.full_name, PullAction.DEFERRED, str(exc))
            except GitHubError as exc:
                outcome = FixOutcome(candidate.full_name, PullAction.FAILED, str(exc))
                self._note_error(candidate, str(exc))
            except Exception as exc:  # one repository's content never stops the fleet
                outcome = FixOutcome(candidate.full_name, PullAction.FAILED, one_line(exc))
                self._note_error(candidate, one_line(exc))
            if outcome.action == PullAction.OPEN:
                budget -= 1
            summary.outcomes.append(outcome)
        if self.pulls is not None and not summary.stopped:
            summary.branches_deleted = self._retry_branch_deletes(only)
        summary.writes = self.pulls.writes if self.pulls else 0
        return summary

    def _repository(
        self,
        candidate: Candidate,
        repo: RepoSummary,
        read: RepoFiles,
        locks: dict[str, dict[str, str]],
        includes: Mapping[str, str | None],
        listing: Listing,
        budget: int,
        remote: PullRead | None,
        closures: _Closures,
    ) -> FixOutcome:
        name = candidate.full_name
        record = self._synced(candidate, repo, remote)
        if record is not None and record.state is PullRequestState.CLOSING:
            # A run died while closing it: finish the close it had the evidence for.
            if remote is None:
                return FixOutcome(
                    name, PullAction.KEPT, "GitHub did not say the pull request's state"
                )
            closures.take(name)
            if self.pulls is not None:
                self._close(repo, record, remote)
            why = "finishing an interrupted close"
            return FixOutcome(
                name, PullAction.CLOSE, why, number=record.number, url=record.html_url
            )
        if reason := opted_out(repo, read, self.settings):
            return FixOutcome(name, PullAction.OPTED_OUT, reason)
        pipfiles = {b.path: b.text for b in read.pipfiles if b.text is not None and b.oid}
        texts = _manifest_texts(read)
        manifests = Manifests(
            texts[ManifestKind.UV],
            texts[ManifestKind.POETRY],
            texts[ManifestKind.REQUIREMENTS],
            includes,
        )
        fix = build_fix(pipfiles, locks.get(name, {}), listing, self.options, manifests)
        last = LastPull(record.state, record.fingerprint) if record else None
        fingerprint = None if fix.empty else fix.fingerprint
        decision = decide(fingerprint, last, self.settings.fix.reopen_dismissed)
        text = None if fix.empty else self._text(fix)
        if decision.action in (PullAction.CLOSE, PullAction.UPDATE) and remote is None:
            return FixOutcome(
                name,
                PullAction.KEPT,
                "GitHub did not say whether the pull request is still open",
                fix,
            )
        if decision.action is PullAction.CLOSE:
            if doubt := self._doubt(read, pipfiles, includes, fix, listing, closures):
                return FixOutcome(name, PullAction.KEPT, doubt, fix)
            closures.take(name)
        if self.pulls is None or decision.action in (
            PullAction.NOTHING,
            PullAction.DECLINED,
            PullAction.NONE_NEEDED,
        ):
            return FixOutcome(name, decision.action, decision.reason, fix, text)
        if decision.action is PullAction.OPEN and budget <= 0:
            return FixOutcome(name, PullAction.DEFERRED, "max_prs_per_run reached", fix, text)
        assert repo.head_oid and repo.default_branch
        if decision.action is PullAction.CLOSE:
            assert record is not None and record.number is not None
            self._close(repo, record, remote)
            return FixOutcome(
                name, PullAction.CLOSE, decision.reason, number=record.number, url=record.html_url
            )
        assert text is not None
        record = self._push(repo, fix, text, record, decision.action)
        return FixOutcome(
            name, decision.action, decision.reason, fix, text, record.number, record.html_url
        )

    def _doubt(
        self,
        read: RepoFiles,
        pipfiles: dict[str, str],
        includes: Mapping[str, str | None],
        fix: RepoFix,
        listing: Listing,
        closures: _Closures,
    ) -> str | None:
        """Why the evidence is not enough to close the pull request, or None."""
        if not closures.allowed:
            return "the latest scan was partial: closures wait for a completed one"
        texts = _manifest_texts(read)
        unreadable = [b.path for b in read.pipfiles if b.path not in pipfiles]
        unreadable += [b.path for b in read.manifests if b.path not in texts[b.kind]]
        # An include absent or unread may be one GitHub did not give whole.
        unreadable += [path for path, text in includes.items() if text is None]
        if unreadable:
            return f"{', '.join(unreadable)} could not be read in full"
        if fix.unfixable:
            return "some manifests need a fix pipfleet cannot make"
        broken = [
            path
            for path, text in pipfiles.items()
            if audit_text(text, path, listing, self.options)[0] is None
        ]
        broken += [
            b.path for b in read.manifests if not _parses(b.kind, texts[b.kind][b.path], b.path)
        ]
        if broken:
            return f"{', '.join(broken)} does not parse"
        return None

    def _text(self, fix: RepoFix) -> PullRequestText:
        codeartifact = self.settings.codeartifact
        body = BodySettings(
            index_name=codeartifact.source_name,
            domain=codeartifact.domain,
            domain_owner=codeartifact.domain_owner,
            region=codeartifact.region,
            opt_out_topic=self.settings.github.opt_out_topic,
            opt_out_file=OPT_OUT_FILE,
            guide_url=self.settings.fix.guide_url,
        )
        return render(fix, self.settings.fix.title, body)

    def _synced(
        self, candidate: Candidate, repo: RepoSummary, remote: PullRead | None
    ) -> PullRequestRecord | None:
        """The latest record, with GitHub's word on whether a human merged or closed it."""
        record = candidate.record
        if record is not None and record.state is PullRequestState.PENDING:
            return self._found(repo, record)
        watched = (PullRequestState.OPEN, PullRequestState.CLOSING)
        if record is None or record.state not in watched or remote is None:
            return record
        if remote.merged:
            record.state, record.closed_at = PullRequestState.MERGED, utcnow()
        elif remote.state == "closed" and record.state is PullRequestState.OPEN:
            record.state, record.closed_at = PullRequestState.DISMISSED, utcnow()
        else:  # still open, or closed by the interrupted close itself: the close goes on
            return record
        return record if self.pulls is None else self.store.save(record)

    def _found(self, repo: RepoSummary, record: PullRequestRecord) -> PullRequestRecord:
        """A pending record (a run died, or GitHub's answer was lost, while opening) with
        the pull request GitHub did open, if any: its number and what became of it.

        Without this, a pull request a maintainer closed meanwhile would be opened again.
        """
        if self.pulls is None:
            return record
        found = self.pulls.find_fix(repo.name, record.branch, record.fingerprint)
        if found is None:
            return record
        record.number, record.html_url = found.number, found.html_url
        if found.merged:
            record.state, record.closed_at = PullRequestState.MERGED, utcnow()
        elif found.state == "closed":
            record.state, record.closed_at = PullRequestState.DISMISSED, utcnow()
        else:
            self.pulls.label(repo.name, found.number, self.settings.fix.labels)
            record.state = PullRequestState.OPEN
        return self.store.save(record)

    def _push(
        self,
        repo: RepoSummary,
        fix: RepoFix,
        text: PullRequestText,
        record: PullRequestRecord | None,
        action: PullAction,
    ) -> PullRequestRecord:
        assert self.pulls is not None and repo.head_oid and repo.default_branch
        branch = self.settings.fix.branch
        if action is PullAction.OPEN and (
            record is None or record.state is not PullRequestState.PENDING
        ):
            record = PullRequestRecord(
                repository_id=self._repository_id(repo),
                branch=branch,
                fingerprint=fix.fingerprint,
                state=PullRequestState.PENDING,
                title=text.title,
            )
            record = self.store.save(record)  # a run dying from here on leaves a trace
        elif record is not None and record.state is PullRequestState.PENDING:
            # The body will carry this fix's fingerprint: the record must name it too, or
            # a lost answer to this very attempt could not be found again.
            record.fingerprint, record.title = fix.fingerprint, text.title
            record = self.store.save(record)
        assert record is not None
        files = [(change.path, change.new_text) for change in fix.changes]
        message = commit_message(fix, text.title)
        sha = self.pulls.commit_files(repo.name, repo.head_oid, files, message)
        self.pulls.point_branch(repo.name, branch, sha, exists=action is PullAction.UPDATE)
        if action is PullAction.OPEN:
            pull = self.pulls.open(repo.name, branch, repo.default_branch, text.title, text.body)
            self.pulls.label(repo.name, pull.number, self.settings.fix.labels)
            record.number, record.html_url = pull.number, pull.html_url
        else:
            assert record.number is not None
            self.pulls.update(repo.name, record.number, text.title, text.body)
            if not self.pulls.has_comment(repo.name, record.number, rebuilt_marker(fix)):
                comment = rebuilt_comment(fix, repo.default_branch, repo.head_oid)
                self.pulls.comment(repo.name, record.number, comment)
        record.state, record.fingerprint, record.title = (
            PullRequestState.OPEN,
            fix.fingerprint,
            text.title,
        )
        record.last_error = None
        return self.store.save(record)

    def _close(self, repo: RepoSummary, record: PullRequestRecord, remote: PullRead | None) -> None:
        """Comment, close, delete the branch: each step once, even across a crash.

        The record says "closing" before the comment, so a run that dies midway is
        finished by the next one, which comments only if the comment is not there.
        """
        number = record.number
        assert self.pulls is not None and number is not None
        comment = closed_comment(repo.default_branch or "")
        if record.state is not PullRequestState.CLOSING:
            record.state = PullRequestState.CLOSING
            record = self.store.save(record)
            self.pulls.comment(repo.name, number, comment)
        elif not self.pulls.has_comment(repo.name, number, CLOSE_MARKER):
            self.pulls.comment(repo.name, number, comment)
        if remote is None or remote.state == "open":
            self.pulls.close(repo.name, number)
        record.state, record.closed_at = PullRequestState.CLOSED, utcnow()
        record.branch_pending_delete = True
        record = self.store.save(record)
        self._delete_branch(repo.name, record)

    def _delete_branch(self, repo: str, record: PullRequestRecord) -> bool:
        """Delete a closed pull request's branch; a failure is kept for a later run to retry."""
        assert self.pulls is not None
        try:
            self.pulls.delete_branch(repo, record.branch)
        except RateLimited:
            raise
        except GitHubError as exc:
            record.last_error = f"deleting branch {record.branch}: {exc}"[:2000]
            self.store.save(record)
            return False
        record.branch_pending_delete = False
        self.store.save(record)
        return True

    def _retry_branch_deletes(self, only: Sequence[str]) -> int:
        """Branches of pull requests closed earlier whose delete failed; 0 when none."""
        deleted = 0
        for full_name, record in self.store.pending_branch_deletes(self.settings.github.org):
            name = full_name.split("/", 1)[1]
            if only and name not in only and full_name not in only:
                continue
            deleted += self._delete_branch(name, record)
        return deleted

    def _repository_id(self, repo: RepoSummary) -> int:
        return self.store.repository_id(repo.full_name)

    def _note_error(self, candidate: Candidate, error: str) -> None:
        if candidate.record is not None and self.pulls is not None:
            candidate.record.last_error = error[:2000]
            self.store.save(candidate.record)


@dataclass
class _Closures:
    """The closures one run may make: only after a completed scan, and at most ``limit``."""

    allowed: bool
    limit: int
    done: list[str] = field(default_factory=list)

    def take(self, repository: str) -> None:
        if len(self.done) >= self.limit:
            raise SafetyLimit(
                f"fix.max_closes_per_run ({self.limit}) reached: {len(self.done)} pull "
                f"requests closed as fixed elsewhere and {repository} would be next; so many "
                "at once is more often a broken picture than a good night: check the "
                "repositories, then raise the limit for one run"
            )
        self.done.append(repository)
