from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from pipfleet.engine.confusion import PublicStatus
from pipfleet.registry.pypi import USER_AGENT, EtagCache, check_names, check_names_async
from pipfleet.sandbox.server import SandboxServer


def test_taken_free_and_unknown(sandbox: SandboxServer) -> None:
    httpx.post(
        sandbox.urls.control + "/faults",
        json={"route": "/pypi/simple/orb-flaky/", "status": 503, "count": 1},
    )
    answers = check_names(["orb-events", "Orb_Common", "orb-flaky"], sandbox.urls.public_index)
    assert answers["orb-events"].status is PublicStatus.TAKEN
    assert answers["Orb_Common"].status is PublicStatus.FREE
    assert answers["orb-flaky"].status is PublicStatus.UNKNOWN
    assert answers["orb-flaky"].detail == "503"


def test_connection_failure_is_unknown_never_free() -> None:
    answers = check_names(["orb-common"], "http://127.0.0.1:9/simple/", timeout=2)
    assert answers["orb-common"].status is PublicStatus.UNKNOWN


def test_etag_cache_survives_in_a_file_and_answers_a_rescan_with_304(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    cache_file = tmp_path / "cache" / "etags.json"
    cache = EtagCache.load(cache_file)
    first = check_names(["orb-events", "orb-common"], sandbox.urls.public_index, cache=cache)
    assert first["orb-events"].detail == "200"
    cache.save()
    again = check_names(
        ["orb-events", "orb-common"], sandbox.urls.public_index, cache=EtagCache.load(cache_file)
    )
    assert again["orb-events"].status is PublicStatus.TAKEN
    assert again["orb-events"].detail == "304 (cached: taken)"
    assert again["orb-common"].status is PublicStatus.FREE  # 404s carry no ETag: asked again


def test_identifies_itself_and_prefers_pep691_json() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404)

    asyncio.run(
        check_names_async(
            ["x"], "https://index.invalid/simple/", transport=httpx.MockTransport(answer)
        )
    )
    (request,) = seen
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["accept"].startswith("application/vnd.pypi.simple.v1+json")
    assert str(request.url) == "https://index.invalid/simple/x/"


def test_a_name_no_index_can_hold_is_unknown_and_asks_nothing(sandbox: SandboxServer) -> None:
    hostile = ["orb\x1b[2Jclear", "orb common", "../../etc", "-orb"]

    answers = check_names([*hostile, "orb-events"], sandbox.urls.public_index)

    assert {answers[name].detail for name in hostile} == {"not a valid project name"}
    assert {answers[name].status for name in hostile} == {PublicStatus.UNKNOWN}
    assert answers["orb-events"].status is PublicStatus.TAKEN
