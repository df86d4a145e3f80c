from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pipfleet.config import (
    CheckSettings,
    DatabaseSettings,
    FixSettings,
    GitHubSettings,
    McpSettings,
    PolicySettings,
    PyPISettings,
    SafetySettings,
    Secret,
    database_url,
    for_org,
    load_settings,
    opt_out_topic,
    parse_settings,
)
from pipfleet.errors import ConfigError, UsageError

MINIMAL = {
    "github": {"org": "acme"},
    "codeartifact": {
        "domain": "acme",
        "domain_owner": "111122223333",
        "region": "eu-west-1",
        "repository": "private",
    },
}


def with_(**tables: dict[str, object]) -> dict[str, object]:
    data: dict[str, object] = {name: dict(table) for name, table in MINIMAL.items()}
    for name, table in tables.items():
        data[name] = {**data.get(name, {}), **table}  # type: ignore[dict-item]
    return data


def test_defaults_fill_everything_but_the_required_keys() -> None:
    settings = parse_settings(MINIMAL, {})
    assert settings.github.include == ("orb-*",) and settings.github.pipfiles == "auto"
    assert settings.github.api_url == "https://api.github.com"
    assert (settings.github.graphql_batch, settings.github.write_pause) == (50, 1.0)
    assert parse_settings(with_(github={"write_pause": 0}), {}).github.write_pause == 0.0
    assert settings.codeartifact.source_url == (
        "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-111122223333.d.codeartifact.eu-west-1"
        ".amazonaws.com/pypi/private/simple/"
    )
    assert settings.policy.private == "internal"
    assert settings.database.url == "sqlite:///pipfleet.db"
    assert settings.mcp.listing is None


def test_each_table_left_out_is_its_dataclass_defaults() -> None:
    settings = parse_settings(MINIMAL, {})
    assert settings.github == GitHubSettings(org="acme")
    assert (settings.pypi, settings.policy, settings.database, settings.fix) == (
        PyPISettings(),
        PolicySettings(),
        DatabaseSettings(),
        FixSettings(),
    )
    assert (settings.safety, settings.mcp, settings.check) == (
        SafetySettings(),
        McpSettings(),
        CheckSettings(),
    )


def test_the_mcp_listing_is_found_from_the_config_files_folder(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "pipfleet.toml"
    relative = parse_settings(with_(mcp={"listing": "names.txt"}), {}, config)
    assert relative.mcp.listing == tmp_path / "etc" / "names.txt"
    absolute = parse_settings(with_(mcp={"listing": "/srv/names.txt"}), {}, config)
    assert absolute.mcp.listing == Path("/srv/names.txt")


def test_a_relative_sqlite_path_is_found_from_the_config_files_folder(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "pipfleet.toml"

    def url(written: str | None, environ: dict[str, str] | None = None) -> str:
        data = with_(database={"url": written}) if written else MINIMAL
        return parse_settings(data, environ or {}, config).database.url

    assert url("sqlite:///state/fleet.db?timeout=5") == (
        f"sqlite:///{tmp_path}/etc/state/fleet.db?timeout=5"
    )
    assert url(None) == f"sqlite:///{tmp_path}/etc/pipfleet.db"  # the default is relative too
    assert url("sqlite+pysqlite:///fleet.db") == f"sqlite+pysqlite:///{tmp_path}/etc/fleet.db"
    for kept in (
        "sqlite:////srv/pipfleet.db",
        "sqlite:///:memory:",
        "sqlite://",
        "sqlite:///file:fleet.db?uri=true",
        "postgresql+psycopg://pipfleet@db.example.com/pipfleet",
    ):
        assert url(kept) == kept
    assert url("sqlite:///fleet.db", {"PIPFLEET_DATABASE_URL": "sqlite:///x.db"}) == (
        "sqlite:///x.db"
    )
    assert parse_settings(MINIMAL, {}).database.url == "sqlite:///pipfleet.db"  # no file: as is


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"github": {"org": "acme"}}, "missing required key codeartifact.domain"),
        (with_(github={"organisation": "x"}), "unknown key github.organisation"),
        ({**MINIMAL, "extra": {}}, "unknown key extra"),
        (with_(github={"skip_forks": "yes"}), "github.skip_forks must be a bool"),
        (with_(github={"pipfiles": "some"}), 'github.pipfiles must be "auto" or a list of paths'),
        (with_(github={"api_url": "ftp://x"}), "github.api_url must be an http(s) URL"),
        (
            with_(codeartifact={"domain_owner": "12"}),
            "codeartifact.domain_owner must be a 12-digit",
        ),
        (with_(policy={"private": "all"}), 'policy.private must be "internal" or "listed"'),
        (with_(pypi={"concurrency": 0}), "pypi.concurrency must be 1 to 128"),
        (with_(github={"write_pause": -1}), "github.write_pause must be >= 0"),
        (with_(mcp={"listing": 3}), "mcp.listing must be a str"),
        (with_(mcp={"list": "x"}), "unknown key mcp.list"),
        (with_(check={"listing_cache": -1}), "check.listing_cache must be >= 0"),
        (with_(check={"listing_cache": "1h"}), "check.listing_cache must be a float"),
        (
            with_(
                codeartifact={"source_url": "https://aws:abc123@x.d.codeartifact.r.amazonaws.com/"}
            ),
            "never a literal token",
        ),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_settings(data, {})


