"""The configuration examples under config/ are valid and name real commands."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT

from pipfleet.config import parse_settings


def test_commented_example_is_valid_and_sets_every_key() -> None:
    data = tomllib.loads((ROOT / "config" / "pipfleet.toml").read_text())
    settings = parse_settings(data, {})
    assert settings.github.org == "acme" and settings.policy.private == "internal"
    documented = {f"{table}.{key}" for table, values in data.items() for key in values}
    # The several-orgs keys replace github.org: the next test reads their commented example.
    alternatives = {"github.orgs", "github.installations"}
    for table in ("github", "pypi"):
        fields = getattr(settings, table).__dataclass_fields__
        assert {f"{table}.{name}" for name in fields} - alternatives <= documented


def test_the_commented_several_orgs_example_is_valid() -> None:
    text = (ROOT / "config" / "pipfleet.toml").read_text()
    orgs = re.search(r"`(orgs = \[.*?\])`", text)
    installations = re.search(r"^# (\[github\.installations\]\n(?:# \S+ = \d+\n)+)", text, re.M)
    assert orgs is not None and installations is not None
    example = text.replace('org = "acme"\n', orgs[1] + "\n", 1)
    example += "\n" + installations[1].replace("# ", "")
    github = parse_settings(tomllib.loads(example), {}).github
    assert github.every_org == ("acme", "acme-labs")
    assert [github.installation(org) for org in github.every_org] == [12345678, 23456789]


def test_the_values_the_example_writes_are_the_defaults() -> None:
    """Beyond the required keys, the example only documents: leaving out every value it
    writes changes nothing."""
    data = tomllib.loads((ROOT / "config" / "pipfleet.toml").read_text())
    required = ("org", "domain", "domain_owner", "region", "repository")
    only_required = {
        table: {key: value for key, value in values.items() if key in required}
        for table, values in data.items()
    }
    assert parse_settings(data, {}) == parse_settings(only_required, {})
