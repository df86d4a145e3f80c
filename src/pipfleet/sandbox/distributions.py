"""Wheel and sdist helpers shared by the world, its indexes and its CodeArtifact API.

``placeholder_wheel`` builds the file a CodeArtifact version is served with when the
fleet has no distribution for it: a minimal valid wheel (METADATA, WHEEL, RECORD)
whose bytes depend only on the name, the version and its Requires-Dist lines, so its
sha256 is stable from run to run and machine to machine (stored, not deflated, with
fixed timestamps).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import tarfile
import zipfile
from email.parser import HeaderParser

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

_EPOCH = (1980, 1, 1, 0, 0, 0)


def file_version(filename: str) -> Version | None:
    """The version a wheel or sdist filename carries; None when it is not one."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def same_version(filename: str, version: str) -> bool:
    """Whether the distribution ``filename`` is of ``version`` (PEP 440 equality)."""
    found = file_version(filename)
    if found is None:
        return False
    try:
        return found == Version(version)
    except InvalidVersion:
        return str(found) == version


def core_metadata(filename: str, data: bytes) -> str | None:
    """A wheel's METADATA or an sdist's PKG-INFO; None when the archive does not hold one."""

    def wanted(name: str) -> bool:
        return name.count("/") == 1 and name.endswith((".dist-info/METADATA", "/PKG-INFO"))

    try:
        if filename.endswith((".whl", ".zip")):
            with zipfile.ZipFile(io.BytesIO(data)) as zipped:
                return zipped.read(next(filter(wanted, zipped.namelist()))).decode()
        with tarfile.open(fileobj=io.BytesIO(data)) as tarred:
            member = next(m for m in tarred.getmembers() if wanted(m.name))
            stream = tarred.extractfile(member)
            return stream.read().decode() if stream else None
    except (StopIteration, zipfile.BadZipFile, tarfile.TarError, OSError, UnicodeDecodeError):
        return None


def requires_dist(filename: str, data: bytes) -> list[str]:
    """The Requires-Dist lines of a distribution's core metadata, in their order."""
    metadata = core_metadata(filename, data)
    if metadata is None:
        return []
    return [str(value) for value in HeaderParser().parsestr(metadata).get_all("Requires-Dist", [])]


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


@functools.lru_cache(maxsize=4096)
def placeholder_wheel(name: str, version: str, requires: tuple[str, ...] = ()) -> tuple[str, bytes]:
    """``(filename, bytes)`` of a deterministic pure-Python wheel of ``name`` ``version``.

    Raises InvalidVersion when ``version`` is not PEP 440 (no wheel can carry it).
    """
    normalized = str(Version(version))
    project = canonicalize_name(name)
    stem = f"{project.replace('-', '_')}-{normalized}"
    dist_info = f"{stem}.dist-info"
    metadata = (
        "Metadata-Version: 2.1\n"
        f"Name: {project}\n"
        f"Version: {normalized}\n"
        "Summary: Placeholder distribution served by the pipfleet sandbox\n"
        + "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    ).encode()
    wheel = (
        b"Wheel-Version: 1.0\nGenerator: pipfleet-sandbox\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    members = [(f"{dist_info}/METADATA", metadata), (f"{dist_info}/WHEEL", wheel)]
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in members)
    members.append((f"{dist_info}/RECORD", (record + f"{dist_info}/RECORD,,\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zipped:
        for path, data in members:
            info = zipfile.ZipInfo(path, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            zipped.writestr(info, data)
    return f"{stem}-py3-none-any.whl", buffer.getvalue()
