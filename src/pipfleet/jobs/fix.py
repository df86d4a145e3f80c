"""The fix job: one pull request per repository, kept in step with the latest scan.

For each repository with fixable findings (or an open bot pull request) it reads
the current Pipfiles and locks, builds the fix, syncs the last recorded pull
request with GitHub, decides (engine.plan) and acts. Nothing is opened twice,
nothing a maintainer declined is proposed again, and a rate limit that would
take too long to wait out stops the run cleanly with the rest deferred.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipfleet.config import Settings
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.fixset import RepoFix, build_fix, lock_path
from pipfleet.engine.listing import Listing
from pipfleet.engine.plan import LastPull, PullAction, decide
from pipfleet.engine.prbody import PullRequestText, render
from pipfleet.errors import GitHubError, RateLimited, StoreError
from pipfleet.github.pulls import PullRequests
from pipfleet.github.queries import PullRead, RepoFiles, RepoSummary
from pipfleet.jobs.scan import Gateway
from pipfleet.store.models import PullRequestRecord, PullRequestState, utcnow
from pipfleet.store.prs import Candidate, PullRequestStore

OPTED_OUT = "opted-out"
DEFERRED = "deferred"
FAILED = "failed"


@dataclass(frozen=True)
class FixOutcome:
    repository: str
    action: str  # a PullAction value, or opted-out / deferred / failed
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
    stopped: str | None = None  # why the run stopped early (a rate limit), if it did

    def counts(self) -> Counter[str]:
        return Counter(outcome.action for outcome in self.outcomes)


def opted_out(repo: RepoSummary, files: RepoFiles | None, settings: Settings) -> str | None:
    """Why a repository does not want pull requests, or None."""
    if settings.github.opt_out_topic in repo.topics:
        return f"topic {settings.github.opt_out_topic}"
    if any(fnmatch.fnmatchcase(repo.name, pattern) for pattern in settings.github.exclude):
        return "excluded by the configuration"
    if files is not None and files.opt_out:
        try:
            enabled = tomllib.loads(files.opt_out).get("enabled", True)
        except tomllib.TOMLDecodeError:
            return None
        if enabled is False:
            return ".pipfleet.toml says enabled = false"
    return None


class FixJob:
    def __init__(
        self,
        settings: Settings,
        gateway: Gateway,
        store: PullRequestStore,
        pulls: PullRequests | None,  # None: a dry run, which writes nothing anywhere
    ):
        self.settings = settings
        self.gateway = gateway
        self.store = store
        self.pulls = pulls
        self.options = AuditOptions(
            index_name=settings.codeartifact.source_name,
            source_url=settings.codeartifact.source_url,
        )

    def run(self, only: Sequence[str] = (), max_prs: int | None = None) -> FixSummary:
        run_id = self.store.latest_run()
        if run_id is None:
            raise StoreError("no finished scan is recorded yet: run `pipfleet scan` first")
        summary = FixSummary(run_id)
        listing = self.store.listing(run_id)
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
        lock_wanted = [
            (f.repo, sorted(f.lockfiles & {lock_path(b.path) for b in f.pipfiles}))
            for f in files.values()
            if f.lockfiles
        ]
        locks = self.gateway.read_texts([(repo, paths) for repo, paths in lock_wanted if paths])
        open_pulls = [
            (live[c.full_name], c.record.number)
            for c in candidates
            if c.record is not None
            and c.record.state is PullRequestState.OPEN
            and c.record.number is not None
            and c.full_name in live
        ]
        pulls_now = self.gateway.read_pulls(open_pulls)  # one request per batch, not per PR
        budget = self.settings.fix.max_prs_per_run if max_prs is None else max_prs
        for candidate in candidates:
            if summary.stopped:
                summary.outcomes.append(FixOutcome(candidate.full_name, DEFERRED, summary.stopped))
                continue
            repo = live.get(candidate.full_name)
            read = files.get(candidate.full_name)
            if repo is None or read is None or read.error:
                why = (
                    read.error if read and read.error else "not readable (archived, empty or gone)"
                )
                summary.outcomes.append(FixOutcome(candidate.full_name, FAILED, why))
                continue
            try:
                remote = None
                if candidate.record is not None and candidate.record.number is not None:
                    remote = pulls_now.get((candidate.full_name, candidate.record.number))
                outcome = self._repository(candidate, repo, read, locks, listing, budget, remote)
            except RateLimited as exc:
                summary.stopped = str(exc)
                outcome = FixOutcome(candidate.full_name, DEFERRED, str(exc))
            except GitHubError as exc:
                outcome = FixOutcome(candidate.full_name, FAILED, str(exc))
                self._note_error(candidate, str(exc))
            if outcome.action == PullAction.OPEN:
                budget -= 1
            summary.outcomes.append(outcome)
        summary.writes = self.pulls.writes if self.pulls else 0
        return summary

    def _repository(
        self,
        candidate: Candidate,
        repo: RepoSummary,
        read: RepoFiles,
        locks: dict[str, dict[str, str]],
        listing: Listing,
        budget: int,
        remote: PullRead | None,
    ) -> FixOutcome:
        name = candidate.full_name
        if reason := opted_out(repo, read, self.settings):
            return FixOutcome(name, OPTED_OUT, reason)
        pipfiles = {b.path: b.text for b in read.pipfiles if b.text is not None and b.oid}
        fix = build_fix(pipfiles, locks.get(name, {}), listing, self.options)
        record = self._synced(candidate, remote)
        last = LastPull(record.state.value, record.fingerprint) if record else None
        fingerprint = None if fix.empty else fix.fingerprint
        decision = decide(fingerprint, last, self.settings.fix.reopen_dismissed)
        text = None if fix.empty else self._text(fix)
        if self.pulls is None or decision.action in (
            PullAction.NOTHING,
            PullAction.DECLINED,
            PullAction.NONE_NEEDED,
        ):
            return FixOutcome(name, decision.action.value, decision.reason, fix, text)
        if decision.action is PullAction.OPEN and budget <= 0:
            return FixOutcome(name, DEFERRED, "max_prs_per_run reached", fix, text)
        assert repo.head_oid and repo.default_branch
        if decision.action is PullAction.CLOSE:
            assert record is not None and record.number is not None
            self._close(repo, record)
            return FixOutcome(
                name, "close", decision.reason, number=record.number, url=record.html_url
            )
        assert text is not None
        record = self._push(repo, fix, text, record, decision.action)
        return FixOutcome(
            name, decision.action.value, decision.reason, fix, text, record.number, record.html_url
        )

    def _text(self, fix: RepoFix) -> PullRequestText:
        fixes = self.settings.fix
        index = self.settings.codeartifact.source_name
        return render(fix, fixes.title, index, fixes.guide_url)

    def _synced(self, candidate: Candidate, remote: PullRead | None) -> PullRequestRecord | None:
        """The latest record, with GitHub's word on whether a human merged or closed it."""
        record = candidate.record
        if record is None or record.state is not PullRequestState.OPEN or remote is None:
            return record
        if remote.merged:
            record.state, record.closed_at = PullRequestState.MERGED, utcnow()
        elif remote.state == "closed":
            record.state, record.closed_at = PullRequestState.DISMISSED, utcnow()
        else:
            return record
        return record if self.pulls is None else self.store.save(record)

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
        assert record is not None
        files = [(change.path, change.new_text) for change in fix.changes]
        message = f"{text.title}\n\nPinned by pipfleet: " + ", ".join(
            sorted({f"{e.package} ({e.path})" for e in fix.entries})
        )
        sha = self.pulls.commit_files(repo.name, repo.head_oid, files, message + "\n")
        self.pulls.point_branch(repo.name, branch, sha, exists=action is PullAction.UPDATE)
        if action is PullAction.OPEN:
            pull = self.pulls.open(repo.name, branch, repo.default_branch, text.title, text.body)
            self.pulls.label(repo.name, pull.number, self.settings.fix.labels)
            record.number, record.html_url = pull.number, pull.html_url
        else:
            assert record.number is not None
            self.pulls.update(repo.name, record.number, text.title, text.body)
            self.pulls.comment(
                repo.name,
                record.number,
                f"pipfleet rebuilt this branch on the current `{repo.default_branch}` "
                f"({repo.head_oid[:7]}): the fix or the files under it changed. It now "
                f"changes {len(fix.changes)} file(s) and pins {len(fix.entries)} entr(y/ies).",
            )
        record.state, record.fingerprint, record.title = (
            PullRequestState.OPEN,
            fix.fingerprint,
            text.title,
        )
        record.last_error = None
        return self.store.save(record)

    def _close(self, repo: RepoSummary, record: PullRequestRecord) -> None:
        assert self.pulls is not None and record.number is not None
        self.pulls.comment(
            repo.name,
            record.number,
            f"`{repo.default_branch}` no longer needs this change: its private packages are "
            "pinned already. Closing, and deleting the branch.",
        )
        self.pulls.close(repo.name, record.number)
        self.pulls.delete_branch(repo.name, record.branch)
        record.state, record.closed_at = PullRequestState.CLOSED, utcnow()
        self.store.save(record)

    def _repository_id(self, repo: RepoSummary) -> int:
        return self.store.repository_id(repo.full_name)

    def _note_error(self, candidate: Candidate, error: str) -> None:
        if candidate.record is not None and self.pulls is not None:
            candidate.record.last_error = error[:2000]
            self.store.save(candidate.record)
