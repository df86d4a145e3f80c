"""The dashboard's stylesheet and script (``static/``), inlined into every page.

The page's Content-Security-Policy allows exactly these two by hash, so nothing
injected into the page could run or load even if escaping ever failed.
"""

from __future__ import annotations

import base64
import hashlib
from importlib.resources import files


def _static(name: str) -> str:
    # Read as bytes and decoded: the hash must cover exactly what the page holds,
    # whatever the platform's newline translation would do to a text read.
    return (files("pipfleet.report") / "static" / name).read_bytes().decode("utf-8")


CSS = _static("dashboard.css")
JS = _static("dashboard.js")


def csp_hash(source: str) -> str:
    """The CSP source expression allowing exactly this inline script or stylesheet."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src {csp_hash(CSS)}; "
    f"script-src {csp_hash(JS)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
