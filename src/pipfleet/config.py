"""Load and validate pipfleet's TOML configuration and what it takes from the environment.

The file holds no secret. Tokens and keys come only from the environment and are
wrapped in ``Secret`` so that no repr, log line or exception can show them.

This module alone decides what the settings take from the environment: $PIPFLEET_CONFIG,
$PIPFLEET_DATABASE_URL, $XDG_CACHE_HOME, GITHUB_TOKEN, the PIPFLEET_GITHUB_APP_* variables
and CODEARTIFACT_AUTH_TOKEN. The rest of pipfleet reads them from ``Settings`` (or
``database_url`` and ``opt_out_topic``), never from ``os.environ``, so a caller can give
a whole environment as a mapping. Not decided here: the AWS credentials (boto3 finds
them), the variables standing in for a command-line option (PIPFLEET_LISTING,
PIPFLEET_SOURCE_URL: declared with their options in cli.py, the option wins) and the
terminal's (NO_COLOR, FORCE_COLOR).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from pipfleet.errors import ConfigError, UsageError

DEFAULT_CONFIG = Path("pipfleet.toml")
TOKEN_PLACEHOLDER = "${CODEARTIFACT_AUTH_TOKEN}"
T = TypeVar("T")


class Secret:
    """A secret value: readable through ``.reveal()`` only, never through str() or repr()."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class GitHubSettings:
    org: str  # the org a job works on: with several orgs, each in turn (``for_org``)
    # Every org a run covers, ``org`` among them; empty when only ``org`` is configured.
    orgs: tuple[str, ...] = ()
    # (org, GitHub App installation id) for the orgs whose installation is not looked up.
    installations: tuple[tuple[str, int], ...] = ()
    api_url: str = "https://api.github.com"
    include: tuple[str, ...] = ("orb-*",)
    exclude: tuple[str, ...] = ()
    skip_archived: bool = True
    skip_forks: bool = True
    skip_disabled: bool = True
    pipfiles: str | tuple[str, ...] = "auto"  # "auto", or the paths to read
    discovery_depth: int = 3  # folders below the root that auto discovery looks into
    graphql_batch: int = 50  # repositories per GraphQL request
    # Requests are sent one at a time; GitHub asks for at least a second between writes.
    request_pause: float = 0.0
    write_pause: float = 1.0
    opt_out_topic: str = "pipfleet-ignore"

    @property
    def every_org(self) -> tuple[str, ...]:
        return self.orgs or (self.org,)

    def installation(self, org: str) -> int | None:
        return dict(self.installations).get(org)


@dataclass(frozen=True)
class AwsKeys:
    """Access keys handed to boto3 explicitly, as the demo does with its sandbox's."""

    access_key_id: str
    secret_access_key: Secret


@dataclass(frozen=True)
class CodeArtifactSettings:
    domain: str
    domain_owner: str
    region: str
    repository: str
    endpoint_url: str | None = None
    source_name: str = "codeartifact"
    source_url: str = ""
    # Never from the config file: None leaves boto3 to its own chain (environment,
    # profile, instance role), which is what a real deployment uses.
    keys: AwsKeys | None = None

    @property
    def default_source_url(self) -> str:
        return (
            f"https://aws:{TOKEN_PLACEHOLDER}@{self.domain}-{self.domain_owner}.d.codeartifact."
            f"{self.region}.amazonaws.com/pypi/{self.repository}/simple/"
        )


@dataclass(frozen=True)
class PyPISettings:
    index_url: str = "https://pypi.org/simple/"
    concurrency: int = 16
    timeout: float = 20.0


@dataclass(frozen=True)
class PolicySettings:
    private: str = "internal"  # "internal": has INTERNAL versions; "listed": anything listed


@dataclass(frozen=True)
class SafetySettings:
    """How much the picture may shrink from the last good run before a run refuses to act."""

    max_listing_shrink: float = 0.5  # share of the private packages that may vanish at once
    max_repository_shrink: float = 0.5  # share of the matching repositories that may vanish


@dataclass(frozen=True)
class FixSettings:
    title: str = "Pin private packages to the codeartifact index"
    branch: str = "pipfleet/codeartifact-index"
    labels: tuple[str, ...] = ("dependencies",)
    # Linked from every pull request; without one, the body carries the guide's key points.
    guide_url: str | None = None
    max_prs_per_run: int = 50
    reopen_dismissed: bool = False
    max_wait: float = 300.0  # seconds a rate limit may be waited out before the run stops
    max_closes_per_run: int = 10  # past this many closures a run stops: a human looks first


