from __future__ import annotations

import pytest

from pipfleet.engine.pipfile import EntryForm, package_name, parse
from pipfleet.errors import PipfileError

FULL = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[[source]]
name = "codeartifact"
url = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@d-1.d.codeartifact.us-east-1.amazonaws.com/pypi/r/simple/"
verify_ssl = true

[requires]
python_version = "3.11"

[pipenv]
allow_prereleases = true

[scripts]
serve = "python -m app"

[packages]
"Orb_Common" = "==2.1.0"
requests = {version = ">=2", extras = ["socks"], markers = "os_name == 'posix'"}
tool = {git = "https://example.com/tool.git", ref = "v1", editable = true}
local = {path = ".", editable = true}

[packages.orb-sub]
version = "*"
index = "codeartifact"

[dev-packages]
pytest = "*"

[docs]
sphinx = "~=7.0"
lib.version = "==1"
lib.extras = ["x"]
"""


def test_parses_every_part_of_a_pipfile() -> None:
    pipfile = parse(FULL)
    assert [(s.name, s.verify_ssl, s.line) for s in pipfile.sources] == [
        ("pypi", True, 1),
        ("codeartifact", True, 6),
    ]
    assert pipfile.requires == {"python_version": "3.11"}
    assert pipfile.pipenv == {"allow_prereleases": True}
    assert pipfile.scripts == {"serve": "python -m app"}
    assert list(pipfile.categories) == ["packages", "dev-packages", "docs"]


def test_entries_in_all_forms() -> None:
    entries = {(e.category, e.key): e for e in parse(FULL).entries()}
    common = entries[("packages", "Orb_Common")]
    assert (common.name, common.form, common.version, common.index, common.line) == (
        "orb-common",
        EntryForm.STRING,
        "==2.1.0",
        None,
        21,
    )
    requests = entries[("packages", "requests")]
    assert requests.form is EntryForm.INLINE and requests.version == ">=2"
    assert entries[("packages", "tool")].non_registry_key == "git"
    assert entries[("packages", "local")].non_registry_key == "path"
    sub = entries[("packages", "orb-sub")]
    assert (sub.form, sub.index, sub.line) == (EntryForm.TABLE, "codeartifact", 26)
    assert [m.key for m in sub.members] == ["version", "index"]
    dotted = entries[("docs", "lib")]
    assert dotted.form is EntryForm.TABLE and dotted.line == 35
    assert [m.lead for m in dotted.members] == ["lib.", "lib."]


@pytest.mark.parametrize("key", ["Orb_Common", "orb.common", "ORB-COMMON", "orb__common[extra]"])
def test_names_compare_by_pep503_normalisation(key: str) -> None:
    assert package_name(key) == "orb-common"


def test_invalid_toml_is_a_parse_error_with_line_and_column() -> None:
    with pytest.raises(PipfileError) as caught:
        parse('[packages]\nrequests = "*"\nrequests = "==1"\n')
    assert (caught.value.line, caught.value.column) == (3, 17)
    assert "Cannot overwrite a value" in str(caught.value)


def test_entry_that_is_neither_string_nor_table_is_rejected_with_its_line() -> None:
    with pytest.raises(PipfileError, match=r"package 'x' in \[packages\] must be.*line 2"):
        parse("[packages]\nx = 3\n")


def test_unnamed_source_is_accepted_and_cannot_be_referenced() -> None:
    pipfile = parse('[[source]]\nurl = "https://pypi.org/simple"\n[packages]\n')
    assert pipfile.sources[0].name is None and pipfile.source_named("pypi") is None


def test_newline_style_is_detected() -> None:
    assert parse('[packages]\r\na = "*"\r\n').newline == "\r\n"
    assert parse('[packages]\na = "*"').newline == "\n"
