"""build_fix over every kind of manifest: one RepoFix for a repository with a Pipfile, a uv
and a Poetry pyproject.toml and a requirements install, each fixed by its own engine."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.engine.test_poetrylock import GENUINE, OTHER, package
from tests.engine.test_poetrylock import PYPROJECT as POETRY_PYPROJECT
from tests.engine.test_poetrylock import lock as poetry_lock
from tests.engine.test_prbody import SETTINGS
from tests.engine.test_requirements import TOKEN
from tests.engine.test_uvlock import PUBLIC
from tests.engine.test_uvlock import lock as uv_lock
from tests.gfm import code_spans, live, prose

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.fixset import ManifestFix, Manifests, RepoFix, build_fix
from pipfleet.engine.listing import Listing, version_key
from pipfleet.engine.prbody import BODY_LIMIT, commit_message, render
from pipfleet.engine.uvlock import relock_note
from pipfleet.states import ManifestKind

HOST = "acme-1.d.codeartifact.eu-west-1.amazonaws.com"
CA = f"https://aws:${{CODEARTIFACT_AUTH_TOKEN}}@{HOST}/pypi/p/simple/"
OPTIONS = AuditOptions(source_url=CA)
LISTING = Listing(
    packages={"orb-common": frozenset({"2.0.0", "2.1.0"})},
    hashes={version_key("orb-common", "2.0.0"): frozenset({GENUINE})},
)
PIPFILE = '[packages]\norb-common = "==2.1.0"\nrequests = "*"\n'
UV_PYPROJECT = '[project]\nname = "svc"\ndependencies = ["orb-common", "requests"]\n\n[tool.uv]\n'
REQUIREMENTS = f"--extra-index-url {CA}\nrequests\norb-common==2.1.0\n"
TORCH = "https://download.pytorch.org/whl/cpu"
POETRY_LOCK = poetry_lock(
    POETRY_PYPROJECT,
    package("orb-common", "2.0.0", GENUINE, "public"),
    package("requests", "2.31.0", OTHER),
)


def manifests(**changed: dict[str, str]) -> Manifests:
    texts = {
        "uv": {"svc/pyproject.toml": UV_PYPROJECT},
        "poetry": {"app/pyproject.toml": POETRY_PYPROJECT},
        "requirements": {"requirements.txt": "-r requirements/base.txt\n"},
        "includes": {"requirements/base.txt": REQUIREMENTS},
        **changed,
    }
    return Manifests(**texts)  # type: ignore[arg-type]


LOCKS = {"svc/uv.lock": uv_lock(PUBLIC, "2.1.0"), "app/poetry.lock": POETRY_LOCK}


def test_one_fix_covers_every_manifest_and_the_locks_it_can_update() -> None:
    fix = build_fix({"Pipfile": PIPFILE}, LOCKS, LISTING, OPTIONS, manifests())
    changed = {change.path: change for change in fix.changes}
    assert sorted(changed) == [
        "Pipfile",
        "app/poetry.lock",
        "app/pyproject.toml",
        "requirements/base.txt",
        "svc/pyproject.toml",
    ]
    assert 'orb-common = { index = "codeartifact" }' in changed["svc/pyproject.toml"].new_text
    assert 'source = "codeartifact"' in changed["app/pyproject.toml"].new_text
    assert 'reference = "codeartifact"' in changed["app/poetry.lock"].new_text
    # CodeArtifact beside PyPI alone becomes the only index, in the file that says so.
    assert changed["requirements/base.txt"].new_text == REQUIREMENTS.replace(
        "--extra-index-url", "--index-url"
    )
    assert {(e.path, e.package) for e in fix.entries} == {
        ("Pipfile", "orb-common"),
        ("svc/pyproject.toml", "orb-common"),
        ("app/pyproject.toml", "orb-common"),
    }
    uv, poetry, requirements = fix.manifests
    assert uv == ManifestFix(
        "svc/pyproject.toml",
        ManifestKind.UV,
        added_index=True,
        lock="svc/uv.lock",
        relock=relock_note("svc/uv.lock", ["orb-common"]),
    )
    assert poetry == ManifestFix(
        "app/pyproject.toml", ManifestKind.POETRY, lock="app/poetry.lock", lock_updated=True
    )
    # The install is the file pip is given; the change is in the file it includes.
    assert (requirements.path, requirements.kind) == ("requirements.txt", ManifestKind.REQUIREMENTS)
    assert [p.automatic for p in requirements.applied] == [True]
    assert requirements.proposals == ()
    assert fix.unfixable == ()


def test_the_fingerprint_changes_when_any_files_fix_changes() -> None:
    base = build_fix({"Pipfile": PIPFILE}, LOCKS, LISTING, OPTIONS, manifests())
    assert build_fix({"Pipfile": PIPFILE}, LOCKS, LISTING, OPTIONS, manifests()) == base
    other_uv = manifests(uv={"svc/pyproject.toml": UV_PYPROJECT.replace("svc", "api")})
    other_requirements = manifests(
        includes={"requirements/base.txt": REQUIREMENTS.replace("requests", "httpx")}
    )
    stale_lock = {**LOCKS, "app/poetry.lock": POETRY_LOCK.replace('"2.31.0"', '"2.32.0"')}
    fingerprints = {
        base.fingerprint,
        build_fix({"Pipfile": PIPFILE}, LOCKS, LISTING, OPTIONS, other_uv).fingerprint,
        build_fix({"Pipfile": PIPFILE}, LOCKS, LISTING, OPTIONS, other_requirements).fingerprint,
        build_fix({"Pipfile": PIPFILE}, stale_lock, LISTING, OPTIONS, manifests()).fingerprint,
        build_fix({}, LOCKS, LISTING, OPTIONS, manifests()).fingerprint,
    }
    assert len(fingerprints) == 5


def test_nothing_to_fix_is_an_empty_fix() -> None:
    fixed = build_fix({"Pipfile": PIPFILE}, LOCKS, LISTING, OPTIONS, manifests())
    new = {change.path: change.new_text for change in fixed.changes}
    again = Manifests(
        uv={"svc/pyproject.toml": new["svc/pyproject.toml"]},
        poetry={"app/pyproject.toml": new["app/pyproject.toml"]},
        requirements={"requirements.txt": "-r requirements/base.txt\n"},
        includes={"requirements/base.txt": new["requirements/base.txt"]},
    )
    locks = {**LOCKS, "app/poetry.lock": new["app/poetry.lock"]}
    fix = build_fix({"Pipfile": new["Pipfile"]}, locks, LISTING, OPTIONS, again)
    assert fix.empty and fix.entries == () and fix.manifests == ()
    assert build_fix({}, {}, LISTING, OPTIONS, Manifests()).empty


def test_a_proposal_pipfleet_does_not_apply_is_carried_for_the_body() -> None:
    text = f"--extra-index-url {CA}\n--extra-index-url {TORCH}\norb-common\n"
    fix = build_fix(
        {},
        {},
        LISTING,
        OPTIONS,
        manifests(uv={}, poetry={}, includes={"requirements/base.txt": text}),
    )
    assert fix.empty
    (requirements,) = fix.manifests
    assert requirements.applied == () and requirements.proposals
    assert not any(p.automatic for p in requirements.proposals)


@pytest.mark.parametrize("include", [None, "--index-url https://mirror.example/simple\n"])
def test_an_install_is_judged_with_what_it_includes(include: str | None) -> None:
    """An include not in the repository leaves the install unfixed (its options are out of
    sight); one that sets another index makes CodeArtifact's line no lone extra index."""
    root = f"-r more.txt\n--extra-index-url {CA}\norb-common\n"
    texts = manifests(
        uv={}, poetry={}, requirements={"requirements.txt": root}, includes={"more.txt": include}
    )
    fix = build_fix({}, {}, LISTING, OPTIONS, texts)
    assert fix.empty
    if include is None:
        assert fix.unfixable and fix.unfixable[0].startswith("requirements.txt: ")