def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_secrets_come_from_the_environment_and_never_print(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    pem = rsa_pem()
    key.write_text(pem)
    environ = {
        "GITHUB_TOKEN": "ghp_secret",
        "PIPFLEET_GITHUB_APP_ID": "42",
        "PIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH": str(key),
        "CODEARTIFACT_AUTH_TOKEN": "ca-secret",
        "PIPFLEET_DATABASE_URL": "postgresql+psycopg://u:pw@db/pipfleet",
    }
    settings = parse_settings(MINIMAL, environ)
    assert settings.secrets.github_token == Secret("ghp_secret")
    assert settings.secrets.app_private_key is not None
    assert settings.secrets.app_private_key.reveal() == pem
    assert settings.database.url == "postgresql+psycopg://u:pw@db/pipfleet"
    shown = repr(settings) + str(settings)
    for secret in ("ghp_secret", pem.splitlines()[1], "ca-secret"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("-----BEGIN PRIVATE KEY-----\nsecret-key-material\n", "is not a PEM private key"),
        ("secret-key-material", "is not a PEM private key"),
        (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode(),
            "must be an RSA private key",
        ),
        (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            )
            .decode(),
            "is an encrypted key",
        ),
    ],
)
def test_an_app_key_that_cannot_sign_is_a_config_error_without_the_key(
    key: str, message: str
) -> None:
    environ = {"PIPFLEET_GITHUB_APP_ID": "42", "PIPFLEET_GITHUB_APP_PRIVATE_KEY": key}
    with pytest.raises(ConfigError, match=message) as raised:
        parse_settings(MINIMAL, environ)
    shown = str(raised.value)
    assert shown.startswith("PIPFLEET_GITHUB_APP_PRIVATE_KEY ") and "\n" not in shown
    assert not [line for line in key.splitlines() if "-----" not in line and line in shown]


