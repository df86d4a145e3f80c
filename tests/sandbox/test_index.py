"""The sandbox's simple indexes: PEP 503 HTML, PEP 691 JSON, CodeArtifact auth, real pip."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.distributions import wheel

from pipfleet.sandbox.index import HTML_V1, JSON_V1
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import CodeArtifactPackage, PackageOrigin, World

# What pip sends, so that the JSON form is the one pip really reads.
PIP_ACCEPT = f"{JSON_V1}, {HTML_V1}; q=0.1, text/html; q=0.01"


@pytest.fixture
def wheels(world: World) -> dict[str, bytes]:
    """requests 2.32.3 (listed on both indexes), 9.9 (listed on neither), orb-thing 1.0 (private)."""
    built = dict(
        wheel(name, version)
        for name, version in [("requests", "2.32.3"), ("requests", "9.9"), ("orb-thing", "1.0")]
    )
    for filename, data in built.items():
        world.add_file(filename, data)
    world.codeartifact.packages["orb-thing"] = CodeArtifactPackage(
        "orb-thing", {"1.0": "INTERNAL"}, PackageOrigin("ALLOW", "BLOCK")
    )
    return built


def test_public_root_lists_pypi_projects(sandbox: SandboxServer) -> None:
    url = sandbox.urls.public_index
    page = httpx.get(url)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<meta name="pypi:repository-version" content="1.1">' in page.text
    assert '<a href="orb-events/">orb-events</a>' in page.text
    assert "orb-common" not in page.text  # private only

    listing = httpx.get(url, headers={"Accept": PIP_ACCEPT})
    assert listing.headers["content-type"] == JSON_V1
    assert listing.json() == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "orb-events"}, {"name": "requests"}],
    }


def test_project_page_in_json_and_html(sandbox: SandboxServer, wheels: dict[str, bytes]) -> None:
    url = sandbox.urls.public_index + "requests/"
    filename = "requests-2.32.3-py3-none-any.whl"
    sha256 = hashlib.sha256(wheels[filename]).hexdigest()

    page = httpx.get(url, headers={"Accept": PIP_ACCEPT})
    assert page.headers["content-type"] == JSON_V1 and page.headers["vary"] == "Accept"
    assert page.json() == {
        "meta": {"api-version": "1.1"},
        "name": "requests",
        "files": [  # 9.9 is not a version the index lists
            {
                "filename": filename,
                "url": f"2.32.3/{filename}",
                "hashes": {"sha256": sha256},
                "size": len(wheels[filename]),
                "requires-python": ">=3.8",
            }
        ],
        "versions": ["2.31.0", "2.32.3"],
    }
    download = httpx.get(httpx.URL(url).join(page.json()["files"][0]["url"]))
    assert download.status_code == 200 and download.content == wheels[filename]

    html = httpx.get(url, headers={"Accept": f"{HTML_V1}, {JSON_V1}; q=0.5"})
    assert html.headers["content-type"] == HTML_V1
    assert (
        f'<a href="2.32.3/{filename}#sha256={sha256}" data-requires-python="&gt;=3.8">'
        f"{filename}</a>"
    ) in html.text
    assert "requests-9.9" not in html.text
    assert httpx.get(url).headers["content-type"] == "text/html; charset=utf-8"


def test_unknown_projects_and_unlisted_files_are_not_found(
    sandbox: SandboxServer, wheels: dict[str, bytes]
) -> None:
    public = sandbox.urls.public_index
    assert httpx.get(public + "orb-nowhere/").status_code == 404
    assert httpx.get(public + "orb-thing/").status_code == 404  # private only
    assert httpx.get(public + "requests/9.9/requests-9.9-py3-none-any.whl").status_code == 404
    assert httpx.get(public + "orb-thing/1.0/orb_thing-1.0-py3-none-any.whl").status_code == 404


def test_non_normalised_names_redirect(sandbox: SandboxServer, token: str) -> None:
    response = httpx.get(sandbox.urls.public_index + "Orb_Events/")
    assert response.status_code == 301
    assert response.headers["location"] == sandbox.urls.public_index + "orb-events/"

    private = httpx.get(sandbox.urls.private_index + "Orb.Common/", auth=("aws", token))
    assert private.status_code == 301
    assert private.headers["location"] == sandbox.urls.private_index + "orb-common/"


def test_private_index_requires_a_codeartifact_token(
    sandbox: SandboxServer, world: World, wheels: dict[str, bytes], token: str
) -> None:
    url = sandbox.urls.private_index + "orb-thing/"
    for auth in (None, ("aws", "made-up"), ("someone", token)):
        response = httpx.get(url, auth=auth)
        assert response.status_code == 401, auth
        assert response.headers["www-authenticate"].startswith("Basic realm=")

    page = httpx.get(url, auth=("aws", token), headers={"Accept": PIP_ACCEPT})
    assert page.status_code == 200
    assert [f["filename"] for f in page.json()["files"]] == ["orb_thing-1.0-py3-none-any.whl"]
    file_url = httpx.URL(url).join(page.json()["files"][0]["url"])
    assert httpx.get(file_url).status_code == 401
    assert (
        httpx.get(file_url, auth=("aws", token)).content == wheels["orb_thing-1.0-py3-none-any.whl"]
    )

    # Both origins: the external connection caches public packages too.
    html = httpx.get(sandbox.urls.private_index + "requests/", auth=("aws", token))
    assert 'href="2.32.3/requests-2.32.3-py3-none-any.whl#sha256=' in html.text
    assert httpx.get(sandbox.urls.private_index, auth=("aws", token)).status_code == 404

    wrong_repository = sandbox.urls.private_index.replace("/private/", "/other/")
    assert httpx.get(wrong_repository + "orb-thing/", auth=("aws", token)).status_code == 404

    world.codeartifact_tokens[token] = world.codeartifact_tokens[token].replace(year=2000)
    assert httpx.get(url, auth=("aws", token)).status_code == 401


def pip_download(index_url: str, dest: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT")
    }
    env |= {
        "PIP_CONFIG_FILE": "/dev/null",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input", "--dest", str(dest)]
        + ["--index-url", index_url, "orb-thing==1.0"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_pip_downloads_from_the_private_index_with_a_token(
    sandbox: SandboxServer, wheels: dict[str, bytes], token: str, tmp_path: Path
) -> None:
    result = pip_download(sandbox.urls.private_index_with_auth(token), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "orb_thing-1.0-py3-none-any.whl").read_bytes() == wheels[
        "orb_thing-1.0-py3-none-any.whl"
    ]


def test_pip_fails_without_a_token_or_on_the_public_index(
    sandbox: SandboxServer, world: World, wheels: dict[str, bytes], tmp_path: Path
) -> None:
    dest = tmp_path / "downloads"
    for index_url, page in (
        (sandbox.urls.private_index, "/ca/{domain_owner}/pypi/{repository}/simple/{project}/"),
        (sandbox.urls.public_index, "/pypi/simple/{project}/"),
    ):
        result = pip_download(index_url, dest)
        assert result.returncode != 0, index_url
        assert "No matching distribution found for orb-thing==1.0" in result.stderr, index_url
        # pip reached the page (and got 401 or 404), so no connection error explains the failure.
        assert world.counters[("GET", page)] >= 1, index_url
    assert not dest.exists() or list(dest.iterdir()) == []
