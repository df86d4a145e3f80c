from __future__ import annotations

from pathlib import Path

import pytest

from pipfleet.config import Secret, load_settings, parse_settings
from pipfleet.errors import ConfigError

MINIMAL = {
    "github": {"org": "acme"},
    "codeartifact": {"domain": "acme", "domain_owner": "111122223333", "region": "eu-west-1", "repository": "private"},
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


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"github": {"org": "acme"}}, "missing required key codeartifact.domain"),
        (with_(github={"orgs": "x"}), "unknown key github.orgs"),
        ({**MINIMAL, "extra": {}}, "unknown key extra"),
        (with_(github={"skip_forks": "yes"}), "github.skip_forks must be a bool"),
        (with_(github={"pipfiles": "some"}), 'github.pipfiles must be "auto" or a list of paths'),
        (with_(github={"api_url": "ftp://x"}), "github.api_url must be an http(s) URL"),
        (with_(codeartifact={"domain_owner": "12"}), "codeartifact.domain_owner must be a 12-digit"),
        (with_(policy={"private": "all"}), 'policy.private must be "internal" or "listed"'),
        (with_(pypi={"concurrency": 0}), "pypi.concurrency must be 1 to 128"),
        (with_(github={"write_pause": -1}), "github.write_pause must be >= 0"),
        (
            with_(codeartifact={"source_url": "https://aws:abc123@x.d.codeartifact.r.amazonaws.com/"}),
            "never a literal token",
        ),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_settings(data, {})


def test_secrets_come_from_the_environment_and_never_print(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nsecret-key\n")
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
    assert "secret-key" in settings.secrets.app_private_key.reveal()
    assert settings.database.url == "postgresql+psycopg://u:pw@db/pipfleet"
    shown = repr(settings) + str(settings)
    for secret in ("ghp_secret", "secret-key", "ca-secret"):
        assert secret not in shown


def test_app_id_without_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="needs both PIPFLEET_GITHUB_APP_ID"):
        parse_settings(MINIMAL, {"PIPFLEET_GITHUB_APP_ID": "1"})


def test_file_lookup_order_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "custom.toml"
    config.write_text('[github]\norg = "acme"\n[codeartifact]\ndomain = "d"\ndomain_owner = "111122223333"\nregion = "r"\nrepository = "p"\n')
    assert load_settings(None, {"PIPFLEET_CONFIG": str(config)}).github.org == "acme"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no configuration at pipfleet.toml"):
        load_settings(None, {})
    config.write_text("[github\n")
    with pytest.raises(ConfigError, match="custom.toml: "):
        load_settings(config, {})