@dataclass(frozen=True)
class McpSettings:
    # Private packages for check_pipfile while the database holds no scan's listing: a
    # listing file (relative paths from the config file's folder).
    listing: Path | None = None


@dataclass(frozen=True)
class CheckSettings:
    # Seconds `pipfleet check` reuses the CodeArtifact listing it cached on disk, so a
    # pre-commit hook does not ask AWS on every commit; 0 asks every time.
    listing_cache: float = 3600.0


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///pipfleet.db"
    lock_heartbeat: float = 15.0  # seconds between a run's proofs that it is alive
    lock_stale_after: float = 60.0  # seconds without one before another run takes over


@dataclass(frozen=True)
class Secrets:
    github_token: Secret | None = None
    app_id: str | None = None
    app_private_key: Secret | None = None
    app_installation_id: int | None = None
    codeartifact_token: Secret | None = None


@dataclass(frozen=True)
class Settings:
    github: GitHubSettings
    codeartifact: CodeArtifactSettings
    cache: Path  # pipfleet's cache folder: the public index's ETags, CodeArtifact's answers
    pypi: PyPISettings = field(default_factory=PyPISettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    fix: FixSettings = field(default_factory=FixSettings)
    secrets: Secrets = field(default_factory=Secrets)
    path: Path | None = None
    safety: SafetySettings = field(default_factory=SafetySettings)
    mcp: McpSettings = field(default_factory=McpSettings)
    check: CheckSettings = field(default_factory=CheckSettings)


class _Table:
    """Typed reads from one TOML table into one settings dataclass, each error naming the
    full key. The dataclass's fields are the allowed keys and their defaults the only ones:
    a field without a default is a required key."""

    def __init__(self, data: Mapping[str, Any], name: str, settings: type[Any]):
        self.data = data
        self.name = name
        self.defaults: dict[str, Any] = {f.name: f.default for f in fields(settings)}
        _known(data, name, set(self.defaults))

    def _key(self, key: str) -> str:
        return f"{self.name}.{key}"

    def optional(self, key: str, kind: type[T]) -> T | None:
        """The key's value, or None when it is not set (TOML has no null)."""
        if key not in self.data:
            return None
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{self._key(key)} must be a {kind.__name__}, not {value!r}")
        return value

    def get(self, key: str, kind: type[T]) -> T:
        """The key's value, else its field's default."""
        value = self.optional(key, kind)
        required = self.defaults[key] is MISSING
        if value is None:
            if required:
                raise ConfigError(f"missing required key {self._key(key)}")
            return cast(T, self.defaults[key])
        if isinstance(value, str) and required and not value.strip():
            raise ConfigError(f"{self._key(key)} must not be empty")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, list(self.defaults[key]))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self._key(key)} must be a list of strings")
        return tuple(value)

    def check(self, key: str, value: T, valid: Callable[[T], bool], expectation: str) -> T:
        if not valid(value):
            raise ConfigError(f"{self._key(key)} {expectation}, not {value!r}")
        return value


