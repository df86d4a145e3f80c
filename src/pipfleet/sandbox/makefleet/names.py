"""Package name tables: the private packages, what public PyPI offers, who needs what."""

from __future__ import annotations

# Earlier names are used more, as a few core libraries always are.
PRIVATE_NAMES = (
    "orb-common", "orb-utils", "orb-auth", "orb-models", "orb-client", "orb-events",
    "orb-config", "orb-logging", "orb-metrics", "orb-db", "orb-http", "orb-cache",
    "orb-queue", "orb-storage", "orb-schemas", "orb-tracing", "orb-flags", "orb-secrets",
    "orb-billing", "orb-notify", "orb-search", "orb-geo", "orb-ml", "orb-pipelines",
    "orb-tasks", "orb-contracts", "orb-api-client", "orb-audit-log", "orb-cli",
    "orb-testing", "orb-lint", "orb-sphinx-theme",
)  # fmt: skip
_PRIVATE_DEV = ("orb-testing", "orb-lint")
_PRIVATE_DOCS = "orb-sphinx-theme"
_PRIVATE_RUNTIME = tuple(n for n in PRIVATE_NAMES if n not in _PRIVATE_DEV and n != _PRIVATE_DOCS)
_PRIVATE_EXTRAS = ("kafka", "aws", "async", "cli")

