"""The ``pipfleet`` command line: parse arguments, call one function, render, exit.

This is the only module that prints or exits. Every PipfleetError becomes one
line on stderr and its exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

import pipfleet
from pipfleet.errors import ListingError, PipfleetError, UsageError
from pipfleet.extras import EXTRA_OF_MODULE
from pipfleet.files import prepare_folder, prepare_output
from pipfleet.report import ReportFormat
from pipfleet.safetext import mask_credentials, printable

if TYPE_CHECKING:
    from rich.console import Console

    from pipfleet.config import Settings
    from pipfleet.engine.listing import Listing

# Plain help: Rich's panels show a stray "<bool>" type after every flag (--help included)
# and its markup swallows bracketed text such as [[source]].
PLAIN_HELP = None

app = typer.Typer(
    name="pipfleet",
    help="Audit and fix Pipfiles so private packages resolve from AWS CodeArtifact.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=PLAIN_HELP,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(pipfleet.__version__)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The options before any command (the help is the Typer's)."""


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _console() -> Console:
    """Rich is imported by the commands that print through it, not by every start."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _settings(config: Path | None) -> Settings:
    from pipfleet.config import load_settings

    return load_settings(config)


def _load_listing(path: Path) -> Listing:
    from pipfleet.engine.listing import parse_listing

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ListingError(f"cannot read listing {path}: {reason}") from None
    return parse_listing(text, str(path))


@app.command()
def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Pipfiles, uv or Poetry pyproject.toml files, requirements files, or folders "
            "searched for them (default: .)."
        ),
    ] = None,
    listing: Annotated[
        Path | None,
        typer.Option(
            "--listing",
            envvar="PIPFLEET_LISTING",
            help=(
                "Private package listing: one name a line, optional versions after it, "
                "each optionally followed by sha256:<hex> file hashes; '-> req, ...' names "
                "private dependencies (`pipfleet listing export` writes one). Default: "
                "CodeArtifact through the config's codeartifact table and your AWS "
                "credentials, cached for check.listing_cache seconds."
            ),
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Config whose CodeArtifact to ask without --listing (else $PIPFLEET_CONFIG, "
            "else ./pipfleet.toml).",
        ),
    ] = None,
    index_name: Annotated[
        str | None,
        typer.Option(
            "--index-name",
            help="Name of the private [[source]] (default: the config's, else codeartifact).",
        ),
    ] = None,
    source_url: Annotated[
        str | None,
        typer.Option(
            "--source-url",
            envvar="PIPFLEET_SOURCE_URL",
            help="URL of the private source to add where a manifest has none "
            "(use ${CODEARTIFACT_AUTH_TOKEN}, never a literal token; default: the config's).",
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.TEXT,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Rewrite the manifests in place, and the Pipfile.lock or poetry.lock beside "
            "each (a uv.lock is left to `uv lock`).",
        ),
    ] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print the fix as a diff.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list compliant and info findings.")
    ] = False,
) -> None:
    """Audit manifests: exit 0 when compliant, 1 when findings need action, 2 on bad input."""
    from pipfleet.checkoutput import check_json, print_check, use_color
    from pipfleet.engine.audit import DEFAULT_INDEX_NAME, AuditOptions
    from pipfleet.jobs.check import Mode, check_paths

    if fix and diff:
        raise UsageError("--fix and --diff cannot be used together")
    mode = Mode.FIX if fix else Mode.DIFF if diff else Mode.AUDIT
    paths = paths or [Path(".")]
    codeartifact = None
    if listing is not None:
        private = _load_listing(listing)
    else:
        from pipfleet.jobs.listing import check_listing, check_settings

        settings = check_settings(config)
        codeartifact = settings.codeartifact
        private = check_listing(settings, paths)
    options = AuditOptions(
        index_name=index_name or (codeartifact.source_name if codeartifact else DEFAULT_INDEX_NAME),
        source_url=source_url or (codeartifact.source_url if codeartifact else None),
    )
    result = check_paths(paths, private, options, mode)
    if output_format is OutputFormat.JSON:
        sys.stdout.write(check_json(result, private, options.index_name))
    else:
        print_check(result, verbose=verbose, color=use_color(os.environ))
    raise typer.Exit(result.exit_code)


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


AcceptShrinkOption = Annotated[
    bool,
    typer.Option(
        "--accept-shrink",
        help="Act even though the private listing or the org's repositories shrank past "
        "the [safety] limits since the last good run.",
    ),
]

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (else $PIPFLEET_CONFIG, else ./pipfleet.toml)."),
]

OrgOption = Annotated[
    list[str] | None,
    typer.Option(
        "--org",
        help="Only this configured org (repeatable; default: every org of github.org(s)). "
        "Runs for different orgs can go at once, e.g. on several runners.",
    ),
]


@app.command()
def scan(
    config: ConfigOption = None,
    listing: Annotated[
        Path | None,
        typer.Option("--listing", help="Private packages from this file instead of CodeArtifact."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing to the database.")] = (
        False
    ),
    log_format: Annotated[LogFormat, typer.Option("--log-format")] = LogFormat.TEXT,
    accept_shrink: AcceptShrinkOption = False,
    org: OrgOption = None,
) -> None:
    """Scan the orgs' repositories and record compliance: exit 0, 2 config, 3 partial, 4 locked."""
    from pipfleet.jobs.nightly import scan_alone
    from pipfleet.progress import log_line, scan_progress
    from pipfleet.render import print_scan_summary, scan_summary_json

    settings = _settings(config)
    override = _load_listing(listing) if listing else None
    with scan_progress(log_format.value) as progress:
        summaries = scan_alone(
            settings,
            orgs=org or (),
            listing_override=override,
            dry_run=dry_run,
            progress=progress,
            accept_shrink=accept_shrink,
        )
    several = len(summaries) > 1  # one org's output stays as it was before several orgs
    for name, summary in summaries.items():
        if log_format is LogFormat.JSON:
            fields = scan_summary_json(summary, dry_run) | ({"org": name} if several else {})
            log_line(sys.stdout, "json", "scan.summary", **fields)
        else:
            if several:
                typer.echo(printable(f"{name}:"))
            print_scan_summary(_console(), summary, dry_run)
    raise typer.Exit(3 if any(summary.failed for summary in summaries.values()) else 0)


