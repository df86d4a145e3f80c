"""GitHub's App manifest flow, its API half: a code from the new-App page becomes an App.

The page half (github.com's form that takes the manifest and redirects with a code)
is in html_pages. GitHub asks no authentication here: the code is the secret, good
for one conversion. The sandbox holds one App, so the new one replaces any other.
"""

from __future__ import annotations

import re
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.responses import Response

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.github_rest.common import Call, fail, reply
from pipfleet.sandbox.gitstore import now
from pipfleet.sandbox.world import GitHubApp

FIRST_APP_ID = 1001


def slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"


def create_from_manifest(call: Call) -> Response:
    request = call.world.manifest_codes.pop(call.arg("code"), None)
    if request is None:
        fail(404, "Not Found")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # GitHub's: BEGIN RSA PRIVATE KEY
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    previous = call.world.github_app
    asked = request.manifest.get("default_permissions")
    app = GitHubApp(
        app_id=FIRST_APP_ID if previous is None else previous.app_id + 1,
        public_key_pem=public.decode(),
        slug=slug_of(str(request.manifest["name"])),
        permissions={str(k): str(v) for k, v in asked.items()} if isinstance(asked, dict) else {},
    )
    call.world.github_app = app
    body = shapes.app_from_manifest(
        call.site, app, request.org, request.manifest, (secrets.token_hex(20), pem), now()
    )
    return reply(body, 201)
