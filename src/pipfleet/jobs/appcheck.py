"""``pipfleet github-app check``: what the App's installation on each configured org sees
and may do, against what scan and fix need (github/permissions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from github import Auth, GithubIntegration

from pipfleet.config import GitHubSettings, Settings
from pipfleet.errors import ConfigError, NotFound
from pipfleet.github.limits import Patience, server_error_retry
from pipfleet.github.permissions import Job, Shortfall, missing
from pipfleet.jobs.scan import matches
from pipfleet.repositories import RepoSummary


@dataclass(frozen=True)
class InstallationCheck:
    org: str
    app_id: str
    installation_id: int | None  # None: the App is not installed on the org
    permissions: Mapping[str, str]
    visible: int  # repositories the installation can see
    matching: int  # of those, the ones github.include / exclude select
    gaps: Mapping[Job, list[Shortfall]]

    @property
    def complete(self) -> bool:
        return self.installation_id is not None and not any(self.gaps.values())

    def lines(self) -> list[str]:
        if self.installation_id is None:
            lines = [
                f"the GitHub App {self.app_id} is not installed on {self.org}: install it "
                "(all repositories, or those github.include selects)"
            ]
        else:
            granted = ", ".join(f"{k}: {v}" for k, v in sorted(self.permissions.items()))
            lines = [
                f"the GitHub App {self.app_id} is installed on {self.org} "
                f"(installation {self.installation_id})",
                f"repositories: {self.visible} visible to the installation, {self.matching} "
                "of them selected by github.include / github.exclude",
                f"permissions: {granted or 'none'}",
            ]
        for job in Job:
            gaps = self.gaps[job]
            lines.append(
                f"{job}: "
                + (
                    "; ".join(
                        f"missing {gap.permission.title}: {gap.needed.spoken} (has "
                        f"{gap.granted.spoken if gap.granted else 'none'})"
                        for gap in gaps
                    )
                    if gaps
                    else "has every permission it needs"
                )
            )
        return lines


def summary_of(repo: Mapping[str, Any]) -> RepoSummary:
    """A repository as ``GET /installation/repositories`` lists it."""
    return RepoSummary(
        owner=str(repo["owner"]["login"]),
        name=str(repo["name"]),
        archived=bool(repo.get("archived")),
        fork=bool(repo.get("fork")),
        disabled=bool(repo.get("disabled")),
        empty=repo.get("size") == 0,
        visibility=str(repo.get("visibility") or ""),
        url=str(repo.get("html_url") or ""),
        topics=tuple(repo.get("topics") or ()),
        default_branch=repo.get("default_branch"),
        head_oid=None,
    )


@dataclass(frozen=True)
class FleetCheck:
    """One InstallationCheck per configured org."""

    orgs: tuple[InstallationCheck, ...]

    @property
    def complete(self) -> bool:
        return all(check.complete for check in self.orgs)

    def lines(self) -> list[str]:
        return [line for check in self.orgs for line in check.lines()]


def check_installation(settings: Settings) -> FleetCheck:
    """The App's installation on every configured org."""
    secrets, github = settings.secrets, settings.github
    if not (secrets.app_id and secrets.app_private_key):
        raise ConfigError(
            "github-app check needs the App's credentials: set PIPFLEET_GITHUB_APP_ID and "
            "PIPFLEET_GITHUB_APP_PRIVATE_KEY (or ..._PATH)"
        )
    auth = Auth.AppAuth(secrets.app_id, secrets.app_private_key.reveal())
    integration = GithubIntegration(
        base_url=github.api_url, auth=auth, retry=server_error_retry(writes=False)
    )
    orgs = github.every_org
    checks = []
    for org in orgs:
        # The environment's installation id is for the one org only (config refuses it
        # with several); [github.installations] names one per org.
        configured = github.installation(org) or (
            secrets.app_installation_id if len(orgs) == 1 else None
        )
        checks.append(_check_org(integration, secrets.app_id, org, configured, github))
    return FleetCheck(tuple(checks))


def _check_org(
    integration: GithubIntegration,
    app_id: str,
    org: str,
    configured: int | None,
    github: GitHubSettings,
) -> InstallationCheck:
    patience = Patience()
    try:
        installation = patience.call(
            f"looking up the App installation on {org}",
            lambda: integration.get_org_installation(org),
            lambda: None,
        )
    except NotFound:
        nothing = {job: missing({}, job) for job in Job}
        return InstallationCheck(org, app_id, None, {}, 0, 0, nothing)
    if configured not in (None, installation.id):
        raise ConfigError(
            f"the configured installation id for {org} is {configured}, but the App's "
            f"installation on {org} is {installation.id}: fix or remove it"
        )
    granted = {str(k): str(v) for k, v in (installation.raw_data.get("permissions") or {}).items()}
    repos = patience.call(
        f"listing the repositories the installation on {org} can see",
        lambda: [summary_of(repo.raw_data) for repo in installation.get_repos()],
        lambda: None,
    )
    return InstallationCheck(
        org=org,
        app_id=app_id,
        installation_id=installation.id,
        permissions=granted,
        visible=len(repos),
        matching=sum(1 for repo in repos if matches(repo, github)),
        gaps={job: missing(granted, job) for job in Job},
    )