@app.command()
def fix(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show titles and diffs; write nothing.")
    ] = False,
    max_prs: Annotated[
        int | None, typer.Option("--max-prs", help="Open at most this many pull requests.")
    ] = None,
    repo: Annotated[
        list[str] | None, typer.Option("--repo", help="Only this repository (repeatable).")
    ] = None,
    log_format: Annotated[LogFormat, typer.Option("--log-format")] = LogFormat.TEXT,
    org: OrgOption = None,
) -> None:
    """Open, update and close fix pull requests for the latest scan (exit 4 when locked)."""
    from pipfleet.jobs.nightly import fix_alone
    from pipfleet.progress import log_line
    from pipfleet.render import fix_summary_json, print_fix_summary

    settings = _settings(config)
    summaries = fix_alone(
        settings, orgs=org or (), dry_run=dry_run, only=repo or (), max_prs=max_prs
    )
    several = len(summaries) > 1
    for name, summary in summaries.items():
        if log_format is LogFormat.JSON:
            fields = fix_summary_json(summary, dry_run) | ({"org": name} if several else {})
            log_line(sys.stdout, "json", "fix.summary", **fields)
            continue
        if several:
            typer.echo(printable(f"{name}:"))
        print_fix_summary(_console(), summary, dry_run)
    stopped = any(summary.stopped or summary.failed for summary in summaries.values())
    raise typer.Exit(3 if stopped else 0)


