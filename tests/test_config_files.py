"""The configuration examples under config/ are valid and name real commands."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT

from pipfleet.config import parse_settings


def test_commented_example_is_valid_and_sets_every_key() -> None:
    data = tomllib.loads((ROOT / "config" / "pipfleet.toml").read_text())
    settings = parse_settings(data, {})
    assert settings.github.org == "acme" and settings.policy.private == "internal"
    documented = {f"{table}.{key}" for table, values in data.items() for key in values}
    for table in ("github", "pypi"):
        fields = getattr(settings, table).__dataclass_fields__
        assert {f"{table}.{name}" for name in fields} <= documented