def test_the_body_says_per_manifest_what_changed_and_what_to_run() -> None:
    fix = build_fix({"Pipfile": PIPFILE}, LOCKS, LISTING, OPTIONS, manifests())
    body = render(fix, "t", SETTINGS).body
    spans = code_spans(body)
    for path in ("svc/pyproject.toml", "app/pyproject.toml", "Pipfile"):
        assert path in spans
    assert "Left `svc/uv.lock` unchanged" in body and "run `uv lock`" in body
    assert "UV_INDEX_CODEARTIFACT_PASSWORD" in spans
    assert "Updated `app/poetry.lock` to match" in body
    assert "Changed for `pip install -r requirements.txt`:" in body
    assert "- --extra-index-url https://aws:${CODEARTIFACT_AUTH_TOKEN}@" in body
    assert "+ --index-url https://aws:${CODEARTIFACT_AUTH_TOKEN}@" in body
    assert "\npip install -r requirements.txt\nexport UV_INDEX" in body
    assert "Proposed for" not in body


def test_a_poetry_lock_left_alone_says_to_run_poetry_lock() -> None:
    stale = {
        **LOCKS,
        "app/poetry.lock": POETRY_LOCK.replace('content-hash = "', 'content-hash = "0'),
    }
    fix = build_fix({}, stale, LISTING, OPTIONS, manifests(uv={}, includes={}))
    (poetry,) = fix.manifests
    assert poetry.relock is not None and not poetry.lock_updated
    assert [c.path for c in fix.changes] == ["app/pyproject.toml"]
    body = render(fix, "t", SETTINGS).body
    assert poetry.relock == "poetry.lock was not fresh for the old pyproject.toml: run poetry lock"
    assert f"Left `app/poetry.lock: {poetry.relock}` unchanged: run `poetry lock`" in body
    assert (
        "poetry check --lock && poetry install" in body
        and "pipenv" not in body.split("## Check it locally")[1].split("More in the guide")[0]
    )