@app.command()
def run(
    config: ConfigOption = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the HTML dashboard here.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when findings no pull request can fix remain.")
    ] = False,
    log_format: Annotated[LogFormat, typer.Option("--log-format")] = LogFormat.TEXT,
    accept_shrink: AcceptShrinkOption = False,
    org: OrgOption = None,
) -> None:
    """The nightly job: scan, fix, summarise; exits 0, 1 (--strict), 2, 3 (partial), 4 (locked)."""
    from pipfleet.jobs.nightly import run_orgs
    from pipfleet.progress import scan_progress

    settings = _settings(config)
    if report is not None:
        prepare_output(report, "the report")  # now, not after the whole run
    with scan_progress(log_format.value) as progress:
        result = run_orgs(
            settings, org or (), report=report, progress=progress, accept_shrink=accept_shrink
        )
    typer.echo(result.paragraph())
    raise typer.Exit(result.exit_code(strict))


@app.command()
def report(
    config: ConfigOption = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="table, json, csv, markdown or html (the dashboard)."),
    ] = ReportFormat.TABLE,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file instead of stdout."),
    ] = None,
    run_id: Annotated[
        int | None, typer.Option("--run", help="Run number (default: the latest finished run).")
    ] = None,
    repo: Annotated[
        str | None,
        typer.Option("--repo", help="Shell pattern on the repository's name or full name."),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only findings of this kind (e.g. confusion-risk)."),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(
            "--org", help="Only this org (default: every org, each as of its latest run)."
        ),
    ] = None,
    manifest: Annotated[
        str | None,
        typer.Option(
            "--manifest",
            help="Only repositories with a manifest of this kind (pipfile, uv, poetry or "
            "requirements), and the findings in those manifests.",
        ),
    ] = None,
) -> None:
    """Report a scan run: fleet summary, confusion risks, repositories, private packages."""
    from pipfleet.report.model import ReportQuery
    from pipfleet.report.output import make_report, write_report

    if output is not None:
        prepare_output(output, "the report")
    query = ReportQuery(run_id=run_id, repo=repo, kind=kind, org=org, manifest=manifest)
    console = _console()
    color = output is None and console.is_terminal and not console.no_color
    text = make_report(
        _database_url(config),
        fmt,
        query,
        width=console.width,
        color=color,
        opt_out_topic=_opt_out_topic(config),
    )
    if output is None:
        sys.stdout.write(text)
    else:
        write_report(output, text)
        typer.echo(f"wrote {output}", err=True)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[
        str, typer.Option(help="Address to bind: loopback unless --public.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8080,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Allow a non-loopback --host and any Host header: put an authenticating "
            "proxy in front, the dashboard has no login.",
        ),
    ] = False,
    base_path: Annotated[
        str,
        typer.Option(
            "--base-path",
            help="Serve every page, link and redirect under this path (e.g. /pipfleet), "
            "for a reverse proxy that forwards that path unchanged.",
        ),
    ] = "/",
) -> None:
    """Serve the dashboard and its JSON live from the database (read-only) until Ctrl-C.

    It has no authentication of its own: anyone who reaches the port reads the whole
    report. Keep it on loopback behind the org's SSO proxy (oauth2-proxy, nginx with
    auth_request, ...); docs/dashboard.md has an example.
    """
    from pipfleet.report.serve import serve as serve_dashboard

    def ready(url: str) -> None:
        typer.echo(f"pipfleet dashboard on {url} (JSON: {url}api/report.json); Ctrl-C stops it")

    serve_dashboard(
        _database_url(config),
        host,
        port,
        public=public,
        ready=ready,
        opt_out_topic=_opt_out_topic(config),
        base=base_path,
    )