def test_an_app_key_file_that_is_not_a_key_names_the_path(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_bytes(b"\xff\xfe not text")
    environ = {"PIPFLEET_GITHUB_APP_ID": "42", "PIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH": str(key)}
    with pytest.raises(ConfigError, match=f"PIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH \\({key}\\)"):
        parse_settings(MINIMAL, environ)
    key.write_text("ssh-rsa AAAA")
    with pytest.raises(ConfigError, match="is not a PEM private key"):
        parse_settings(MINIMAL, environ)


@pytest.mark.parametrize(
    ("table", "key", "value", "problem"),
    [
        ("github", "api_url", "http://[::1", "Invalid IPv6 URL"),
        ("github", "api_url", "http://github.example:99999", "Port out of range"),
        ("github", "api_url", "https://", "no host"),
        ("github", "api_url", "https://git hub.example", "spaces or control characters"),
        ("codeartifact", "endpoint_url", "http://[::1", "Invalid IPv6 URL"),
        (
            "codeartifact",
            "source_url",
            "https://aws:${CODEARTIFACT_AUTH_TOKEN}@[::1/simple/",
            "Invalid IPv6 URL",
        ),
        ("pypi", "index_url", "https://pypi.example:port/simple/", "Port could not be cast"),
        ("fix", "guide_url", "https://\n", "spaces or control characters"),
    ],
)
def test_a_malformed_url_is_one_error_naming_the_key(
    table: str, key: str, value: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(with_(**{table: {key: value}}), {})
    shown = str(raised.value)
    assert shown.startswith(f"{table}.{key} is not a valid URL (") and problem in shown
    assert "\n" not in shown and value not in shown


def test_valid_urls_pass() -> None:
    settings = parse_settings(
        with_(
            github={"api_url": "http://[::1]:8080/api/v3/"},
            codeartifact={"endpoint_url": "http://127.0.0.1:9000"},
        ),
        {},
    )
    assert settings.github.api_url == "http://[::1]:8080/api/v3"


def test_app_id_without_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="needs both PIPFLEET_GITHUB_APP_ID"):
        parse_settings(MINIMAL, {"PIPFLEET_GITHUB_APP_ID": "1"})


def test_file_lookup_order_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "custom.toml"
    config.write_text(
        '[github]\norg = "acme"\n[codeartifact]\ndomain = "d"\ndomain_owner = "111122223333"\nregion = "r"\nrepository = "p"\n'
    )
    assert load_settings(None, {"PIPFLEET_CONFIG": str(config)}).github.org == "acme"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no configuration at pipfleet.toml"):
        load_settings(None, {})
    config.write_text("[github\n")
    with pytest.raises(ConfigError, match="custom.toml: "):
        load_settings(config, {})
    config.write_bytes(b'[github]\norg = "acm\xe9"\n')
    with pytest.raises(ConfigError, match="custom.toml: not UTF-8 text \\(byte 19\\)"):
        load_settings(config, {})
    with pytest.raises(ConfigError, match=f"cannot read {tmp_path}: Is a directory"):
        load_settings(tmp_path, {})


def test_the_cache_folder_comes_from_xdg_cache_home() -> None:
    assert parse_settings(MINIMAL, {"XDG_CACHE_HOME": "/var/cache"}).cache == Path(
        "/var/cache/pipfleet"
    )
    home_cache = Path.home() / ".cache" / "pipfleet"
    assert parse_settings(MINIMAL, {}).cache == home_cache
    assert parse_settings(MINIMAL, {"XDG_CACHE_HOME": ""}).cache == home_cache


def test_the_database_url_environment_variable_wins_and_makes_the_config_optional(
    tmp_path: Path,
) -> None:
    config = tmp_path / "pipfleet.toml"
    config.write_text(
        '[github]\norg = "acme"\nopt_out_topic = "not-me"\n'
        '[codeartifact]\ndomain = "d"\ndomain_owner = "111122223333"\nregion = "r"\n'
        'repository = "p"\n[database]\nurl = "sqlite:///fleet.db"\n'
    )
    missing = tmp_path / "missing.toml"
    variable = {"PIPFLEET_DATABASE_URL": "sqlite:////srv/other.db"}
    from_file = f"sqlite:///{tmp_path}/fleet.db"
    assert database_url(config, variable) == "sqlite:////srv/other.db"
    assert database_url(missing, variable) == "sqlite:////srv/other.db"
    assert database_url(config, {}) == from_file
    assert database_url(config, {"PIPFLEET_DATABASE_URL": ""}) == from_file  # CI's unset
    assert database_url(None, {"PIPFLEET_CONFIG": str(config)}) == from_file
    assert opt_out_topic(config, variable) == opt_out_topic(config, {}) == "not-me"
    assert opt_out_topic(missing, variable) == "pipfleet-ignore"
    for needs_the_file in (database_url, opt_out_topic):
        with pytest.raises(ConfigError, match="no configuration at .*missing.toml"):
            needs_the_file(missing, {})


def several_orgs(**github: object) -> dict[str, object]:
    data = with_(github={"orgs": ["acme", "acme-labs"], **github})
    del data["github"]["org"]  # type: ignore[attr-defined]
    return data


def test_one_org_is_every_org() -> None:
    github = parse_settings(MINIMAL, {}).github
    assert (github.org, github.orgs, github.every_org) == ("acme", (), ("acme",))


def test_several_orgs_each_with_its_own_installation_where_given() -> None:
    settings = parse_settings(several_orgs(installations={"acme-labs": 42}), {"GITHUB_TOKEN": "t"})
    assert settings.github.every_org == ("acme", "acme-labs")
    labs = for_org(settings, "acme-labs")
    assert labs.github.org == "acme-labs" and labs.secrets.app_installation_id == 42
    acme = for_org(settings, "acme")
    assert acme.github.org == "acme" and acme.secrets.app_installation_id is None
    assert acme.github.include == settings.github.include
    with pytest.raises(UsageError, match="'other' is not one of the configured orgs"):
        for_org(settings, "other")


def test_the_environment_installation_applies_to_one_org_only() -> None:
    one = parse_settings(MINIMAL, {"PIPFLEET_GITHUB_APP_INSTALLATION_ID": "7"})
    assert for_org(one, "acme").secrets.app_installation_id == 7
    with pytest.raises(ConfigError, match=r"give each its id in \[github.installations\]"):
        parse_settings(several_orgs(), {"PIPFLEET_GITHUB_APP_INSTALLATION_ID": "7"})


@pytest.mark.parametrize(
    ("github", "error"),
    [
        ({"org": "acme", "orgs": ["acme"]}, "github.org and github.orgs: give one of them"),
        ({"orgs": []}, "github.orgs must list at least one org"),
        ({"orgs": ["acme", " "]}, "github.orgs must list at least one org, none of them empty"),
        ({"orgs": "acme"}, "github.orgs must be a list of strings"),
        ({"orgs": ["acme", "Acme"]}, "github.orgs names 'acme' more than once"),
        ({"orgs": ["a"], "installations": {"b": 1}}, "github.installations.b is not one of"),
        ({"orgs": ["a"], "installations": {"a": "1"}}, "github.installations.a must be an"),
        ({"orgs": ["a"], "installations": {"a": 0}}, "github.installations.a must be an"),
        ({"orgs": ["a"], "installations": 3}, "github.installations must be a table"),
    ],
)
def test_bad_orgs_are_one_line_errors(github: dict[str, object], error: str) -> None:
    data = with_()
    data["github"] = github
    with pytest.raises(ConfigError, match=error):
        parse_settings(data, {})