def _known(data: Mapping[str, Any], name: str, allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        where = unknown[0] if name == "config" else f"{name}.{unknown[0]}"
        raise ConfigError(f"unknown key {where}")


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a table")
    return value


def _url_problem(value: str) -> str | None:
    """Why ``value`` cannot be requested, or None; checked at load time, else the first
    request fails deep in urllib3 with a traceback."""
    if any(c.isspace() or not c.isprintable() for c in value):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(value)
        if parts.port == 0:  # reading .port also rejects a port out of range or not a number
            return "port 0"
    except ValueError as exc:
        return str(exc)
    return None if parts.hostname else "no host"


def _url(table: _Table, key: str, value: str) -> str:
    table.check(
        key, value, lambda v: v.startswith(("http://", "https://")), "must be an http(s) URL"
    )
    if problem := _url_problem(value):
        # Not repeating the value: a source URL may carry a credential.
        raise ConfigError(f"{table.name}.{key} is not a valid URL ({problem})")
    return value


def _beside(url: str, config: Path | None) -> str:
    """A SQLite URL's relative file path made absolute from the config file's folder.

    Otherwise the database a config names moves with the folder a command runs in: the
    demo's `pipfleet report --config pipfleet-demo/pipfleet.toml` would look in ``.``.
    Absolute paths, in-memory databases, ``file:`` URIs and other databases stay as written.
    """
    scheme, separator, rest = url.partition(":///")
    database, question, query = rest.partition("?")
    if (
        config is None
        or not separator
        or scheme.partition("+")[0] != "sqlite"
        or database in ("", ":memory:")
        or database.startswith(("/", "file:"))
    ):
        return url
    return f"{scheme}:///{config.parent.absolute() / database}{question}{query}"


def _orgs(gh: _Table) -> tuple[str, ...]:
    """``github.org``, or the orgs of ``github.orgs``: exactly one of the two."""
    if "org" in gh.data and "orgs" in gh.data:
        raise ConfigError("github.org and github.orgs: give one of them, not both")
    if "orgs" not in gh.data:
        return (gh.get("org", str),)
    orgs = gh.strings("orgs")
    if not orgs or not all(org.strip() for org in orgs):
        raise ConfigError("github.orgs must list at least one org, none of them empty")
    # GitHub logins ignore case: "Acme" and "acme" would be scanned twice.
    folded = [org.casefold() for org in orgs]
    if twice := next((org for org in orgs if folded.count(org.casefold()) > 1), None):
        raise ConfigError(f"github.orgs names {twice!r} more than once")
    return orgs


def _installations(gh: _Table, orgs: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """``[github.installations]``: a GitHub App installation id per org."""
    table = gh.data.get("installations", {})
    if not isinstance(table, dict):
        raise ConfigError("github.installations must be a table: org = installation id")
    for org, installation in table.items():
        if org not in orgs:
            raise ConfigError(f"github.installations.{org} is not one of the configured orgs")
        if not isinstance(installation, int) or isinstance(installation, bool) or installation < 1:
            raise ConfigError(f"github.installations.{org} must be an installation id (a number)")
    return tuple(table.items())


def _guide_url(fix: _Table) -> str | None:
    """``fix.guide_url``, or None when it is unset or empty."""
    value = fix.optional("guide_url", str)
    return _url(fix, "guide_url", value) if value else None


def parse_settings(
    data: Mapping[str, Any], environ: Mapping[str, str], path: Path | None = None
) -> Settings:
    """Settings from parsed TOML and an environment; ConfigError names the bad key."""
    _known(
        data,
        "config",
        {"github", "codeartifact", "pypi", "policy", "database", "fix", "safety", "mcp", "check"},
    )
    gh = _Table(_table(data, "github"), "github", GitHubSettings)
    pipfiles_raw = gh.data.get("pipfiles", gh.defaults["pipfiles"])
    if pipfiles_raw == "auto":
        pipfiles: str | tuple[str, ...] = "auto"
    elif (
        isinstance(pipfiles_raw, list)
        and pipfiles_raw
        and all(isinstance(p, str) for p in pipfiles_raw)
    ):
        pipfiles = tuple(p.strip("/") for p in pipfiles_raw)
    else:
        raise ConfigError('github.pipfiles must be "auto" or a list of paths')
    orgs = _orgs(gh)
    github = GitHubSettings(
        org=orgs[0],
        orgs=orgs if "orgs" in gh.data else (),
        installations=_installations(gh, orgs),
        api_url=_url(gh, "api_url", gh.get("api_url", str)).rstrip("/"),
        include=gh.strings("include"),
        exclude=gh.strings("exclude"),
        skip_archived=gh.get("skip_archived", bool),
        skip_forks=gh.get("skip_forks", bool),
        skip_disabled=gh.get("skip_disabled", bool),
        pipfiles=pipfiles,
        discovery_depth=gh.check(
            "discovery_depth",
            gh.get("discovery_depth", int),
            lambda v: 0 <= v <= 10,
            "must be 0 to 10",
        ),
        graphql_batch=gh.check(
            "graphql_batch",
            gh.get("graphql_batch", int),
            lambda v: 1 <= v <= 100,
            "must be 1 to 100",
        ),
        request_pause=gh.check(
            "request_pause", gh.get("request_pause", float), lambda v: v >= 0, "must be >= 0"
        ),
        write_pause=gh.check(
            "write_pause", gh.get("write_pause", float), lambda v: v >= 0, "must be >= 0"
        ),
        opt_out_topic=gh.get("opt_out_topic", str),
    )

    ca = _Table(_table(data, "codeartifact"), "codeartifact", CodeArtifactSettings)
    endpoint = ca.optional("endpoint_url", str)
    codeartifact = CodeArtifactSettings(
        domain=ca.get("domain", str),
        domain_owner=ca.check(
            "domain_owner",
            ca.get("domain_owner", str),
            lambda v: v.isdigit() and len(v) == 12,
            "must be a 12-digit AWS account id",
        ),
        region=ca.get("region", str),
        repository=ca.get("repository", str),
        endpoint_url=_url(ca, "endpoint_url", endpoint) if endpoint else None,
        source_name=ca.get("source_name", str),
        source_url=ca.get("source_url", str),
    )
    if codeartifact.source_url:
        _url(ca, "source_url", codeartifact.source_url)
        if "@" in codeartifact.source_url and TOKEN_PLACEHOLDER not in codeartifact.source_url:
            raise ConfigError(
                f"codeartifact.source_url must carry the {TOKEN_PLACEHOLDER} placeholder, "
                "never a literal token"
            )
    else:
        codeartifact = CodeArtifactSettings(
            **{**codeartifact.__dict__, "source_url": codeartifact.default_source_url}
        )

    py = _Table(_table(data, "pypi"), "pypi", PyPISettings)
    pypi = PyPISettings(
        index_url=_url(py, "index_url", py.get("index_url", str)),
        concurrency=py.check(
            "concurrency",
            py.get("concurrency", int),
            lambda v: 1 <= v <= 128,
            "must be 1 to 128",
        ),
        timeout=py.check("timeout", py.get("timeout", float), lambda v: v > 0, "must be > 0"),
    )
    po = _Table(_table(data, "policy"), "policy", PolicySettings)
    policy = PolicySettings(
        private=po.check(
            "private",
            po.get("private", str),
            lambda v: v in ("internal", "listed"),
            'must be "internal" or "listed"',
        )
    )
    db = _Table(_table(data, "database"), "database", DatabaseSettings)
    heartbeat = db.check(
        "lock_heartbeat", db.get("lock_heartbeat", float), lambda v: v > 0, "must be > 0"
    )
    database = DatabaseSettings(
        url=_database_url_override(environ) or _beside(db.get("url", str), path),
        lock_heartbeat=heartbeat,
        lock_stale_after=db.check(
            "lock_stale_after",
            db.get("lock_stale_after", float),
            lambda v: v >= 2 * heartbeat,
            "must be at least twice database.lock_heartbeat",
        ),
    )
    fx = _Table(_table(data, "fix"), "fix", FixSettings)
    fix = FixSettings(
        title=fx.get("title", str),
        branch=fx.check(
            "branch",
            fx.get("branch", str),
            lambda v: bool(v) and " " not in v and not v.startswith(("/", "refs/")),
            "must be a branch name",
        ),
        labels=fx.strings("labels"),
        guide_url=_guide_url(fx),
        max_prs_per_run=fx.check(
            "max_prs_per_run", fx.get("max_prs_per_run", int), lambda v: v >= 0, "must be >= 0"
        ),
        reopen_dismissed=fx.get("reopen_dismissed", bool),
        max_wait=fx.check("max_wait", fx.get("max_wait", float), lambda v: v >= 0, "must be >= 0"),
        max_closes_per_run=fx.check(
            "max_closes_per_run",
            fx.get("max_closes_per_run", int),
            lambda v: v >= 0,
            "must be >= 0",
        ),
    )
    sf = _Table(_table(data, "safety"), "safety", SafetySettings)

    def share(key: str) -> float:
        return sf.check(key, sf.get(key, float), lambda v: 0 <= v <= 1, "must be 0 to 1")

    safety = SafetySettings(
        max_listing_shrink=share("max_listing_shrink"),
        max_repository_shrink=share("max_repository_shrink"),
    )
    mc = _Table(_table(data, "mcp"), "mcp", McpSettings)
    listing = mc.optional("listing", str) or None
    mcp = McpSettings(
        None if listing is None else (path.parent if path else Path.cwd()) / Path(listing)
    )
    ch = _Table(_table(data, "check"), "check", CheckSettings)
    check = CheckSettings(
        listing_cache=ch.check(
            "listing_cache",
            ch.get("listing_cache", float),
            lambda v: v >= 0,
            "must be >= 0 (seconds)",
        )
    )
    secrets = _secrets(environ)
    if secrets.app_installation_id is not None and len(github.every_org) > 1:
        # One installation id belongs to one org: which one would be a guess.
        raise ConfigError(
            "PIPFLEET_GITHUB_APP_INSTALLATION_ID names one installation, but github.orgs "
            "lists several orgs: give each its id in [github.installations] instead"
        )
    return Settings(
        github=github,
        codeartifact=codeartifact,
        cache=_cache_folder(environ),
        pypi=pypi,
        policy=policy,
        database=database,
        fix=fix,
        secrets=secrets,
        path=path,
        safety=safety,
        mcp=mcp,
        check=check,
    )


def for_org(settings: Settings, org: str) -> Settings:
    """``settings`` for a job on ``org`` alone, with that org's App installation if given."""
    if org not in settings.github.every_org:
        raise UsageError(
            f"{org!r} is not one of the configured orgs (github.org or github.orgs: "
            f"{', '.join(settings.github.every_org)})"
        )
    installation = settings.github.installation(org) or settings.secrets.app_installation_id
    return replace(
        settings,
        github=replace(settings.github, org=org),
        secrets=replace(settings.secrets, app_installation_id=installation),
    )


def _cache_folder(environ: Mapping[str, str]) -> Path:
    """$XDG_CACHE_HOME/pipfleet, else ~/.cache/pipfleet."""
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipfleet"


def _database_url_override(environ: Mapping[str, str]) -> str | None:
    """$PIPFLEET_DATABASE_URL, which replaces database.url as it stands; empty counts as
    unset, as CI expands an unset secret to ""."""
    return environ.get("PIPFLEET_DATABASE_URL") or None


def _secrets(environ: Mapping[str, str]) -> Secrets:
    key = environ.get("PIPFLEET_GITHUB_APP_PRIVATE_KEY") or None  # CI expands unset to ""
    source = "PIPFLEET_GITHUB_APP_PRIVATE_KEY"
    key_path = environ.get("PIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH")
    if key is None and key_path:
        source = f"PIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH ({key_path})"
        try:
            key = Path(key_path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"PIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH: cannot read {key_path}: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(f"{source} is not a PEM private key: it is not text") from None
    if key is not None:
        _check_app_key(key, source)
    installation = environ.get("PIPFLEET_GITHUB_APP_INSTALLATION_ID")
    if installation is not None and not installation.isdigit():
        raise ConfigError("PIPFLEET_GITHUB_APP_INSTALLATION_ID must be a number")
    app_id = environ.get("PIPFLEET_GITHUB_APP_ID") or None
    if (app_id is None) != (key is None):
        raise ConfigError(
            "a GitHub App needs both PIPFLEET_GITHUB_APP_ID and PIPFLEET_GITHUB_APP_PRIVATE_KEY "
            "(or ..._PATH)"
        )
    token = environ.get("GITHUB_TOKEN")
    ca_token = environ.get("CODEARTIFACT_AUTH_TOKEN")
    return Secrets(
        github_token=Secret(token) if token else None,
        app_id=app_id,
        app_private_key=Secret(key) if key else None,
        app_installation_id=int(installation) if installation else None,
        codeartifact_token=Secret(ca_token) if ca_token else None,
    )


def _check_app_key(key: str, source: str) -> None:
    """A key GitHub App JWTs can be signed with, else a ConfigError naming where it came from.

    Checked now, not at the first request, where PyJWT fails with a traceback about a
    "public key". No message repeats the key or the parser's words about it.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        parsed = load_pem_private_key(key.encode(), password=None)
    except TypeError:
        raise ConfigError(f"{source} is an encrypted key: give it without a passphrase") from None
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        raise ConfigError(
            f"{source} is not a PEM private key: give the App's .pem file as downloaded "
            "from GitHub (-----BEGIN RSA PRIVATE KEY----- ..., with its line breaks)"
        ) from None
    if not isinstance(parsed, RSAPrivateKey):
        raise ConfigError(f"{source} must be an RSA private key: GitHub Apps sign with RS256")


def config_path(explicit: Path | None, environ: Mapping[str, str]) -> Path:
    if explicit is not None:
        return explicit
    if from_env := environ.get("PIPFLEET_CONFIG"):
        return Path(from_env)
    return DEFAULT_CONFIG


def load_settings(
    explicit: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the config (--config, else $PIPFLEET_CONFIG, else ./pipfleet.toml) and secrets."""
    environ = os.environ if environ is None else environ
    path = config_path(explicit, environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration at {path} (give --config or set PIPFLEET_CONFIG)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read {path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return parse_settings(data, environ, path)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def database_url(explicit: Path | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The database URL alone, for the commands that need nothing else (report, serve, db):
    $PIPFLEET_DATABASE_URL, and then no config is read at all, else the config's."""
    environ = os.environ if environ is None else environ
    return _database_url_override(environ) or load_settings(explicit, environ).database.url


def opt_out_topic(explicit: Path | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The topic by which repositories opt out, for the reports: the config's, or the
    default when $PIPFLEET_DATABASE_URL stands in for a config that does not exist."""
    environ = os.environ if environ is None else environ
    if _database_url_override(environ) and not config_path(explicit, environ).is_file():
        return GitHubSettings.opt_out_topic
    return load_settings(explicit, environ).github.opt_out_topic