@app.command("mcp")
def mcp_server(
    config: ConfigOption = None,
    listing: Annotated[
        Path | None,
        typer.Option(
            "--listing",
            envvar="PIPFLEET_LISTING",
            help="Private packages from this file while the database has no scan's listing "
            "(default: mcp.listing in the config).",
        ),
    ] = None,
    http: Annotated[
        bool, typer.Option("--http", help="Serve Streamable HTTP instead of stdio.")
    ] = False,
    host: Annotated[
        str | None, typer.Option(help="With --http: address to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="With --http: port (default 8000, 0 picks a free one).")
    ] = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="With --http: allow a non-loopback --host and any Host header (put an "
            "authenticating proxy in front: the server has no login).",
        ),
    ] = False,
) -> None:
    """Answer coding assistants over MCP from the engine and the database (read-only)."""
    from pipfleet.assistant.fleetdata import FleetData, KnownListing
    from pipfleet.assistant.server import ServerOptions, build_server, docs_dir
    from pipfleet.assistant.transport import serve_http, serve_stdio

    if not http and (host is not None or port is not None or public):
        raise UsageError("--host, --port and --public need --http")
    settings = _settings(config)
    listing = listing or settings.mcp.listing
    fallback = KnownListing(_load_listing(listing), str(listing)) if listing else None
    server = build_server(ServerOptions(settings, FleetData(settings, fallback), docs_dir()))
    if not http:
        serve_stdio(server)
        return

    def ready(url: str) -> None:
        typer.echo(f"pipfleet MCP server on {url} (Streamable HTTP); Ctrl-C stops it")

    serve_http(
        server, host or "127.0.0.1", 8000 if port is None else port, public=public, ready=ready
    )


listing_app = typer.Typer(
    help="The private-package listing `pipfleet check --listing` reads.",
    no_args_is_help=True,
    rich_markup_mode=PLAIN_HELP,
)
app.add_typer(listing_app, name="listing")


@listing_app.command("export")
def listing_export(
    config: ConfigOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the listing to this file instead of stdout."),
    ] = None,
    from_database: Annotated[
        bool,
        typer.Option(
            "--from-database", help="From the newest scan in the database, not CodeArtifact."
        ),
    ] = False,
) -> None:
    """Write the listing file (names, versions, file hashes, private dependencies) for checks
    that run offline, from CodeArtifact or the database."""
    from pipfleet.engine.listing import listing_text
    from pipfleet.jobs.listing import export_listing
    from pipfleet.report.output import write_report

    if output is not None:
        prepare_output(output, "the listing")
    listing, header = export_listing(_settings(config), from_database=from_database)
    text = listing_text(listing, header)
    if output is None:
        sys.stdout.write(text)
    else:
        write_report(output, text)  # whole or not at all
        typer.echo(f"wrote {output}: {len(listing)} private packages", err=True)


db_app = typer.Typer(
    help="The compliance database.", no_args_is_help=True, rich_markup_mode=PLAIN_HELP
)
app.add_typer(db_app, name="db")


def _database_url(config: Path | None) -> str:
    from pipfleet.config import database_url

    return database_url(config)


def _opt_out_topic(config: Path | None) -> str:
    from pipfleet.config import opt_out_topic

    return opt_out_topic(config)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Migrate the database to the current schema."""
    from pipfleet.store.db import upgrade

    typer.echo(f"database at revision {upgrade(_database_url(config))}")


@db_app.command("current")
def db_current(config: ConfigOption = None) -> None:
    """Print the database's schema revision (none for an empty database)."""
    from pipfleet.store.db import current

    typer.echo(current(_database_url(config)) or "none")


