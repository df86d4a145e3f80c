"""Which optional extra of pipfleet installs each third-party module the code imports.

The core (``pip install pipfleet``) is what ``pipfleet check`` needs; a command that
imports one of these names needs ``pip install 'pipfleet[EXTRA]'``. Modules several
extras install (starlette, uvicorn, httpx) are named under ``bot``, which most commands
need; ``pipfleet sandbox`` and ``pipfleet demo`` need ``sandbox`` as well.
"""

from __future__ import annotations

EXTRA_OF_MODULE: dict[str, str] = {
    "boto3": "aws",
    "botocore": "aws",
    "github": "bot",
    "requests": "bot",
    "urllib3": "bot",
    "cryptography": "bot",
    "httpx": "bot",
    "sqlmodel": "bot",
    "sqlalchemy": "bot",
    "alembic": "bot",
    "starlette": "bot",
    "uvicorn": "bot",
    "jinja2": "bot",
    "markupsafe": "bot",
    "mcp": "mcp",
    "mcp_types": "mcp",
    "pydantic": "mcp",
    "anyio": "mcp",
    "psycopg": "postgres",
    "graphql": "sandbox",
    "jwt": "sandbox",
}
