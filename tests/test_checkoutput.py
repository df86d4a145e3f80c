from __future__ import annotations

from pathlib import Path

import pytest

from pipfleet.checkoutput import check_lines, print_check, use_color
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.listing import Listing
from pipfleet.jobs.check import CheckResult, Mode, check_paths, check_text

LISTING = Listing.of(["orb-common"])
URL = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@a-1.d.codeartifact.us-east-1.amazonaws.com/pypi/r/simple/"


def _result(text: str, mode: Mode = Mode.AUDIT, path: str = "Pipfile") -> CheckResult:
    item = check_text(text, path, LISTING, AuditOptions(source_url=URL), mode)
    return CheckResult((item,), mode)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"FORCE_COLOR": "1"}, True),
        ({"NO_COLOR": "1"}, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # no-color.org: NO_COLOR wins
        ({"NO_COLOR": ""}, None),  # an empty NO_COLOR is unset
    ],
)
def test_colour_follows_no_color_then_force_color_then_the_terminal(
    environ: dict[str, str], expected: bool | None
) -> None:
    assert use_color(environ) is expected


def test_coloured_and_plain_output_say_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    result = _result('[packages]\norb-common = "*"\n')
    print_check(result, color=True)
    coloured = capsys.readouterr().out
    print_check(result, color=False)
    plain = capsys.readouterr().out
    assert "\x1b[" in coloured and "\x1b" not in plain
    assert plain.splitlines()[-1] == "1 file(s) (1 pipfile), 1 needs-action"
    assert "Pipfile:2: missing-index [packages] orb-common: " in plain
    assert '    "*" -> {version = "*", index = "codeartifact"}' in plain


def test_repository_text_cannot_style_the_terminal_even_in_colour() -> None:
    hostile_path = "evil\x1b[2J/Pipfile"  # a folder name is the repository's to choose
    lines = "\n".join(check_lines(_result('[packages]\norb-common = "*"\n', path=hostile_path)))
    assert "\x1b[2J" not in lines  # the file's escape is shown, not sent
    assert "\\x1b[2J" in lines


def test_diff_mode_prints_the_diff_with_its_secret_masked() -> None:
    secret_url = URL.replace("${CODEARTIFACT_AUTH_TOKEN}", "s3cr3t-token-value")
    text = (
        f'[[source]]\nname = "codeartifact"\nurl = "{secret_url}"\n\n[packages]\norb-common = "*"\n'
    )
    lines = "\n".join(check_lines(_result(text, Mode.DIFF)))
    assert '+orb-common = {version = "*", index = "codeartifact"}' in lines
    assert "s3cr3t-token-value" not in lines


def test_a_requirements_proposal_is_shown_escaped_and_masked(tmp_path: Path) -> None:
    # Another extra index, with a literal token and a terminal escape: pipfleet makes
    # neither change, so both are shown as proposals, never as the file's raw bytes.
    (tmp_path / "requirements.txt").write_text(
        "--extra-index-url https://aws:s3cr3t-token-value@evil.test/simple/\x1b[2J\n"
        f"--extra-index-url {URL}\norb-common\n"
    )
    result = check_paths([tmp_path], LISTING, AuditOptions(source_url=URL), Mode.AUDIT)
    lines = "\n".join(check_lines(result))
    assert "proposed, for you to make:" in lines and result.exit_code == 1
    assert "\x1b[2J" not in lines and "s3cr3t-token-value" not in lines