def _own_command() -> list[str]:
    """This pipfleet as a command to type in the current folder: plain "pipfleet" only when
    PATH finds this very program (after `make demo` it is .venv/bin/pipfleet)."""
    import shutil

    program = sys.argv[0]
    if Path(program).name == "__main__.py":
        return [sys.executable, "-m", "pipfleet"]
    found = shutil.which("pipfleet")
    if found and Path(found).resolve() == Path(program).resolve():
        return ["pipfleet"]
    return [program]


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo's fleet, database and dashboard.")
    ] = Path("pipfleet-demo"),
) -> None:
    """Run a few nights of the nightly job against a generated fleet in the embedded sandbox."""
    import shlex

    from rich.text import Text

    from pipfleet.jobs.demo import DEMO_NIGHTS, run_demo
    from pipfleet.progress import scan_progress

    prepare_folder(out, "the demo folder")
    console = _console()
    console.rule(f"pipfleet demo: {DEMO_NIGHTS} nights of a generated org in the sandbox")
    with scan_progress("text") as progress:
        result = run_demo(out, progress)
    for outcome in result.examples:
        assert outcome.fix is not None and outcome.text is not None
        console.rule(Text(printable(f"{outcome.repository}: pull request #{outcome.number}")))
        console.print(Text(printable(f"title: {outcome.text.title}")))
        for change in outcome.fix.changes:
            diff = mask_credentials(change.diff.rstrip("\n"))
            console.print(Text(printable(diff, multiline=True)))
    console.rule("done: the sandbox is stopped")
    for line in result.summary():
        console.print(Text(printable(line)))
    console.print(Text(printable(f"Dashboard: {result.nightly.report}")))
    console.print("Next, from this folder:")
    command = _own_command()
    for step in result.next_steps:
        console.print(Text(printable(f"  {step.purpose} (exit {step.exit_code}):")))
        console.print(Text(printable(f"    {shlex.join([*command, *step.args])}")))


