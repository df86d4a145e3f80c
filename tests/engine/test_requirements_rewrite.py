"""Proposals for requirements findings, and the rewrites pipfleet makes without asking."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.engine.test_requirements import FILES, TOKEN

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.listing import Listing, parse_listing
from pipfleet.engine.requirements import IndexRole, index_urls, parse
from pipfleet.engine.requirementsincludes import audit_loaded, load_tree
from pipfleet.engine.requirementsrewrite import LineChange, Proposal, proposals, rewrite

HOST = "acme-1.d.codeartifact.eu-west-1.amazonaws.com"
CA = f"https://aws:${{CODEARTIFACT_AUTH_TOKEN}}@{HOST}/pypi/p/simple/"
LEAKED = f"https://aws:{TOKEN}@{HOST}/pypi/p/simple/"
LISTING = parse_listing("orb-common\n")


def run(
    files: dict[str, str], listing: Listing = LISTING, root: str = "r.txt", **options: str
) -> tuple[tuple[Proposal, ...], dict[str, str]]:
    tree = load_tree(root, dict(files))
    audit_options = AuditOptions(**options)  # type: ignore[arg-type]
    report = audit_loaded(tree, listing, audit_options)
    found = proposals(tree, report, audit_options)
    assert all(TOKEN not in repr(proposal) for proposal in found)
    return found, rewrite(tree, report, listing, audit_options)


def test_codeartifact_beside_explicit_pypi_becomes_the_only_index() -> None:
    text = (
        "# indexes\n"
        "-i https://pypi.org/simple\n"
        f"--extra-index-url {LEAKED}  # private\n"
        "requests==2.31\n"
        "orb-common==2.1.0\n"
    )
    found, changed = run({"r.txt": text})
    assert changed == {
        "r.txt": f"# indexes\n--index-url {CA}  # private\nrequests==2.31\norb-common==2.1.0\n"
    }
    only, credential = found
    assert (only.kind, only.automatic) == (FindingKind.EXTRA_INDEX_URL, True)
    masked = LEAKED.replace(TOKEN, "****")
    assert only.changes == (
        LineChange("r.txt", 2, ("-i https://pypi.org/simple",), ()),
        LineChange(
            "r.txt",
            3,
            (f"--extra-index-url {masked}  # private",),
            (f"--index-url {CA}  # private",),
        ),
    )
    assert "public:pypi" in only.summary
    assert (credential.kind, credential.automatic) == (FindingKind.HARDCODED_CREDENTIAL, True)
    assert credential.changes[0].after == (f"--extra-index-url {CA}  # private",)


def test_implicit_pypi_quoted_equals_form_and_crlf_keep_their_spelling() -> None:
    text = f'--extra-index-url="{CA}"\r\norb-common\r\n'
    _, changed = run({"r.txt": text})
    assert changed == {"r.txt": f'--index-url="{CA}"\r\norb-common\r\n'}


@pytest.mark.parametrize(
    "files",
    [
        # Another extra index: what only it serves would stop resolving.
        {
            "r.txt": f"-i {CA}\n--extra-index-url https://download.pytorch.org/whl/cu121\norb-common\n"
        },
        # The index lines are in two files, one of them included by others too.
        {
            "r.txt": f"-r base.txt\n--extra-index-url {CA}\norb-common\n",
            "base.txt": "-i https://pypi.org/simple\n",
        },
        # The index option shares its line with a requirement.
        {"r.txt": f"orb-common --extra-index-url {CA}\n"},
        # Two CodeArtifact repositories: which one is meant is not written anywhere.
        {
            "r.txt": f"--extra-index-url {CA}\n--extra-index-url {CA.replace('/p/', '/q/')}\norb-common\n"
        },
        # CodeArtifact dropped by a later --index-url: which one was meant is a question.
        {"r.txt": f"--extra-index-url {CA}\n-i https://pypi.org/simple\norb-common\n"},
    ],
    ids=["pytorch", "two-files", "requirement-line", "two-repositories", "replaced"],
)
def test_only_a_proposal_when_the_answer_is_not_in_the_file(files: dict[str, str]) -> None:
    found, changed = run(files)
    assert changed == {}
    (only,) = found
    assert not only.automatic
    assert only.kind in (FindingKind.EXTRA_INDEX_URL, FindingKind.MISSING_INDEX)
    # Made as shown, the change leaves CodeArtifact the only index pip asks.
    proposed = dict(files)
    for change in sorted(only.changes, key=lambda change: -change.line):
        lines = proposed[change.file].splitlines()
        assert lines[change.line - 1 : change.line - 1 + len(change.before)] == list(change.before)
        lines[change.line - 1 : change.line - 1 + len(change.before)] = change.after
        proposed[change.file] = "".join(f"{line}\n" for line in lines)
    tree = load_tree("r.txt", proposed)
    assert index_urls(tree.indexes, tree.no_index) == [CA]
    assert [p.option.url for p in tree.indexes if p.option.role is not IndexRole.FIND_LINKS] == [CA]


def test_codeartifact_on_a_requirement_line_is_proposed_on_a_line_of_its_own() -> None:
    (only,), changed = run({"r.txt": f"requests\r\norb-common==2 --extra-index-url {CA}\r\n"})
    assert changed == {} and only.kind is FindingKind.MISSING_INDEX
    assert only.changes == (
        LineChange(
            "r.txt",
            2,
            (f"orb-common==2 --extra-index-url {CA}",),
            (f"--index-url {CA}", "orb-common==2"),
        ),
    )


def test_pytorch_proposal_names_what_would_be_dropped() -> None:
    files = {
        "r.txt": f"-i {CA}\n--extra-index-url https://download.pytorch.org/whl/cu121\norb-common\n"
    }
    (only,), _ = run(files)
    assert "https://download.pytorch.org/whl/cu121 would be dropped" in only.summary
    # CodeArtifact's -i line stays as it is.
    assert only.changes == (
        LineChange("r.txt", 2, ("--extra-index-url https://download.pytorch.org/whl/cu121",), ()),
    )


def test_an_automatic_fix_beside_a_proposal_is_still_made() -> None:
    text = (
        "--extra-index-url https://download.pytorch.org/whl/cu121\n"
        f"--extra-index-url {LEAKED}\n"
        f"--trusted-host {HOST} --trusted-host mirror.example\n"
        "orb-common\n"
    )
    found, changed = run({"r.txt": text})
    assert changed == {
        "r.txt": (
            "--extra-index-url https://download.pytorch.org/whl/cu121\n"
            f"--extra-index-url {CA}\n"
            "--trusted-host mirror.example\n"
            "orb-common\n"
        )
    }
    assert [(p.kind, p.automatic) for p in found] == [
        (FindingKind.EXTRA_INDEX_URL, False),
        (FindingKind.HARDCODED_CREDENTIAL, True),
        (FindingKind.INSECURE_SOURCE, True),
        (FindingKind.INSECURE_SOURCE, False),
    ]
    assert found[3].changes[0].after == (f"--trusted-host {HOST}",)


def test_other_credentials_and_hosts_are_proposals_only() -> None:
    text = (
        f"-i https://deploy:{TOKEN}@pkgs.acme.internal/simple\n"
        f"--extra-index-url https://{TOKEN}@{HOST}/pypi/p/simple/\n"
        "--extra-index-url http://mirror.example/simple\n"
        "--trusted-host mirror.example\n"
    )
    found, changed = run({"r.txt": text}, Listing())
    assert changed == {}
    assert [(p.kind, p.automatic, p.changes[0].line, p.changes[0].after) for p in found] == [
        (
            FindingKind.HARDCODED_CREDENTIAL,
            False,
            1,
            ("-i https://deploy:${PKGS_ACME_INTERNAL_TOKEN}@pkgs.acme.internal/simple",),
        ),
        (
            FindingKind.HARDCODED_CREDENTIAL,
            False,
            2,
            (
                f"--extra-index-url https://${{{HOST.upper().replace('.', '_').replace('-', '_')}_TOKEN}}@{HOST}/pypi/p/simple/",
            ),
        ),
        (
            FindingKind.INSECURE_SOURCE,
            False,
            3,
            ("--extra-index-url https://mirror.example/simple",),
        ),
        (FindingKind.INSECURE_SOURCE, False, 4, ()),
    ]


def test_plain_http_codeartifact_with_a_token_becomes_one_clean_line() -> None:
    text = f"-i https://pypi.org/simple\n--extra-index-url {LEAKED.replace('https', 'http')}\norb-common\n"
    _, changed = run({"r.txt": text})
    assert changed == {"r.txt": f"--index-url {CA}\norb-common\n"}


def test_fixes_in_an_included_file_are_made_there() -> None:
    files = {
        "r.txt": "-r sub/base.txt\norb-common\n",
        "sub/base.txt": f"# private\n--extra-index-url {LEAKED}\n",
    }
    _, changed = run(files)
    assert changed == {"sub/base.txt": f"# private\n--index-url {CA}\n"}


def test_the_configured_source_url_host_is_codeartifact_too() -> None:
    text = f"--extra-index-url https://deploy:{TOKEN}@pkgs.acme.internal/simple\norb-common\n"
    _, changed = run({"r.txt": text}, source_url="https://pkgs.acme.internal/simple")
    assert changed == {
        "r.txt": "--index-url https://deploy:${CODEARTIFACT_AUTH_TOKEN}@pkgs.acme.internal/simple\norb-common\n"
    }


def test_nothing_to_fix_is_no_proposal_and_no_change() -> None:
    assert run({"r.txt": f"--index-url {CA}\norb-common\n"}) == ((), {})
    assert run({"r.txt": "-f https://download.pytorch.org/whl/torch_stable.html\ntorch\n"}) == (
        (),
        {},
    )


# The real files of the shared corpus.


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.parent.name[:3])
def test_corpus_files_are_left_alone_and_fixed_byte_minimally(path: Path) -> None:
    text = _read(path)
    assert run({path.name: text}, Listing(), root=path.name)[1] == {}
    # A leaked CodeArtifact extra index put on top, and one of its names made private.
    newline = "\r\n" if "\r\n" in text else "\n"
    parsed = parse(text, path.name)
    name = next(r.name for r in parsed.requirements if r.name)
    listing = parse_listing(f"{name}\n")
    found, changed = run(
        {path.name: f"--extra-index-url {LEAKED}{newline}{text}"}, listing, root=path.name
    )
    assert FindingKind.HARDCODED_CREDENTIAL in [p.kind for p in found]
    # Only CodeArtifact beside PyPI is made the only index; else the token alone is fixed.
    alone = not any(o.role is not IndexRole.FIND_LINKS for o in parsed.indexes)
    option = "--index-url" if alone else "--extra-index-url"
    assert changed == {path.name: f"{option} {CA}{newline}{text}"}
    assert run(changed, listing, root=path.name)[1] == {}


def test_only_a_codeartifact_host_is_moved_to_https_without_asking() -> None:
    """The configured source's host may serve plain http only (a proxy, a test index)."""
    text = "--extra-index-url http://pkgs.acme.internal/simple\norb-common\n"
    found, changed = run({"r.txt": text}, source_url="http://pkgs.acme.internal/simple")
    assert changed == {"r.txt": "--index-url http://pkgs.acme.internal/simple\norb-common\n"}
    assert [(p.kind, p.automatic) for p in found] == [
        (FindingKind.EXTRA_INDEX_URL, True),
        (FindingKind.INSECURE_SOURCE, False),
    ]