def test_proposals_in_the_body_are_code_with_credentials_masked() -> None:
    hostile = "x <img src=x onerror=alert(1)> @everyone [a](https://evil.example)"
    text = (
        f"--extra-index-url {CA}\n"
        f"--extra-index-url https://u:{TOKEN}@torch.example/whl  # {hostile}\n"
        "orb-common\n"
    )
    root = f"{hostile}/requirements.txt"
    texts = manifests(uv={}, poetry={}, requirements={root: text}, includes={})
    fix = build_fix({}, {}, LISTING, OPTIONS, texts)
    (requirements,) = fix.manifests
    assert requirements.proposals and requirements.applied == ()
    body = render(fix, "t", SETTINGS).body
    assert TOKEN not in body and "u:****@torch.example" in body
    assert f"Proposed for `pip install -r {root}`:" in body
    assert [(t.type, t.attrs.get("href")) for t in live(body)] == [
        ("link_open", "https://guide.example/ca")
    ]
    assert "@everyone" not in prose(body) and "evil" not in prose(body)


def test_the_commit_message_names_every_manifest_changed() -> None:
    fix = build_fix({"Pipfile": PIPFILE}, LOCKS, LISTING, OPTIONS, manifests())
    assert commit_message(fix, "t").splitlines()[2:] == [
        "Pinned by pipfleet: orb-common (Pipfile), orb-common (app/pyproject.toml), "
        "orb-common (svc/pyproject.toml)",
        "Source added to: Pipfile",
        "CodeArtifact index added to: svc/pyproject.toml",
        "pip index options changed in: requirements/base.txt",
    ]


def test_a_body_for_thousands_of_manifests_stays_within_githubs_limit() -> None:
    text = f"--extra-index-url {CA}\n--extra-index-url {TORCH}\norb-common\n"
    (proposal, *_) = (
        build_fix(
            {},
            {},
            LISTING,
            OPTIONS,
            manifests(uv={}, poetry={}, includes={"requirements/base.txt": text}),
        )
        .manifests[0]
        .proposals
    )
    many = tuple(
        ManifestFix(f"svc{n}/pyproject.toml", ManifestKind.UV, True, f"svc{n}/uv.lock", relock="x")
        for n in range(3000)
    ) + tuple(
        ManifestFix(f"r{n}/requirements.txt", ManifestKind.REQUIREMENTS, proposals=(proposal,))
        for n in range(3000)
    )
    body = render(RepoFix((), (), manifests=many), "t", SETTINGS).body
    assert len(body) <= BODY_LIMIT
    assert "and 2,9" in body and "more change(s) not shown" in body


def test_a_file_included_through_another_is_judged_only_within_its_install() -> None:
    """Alone, base.txt's CodeArtifact beside PyPI would become the only index; read from
    requirements.txt, after its mirror, it is one extra index among two: a proposal."""
    texts = manifests(
        uv={},
        poetry={},
        requirements={
            "requirements.txt": "-i https://mirror.example/simple\n-r dev.in\n",
            "requirements/base.txt": REQUIREMENTS,
        },
        includes={"dev.in": "-r requirements/base.txt\n"},
    )
    fix = build_fix({}, {}, LISTING, OPTIONS, texts)
    assert fix.empty
    assert [m.path for m in fix.manifests] == ["requirements.txt"]


def test_a_fix_without_pipfiles_speaks_of_uv_poetry_and_pip_only() -> None:
    fix = build_fix({}, LOCKS, LISTING, OPTIONS, manifests())
    body = render(fix, "t", replace(SETTINGS, guide_url=None)).body
    assert "pipenv" not in body and "Pipfile" not in body
    assert "uv and Poetry look for a package not pinned" in body
    assert '`{ index = "codeartifact" }` in `[tool.uv.sources]`' in body
    assert 'in Poetry, `source = "codeartifact"`' in body