sandbox_app = typer.Typer(
    help="The loopback GitHub / CodeArtifact / PyPI stand-in.",
    no_args_is_help=True,
    rich_markup_mode=PLAIN_HELP,
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("serve")
def sandbox_serve(
    fleet: Annotated[Path, typer.Option("--fleet", help="The fleet folder to serve.")],
    host: Annotated[str, typer.Option(help="Loopback address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 0,
    token: Annotated[str, typer.Option(help="The GitHub token the sandbox accepts.")] = (
        "sandbox-token"
    ),
    write_config: Annotated[
        Path | None,
        typer.Option("--write-config", help="Write a pipfleet config pointing at the sandbox."),
    ] = None,
    org: Annotated[
        str | None, typer.Option(help="The org the written config names (default: first).")
    ] = None,
) -> None:
    """Serve a fleet folder as GitHub, CodeArtifact and PyPI until interrupted."""
    from pipfleet.sandbox.clientconfig import config_text, default_org, environment
    from pipfleet.sandbox.fleet import load_fleet
    from pipfleet.sandbox.server import SandboxServer

    if write_config is not None:
        prepare_output(write_config, "the config")
    world = load_fleet(fleet)
    world.github_tokens = {token}
    server = SandboxServer(world, host=host, port=port)
    urls = server.urls
    chosen_org = org or default_org(world)
    if write_config is not None:
        write_config.write_text(config_text(urls, world, chosen_org), encoding="utf-8")
    repositories = sum(len(repos) for repos in world.orgs.values())
    lines = [
        f"pipfleet sandbox: {repositories} repositories from {fleet} on {urls.base}",
        f"  GitHub REST      {urls.github_api}",
        f"  GitHub GraphQL   {urls.graphql}",
        f"  CodeArtifact API {urls.codeartifact_endpoint}",
        f"  private index    {urls.private_index_with_auth()}",
        f"  public index     {urls.public_index}",
        f"  control          {urls.control}/counters",
    ]
    if write_config is not None:
        lines.append(f"  config written   {write_config}")
    lines += [f"export {name}={value}" for name, value in environment(urls, world, token).items()]
    typer.echo("\n".join(lines), nl=True)
    server.serve_forever()


@sandbox_app.command("make-fleet")
def sandbox_make_fleet(
    out: Annotated[Path, typer.Argument(help="Folder to write the fleet into (new or empty).")],
    repos: Annotated[int, typer.Option("--repos", help="How many repositories.")] = 40,
    seed: Annotated[int, typer.Option(help="Same seed, same fleet, byte for byte.")] = 0,
    org: Annotated[str, typer.Option(help="The organisation's login.")] = "acme",
) -> None:
    """Write a synthetic fleet folder that `pipfleet sandbox serve --fleet` can serve."""
    from dataclasses import asdict

    from pipfleet.sandbox.makefleet import make_fleet

    if not out.exists():  # an existing one is make_fleet's to judge
        prepare_folder(out, "the fleet folder")
    summary = make_fleet(out, repos, seed=seed, org=org)
    typer.echo(f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in asdict(summary).items()))


github_app = typer.Typer(
    help="pipfleet's GitHub App: create it from the manifest, check an installation.",
    no_args_is_help=True,
    rich_markup_mode=PLAIN_HELP,
)
app.add_typer(github_app, name="github-app")


@github_app.command("create")
def github_app_create(
    org: Annotated[str, typer.Option("--org", help="The organisation that will own the App.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the App's private key and settings.")
    ] = Path("."),
    name: Annotated[
        str | None,
        typer.Option("--name", help="The App's name, unique on GitHub (default: pipfleet-ORG)."),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            help="GitHub's REST API (default: --config's github.api_url, else GitHub's).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="A config whose github.api_url to use."),
    ] = None,
    github_url: Annotated[
        str, typer.Option("--github-url", help="GitHub's web pages.")
    ] = "https://github.com",
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for GitHub's answer.")
    ] = 600,
) -> None:
    """Create the GitHub App with GitHub's manifest flow: open the printed URL, press the
    button on GitHub; the App's id and private key (mode 0600) are written to --out."""
    from pipfleet.github.appflow import FlowSettings, create_app

    if api_url is None:
        api_url = _settings(config).github.api_url if config else "https://api.github.com"
    prepare_folder(out, "the App folder")
    settings = FlowSettings(org, name or f"pipfleet-{org}", out, api_url, github_url, timeout)

    def announce(url: str) -> None:
        typer.echo(f"Open this page in a browser signed in to GitHub as an owner of {org}:")
        typer.echo(f"  {url}")

    try:
        created = create_app(settings, announce)
    except KeyboardInterrupt:
        typer.echo("pipfleet: error: interrupted: no App was created", err=True)
        raise typer.Exit(130) from None
    typer.echo(f"Created the GitHub App {created.slug} (id {created.app_id}).")
    typer.echo(f"  private key: {created.key_file} (readable by you only; keep it secret)")
    typer.echo(f"  settings:    {created.env_file}")
    typer.echo("Next:")
    typer.echo(
        f"  1. install it on {org} (all or the matching repositories): {created.install_url}"
    )
    typer.echo(f"  2. give pipfleet its settings: set -a; . {created.env_file}; set +a")
    typer.echo("  3. check the installation: pipfleet github-app check --config pipfleet.toml")


@github_app.command("check")
def github_app_check(config: ConfigOption = None) -> None:
    """Check the App's installation on the org: the repositories it sees, its permissions
    and what scan and fix miss. Exit 0 when nothing is missing, 1 when something is."""
    from pipfleet.jobs.appcheck import check_installation

    found = check_installation(_settings(config))
    for line in found.lines():
        typer.echo(printable(line))
    raise typer.Exit(0 if found.complete else 1)


@app.command()
def version() -> None:
    """Print pipfleet's version."""
    typer.echo(pipfleet.__version__)


def _check_alone() -> typer.Typer:
    """An app holding only ``check``: a pre-commit hook runs it on every commit, and Typer
    inspects every registered command's signature before running any of them."""
    alone = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=PLAIN_HELP
    )
    alone.command()(check)
    return alone


def main() -> None:
    try:
        if sys.argv[1:2] == ["check"]:
            _check_alone()(args=sys.argv[2:], prog_name="pipfleet check")
        else:
            app()
    except PipfleetError as exc:
        # Errors can quote a repository's text (a path, a package name): one safe line.
        typer.echo(f"pipfleet: error: {printable(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except ModuleNotFoundError as exc:
        extra = EXTRA_OF_MODULE.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise  # not an optional dependency: a broken install or a bug, traceback kept
        command = " ".join(["pipfleet", *sys.argv[1:2]])
        typer.echo(
            f"pipfleet: error: {command} needs {exc.name}, which is not installed: "
            f"pip install 'pipfleet[{extra}]'",
            err=True,
        )
        sys.exit(2)