# name version... : what public PyPI offers, oldest first.
_PUBLIC_TABLE = """
requests 2.28.2 2.31.0 2.32.3
flask 2.2.5 2.3.3 3.0.3
django 3.2.25 4.2.16 5.0.9 5.1.2
boto3 1.28.85 1.34.162 1.35.36
botocore 1.31.85 1.34.162 1.35.36
pandas 1.5.3 2.0.3 2.2.3
numpy 1.24.4 1.26.4 2.1.2
sqlalchemy 1.4.54 2.0.35
celery 5.2.7 5.3.6 5.4.0
redis 4.6.0 5.0.8 5.1.1
pydantic 1.10.18 2.8.2 2.9.2
pydantic-core 2.20.1 2.23.4
fastapi 0.103.2 0.110.3 0.115.2
uvicorn 0.23.2 0.30.6 0.31.1
gunicorn 21.2.0 22.0.0 23.0.0
httpx 0.24.1 0.27.2
click 8.1.3 8.1.7
pyyaml 6.0.1 6.0.2
jinja2 3.1.2 3.1.4
psycopg2-binary 2.9.6 2.9.9
sentry-sdk 1.45.1 2.16.0
structlog 23.3.0 24.4.0
attrs 23.2.0 24.2.0
marshmallow 3.20.2 3.22.0
alembic 1.12.1 1.13.3
python-dateutil 2.8.2 2.9.0
pytz 2023.4 2024.2
orjson 3.9.15 3.10.7
tenacity 8.5.0 9.0.0
cryptography 42.0.8 43.0.1
pyjwt 2.8.0 2.9.0
kafka-python 2.0.2
prometheus-client 0.20.0 0.21.0
certifi 2024.7.4 2024.8.30
charset-normalizer 3.3.2 3.4.0
idna 3.7 3.10
urllib3 1.26.20 2.2.3
werkzeug 2.3.8 3.0.4
itsdangerous 2.1.2 2.2.0
blinker 1.7.0 1.8.2
markupsafe 2.1.5 3.0.1
asgiref 3.7.2 3.8.1
sqlparse 0.4.4 0.5.1
jmespath 1.0.1
s3transfer 0.7.0 0.10.3
tzdata 2024.1 2024.2
kombu 5.3.7 5.4.2
billiard 4.2.0 4.2.1
vine 5.1.0
starlette 0.27.0 0.38.6
typing-extensions 4.9.0 4.12.2
annotated-types 0.6.0 0.7.0
anyio 3.7.1 4.6.0
httpcore 0.17.3 1.0.6
sniffio 1.3.1
h11 0.14.0
greenlet 3.0.3 3.1.1
mako 1.3.5
pytest 7.4.4 8.2.2 8.3.3
iniconfig 2.0.0
packaging 23.2 24.1
pluggy 1.5.0
black 23.12.1 24.8.0 24.10.0
mypy-extensions 1.0.0
pathspec 0.12.1
platformdirs 4.2.2 4.3.6
ruff 0.5.7 0.6.9
mypy 1.10.1 1.11.2 1.12.0
pytest-cov 4.1.0 5.0.0
coverage 7.5.4 7.6.1
flake8 6.1.0 7.1.1
isort 5.12.0 5.13.2
freezegun 1.4.0 1.5.1
factory-boy 3.3.0 3.3.1
moto 4.2.14 5.0.16
responses 0.24.1 0.25.3
pre-commit 3.5.0 3.8.0 4.0.1
ipython 8.18.1 8.28.0
pytest-mock 3.12.0 3.14.0
types-requests 2.31.0.20240406 2.32.0.20240914
sphinx 7.2.6 7.4.7 8.1.3
sphinx-rtd-theme 1.3.0 2.0.0 3.0.1
mkdocs 1.5.3 1.6.1
mkdocs-material 9.5.3 9.5.40
myst-parser 2.0.0 4.0.0
pytest-xdist 3.5.0 3.6.1
hypothesis 6.100.1 6.115.0
tox 4.11.4 4.21.2
pytest-asyncio 0.21.2 0.24.0
docutils 0.20.1 0.21.2
pygments 2.17.2 2.18.0
"""
PUBLIC: dict[str, tuple[str, ...]] = {
    name: tuple(versions)
    for name, *versions in (line.split() for line in _PUBLIC_TABLE.strip().splitlines())
}
_MAIN = (
    "requests", "flask", "django", "boto3", "pandas", "numpy", "sqlalchemy", "celery",
    "redis", "pydantic", "fastapi", "uvicorn", "gunicorn", "httpx", "click", "pyyaml",
    "jinja2", "psycopg2-binary", "sentry-sdk", "structlog", "attrs", "marshmallow",
    "alembic", "python-dateutil", "pytz", "orjson", "tenacity", "cryptography", "pyjwt",
    "kafka-python", "prometheus-client",
)  # fmt: skip
_DEV = (
    "pytest", "black", "ruff", "mypy", "pytest-cov", "coverage", "flake8", "isort",
    "freezegun", "factory-boy", "moto", "responses", "pre-commit", "ipython", "pytest-mock",
    "types-requests",
)  # fmt: skip
_CUSTOM = {
    "docs": ("sphinx", "sphinx-rtd-theme", "mkdocs", "mkdocs-material", "myst-parser"),
    "tests": ("pytest", "pytest-xdist", "hypothesis", "tox", "pytest-asyncio", "coverage"),
    "lint": ("ruff", "black", "mypy", "flake8", "isort"),
}
# How people write some names; pipenv's lock hash only agrees with plette's for
# canonical keys, so these spellings stay out of Pipfiles that have a lock.
_SPELLING = {
    "django": "Django", "flask": "Flask", "pyyaml": "PyYAML", "sqlalchemy": "SQLAlchemy",
    "jinja2": "Jinja2", "pyjwt": "PyJWT", "psycopg2-binary": "psycopg2_binary",
    "python-dateutil": "python_dateutil", "sphinx": "Sphinx",
}  # fmt: skip
_PUBLIC_EXTRAS = {"requests": "socks", "celery": "redis", "uvicorn": "standard", "moto": "s3"}
_DEPENDS = {
    "requests": ("certifi", "charset-normalizer", "idna", "urllib3"),
    "flask": ("werkzeug", "jinja2", "itsdangerous", "click", "blinker"),
    "django": ("asgiref", "sqlparse"),
    "boto3": ("botocore", "jmespath", "s3transfer"),
    "botocore": ("jmespath", "python-dateutil", "urllib3"),
    "pandas": ("numpy", "python-dateutil", "pytz", "tzdata"),
    "celery": ("kombu", "billiard", "vine", "click"),
    "fastapi": ("starlette", "pydantic", "typing-extensions"),
    "pydantic": ("pydantic-core", "annotated-types", "typing-extensions"),
    "httpx": ("anyio", "certifi", "httpcore", "idna", "sniffio"),
    "uvicorn": ("click", "h11"),
    "sqlalchemy": ("greenlet", "typing-extensions"),
    "alembic": ("mako", "sqlalchemy"),
    "jinja2": ("markupsafe",),
    "werkzeug": ("markupsafe",),
    "pytest": ("iniconfig", "packaging", "pluggy"),
    "black": ("click", "mypy-extensions", "packaging", "pathspec", "platformdirs"),
    "mypy": ("mypy-extensions", "typing-extensions"),
    "sphinx": ("docutils", "jinja2", "pygments", "packaging"),
    "pytest-cov": ("coverage", "pytest"),
}
