"""Wheels and sdists for the tests' package indexes, built by hand with zipfile and tarfile.

No build backend runs, so producing them needs no network access. Each holds one
module, ``<dist>/__init__.py``, exposing ``__version__``. The archives are
reproducible: the same name and version always give the same bytes, and therefore
the same sha256, whenever and wherever they are built.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

# Zip cannot record times before 1980; the same instant serves the tar members.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_TAR_MTIME = 315532800  # 1980-01-01T00:00:00Z
_WHEEL = (
    b"Wheel-Version: 1.0\nGenerator: pipfleet-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
)


def dist_name(name: str) -> str:
    """The project name as wheel and sdist filenames spell it: ``orb-common`` -> ``orb_common``."""
    return re.sub(r"[-_.]+", "_", name).lower()


def metadata(name: str, version: str, requires: Sequence[str] = ()) -> str:
    """Core metadata, as a wheel's METADATA or an sdist's PKG-INFO holds it."""
    requires_dist = "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    return (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Python: >=3.8\n"
        + requires_dist
    )


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel(
    name: str, version: str, *, requires: Sequence[str] = (), origin: str | None = None
) -> tuple[str, bytes]:
    """A pure-Python ``py3-none-any`` wheel: its filename and its bytes.

    ``requires``: its Requires-Dist lines. ``origin``: the module also sets
    ``ORIGIN = "<origin>"``, so two wheels of the same name and version (an impostor
    and the real one) differ, and which was installed can be read back.
    """
    dist = dist_name(name)
    info = f"{dist}-{version}.dist-info"
    module = f'__version__ = "{version}"\n' + (f'ORIGIN = "{origin}"\n' if origin else "")
    files = {
        f"{dist}/__init__.py": module.encode(),
        f"{info}/METADATA": metadata(name, version, requires).encode(),
        f"{info}/WHEEL": _WHEEL,
    }
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for path, data in files.items():
            member = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            zipped.writestr(member, data)
    return f"{dist}-{version}-py3-none-any.whl", buffer.getvalue()


def sdist(name: str, version: str) -> tuple[str, bytes]:
    """A ``.tar.gz`` sdist whose pyproject.toml would build the same module as :func:`wheel`."""
    dist = dist_name(name)
    root = f"{dist}-{version}"
    files = {
        f"{root}/PKG-INFO": metadata(name, version),
        f"{root}/pyproject.toml": (
            '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
        ),
        f"{root}/{dist}/__init__.py": f'__version__ = "{version}"\n',
    }
    buffer = io.BytesIO()
    # mtime=0 keeps the time of writing out of the gzip header.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gzipped,
        tarfile.open(fileobj=gzipped, mode="w", format=tarfile.PAX_FORMAT) as tarred,
    ):
        for path, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(path)
            member.size = len(data)
            member.mtime = _TAR_MTIME
            member.mode = 0o644
            tarred.addfile(member, io.BytesIO(data))
    return f"{root}.tar.gz", buffer.getvalue()


def _write(dest: Path, built: tuple[str, bytes]) -> Path:
    filename, data = built
    path = dest / filename
    path.write_bytes(data)
    return path


def write_wheel(dest: Path, name: str, version: str) -> Path:
    """Write :func:`wheel` into the folder ``dest``; the path written."""
    return _write(dest, wheel(name, version))


def write_sdist(dest: Path, name: str, version: str) -> Path:
    """Write :func:`sdist` into the folder ``dest``; the path written."""
    return _write(dest, sdist(name, version))


def lock_hash(data: bytes) -> str:
    """The hash of a file as Pipfile.lock records it: ``sha256:<hex>``."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"
