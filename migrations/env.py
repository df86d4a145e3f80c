"""Alembic environment for pipfleet's store.

The database URL comes from ``config.attributes["url"]`` (set by
``pipfleet.store.db.alembic_config``) or else from ``PIPFLEET_DATABASE_URL``, which is
what the ``alembic`` command run from the repository root uses.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import types
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import pipfleet.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from pipfleet.errors import StoreError
from pipfleet.store.db import make_engine, parse_url

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    url = config.attributes.get("url") or os.environ.get("PIPFLEET_DATABASE_URL")
    if not url:
        raise StoreError("no database URL: set PIPFLEET_DATABASE_URL")
    return str(url)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Our column types (and SQLModel's AutoString) are decorators over plain SQLAlchemy
    # types: generated migrations name the plain type, so they never import app code
    # that may since have changed.
    if type_ == "type" and isinstance(obj, types.TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_item=render_item,
        compare_type=True,
        compare_server_default=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    url = parse_url(database_url())
    configure(
        url=url,
        literal_binds=True,
        render_as_batch=url.get_backend_name() == "sqlite",
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection: Connection) -> None:
    configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # A batch migration recreates a table and drops the old one; with foreign
                # keys on, that drop would cascade-delete the rows of referencing tables.
                # The engine is disposed afterwards, so the setting dies with it.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                # Ends the transaction the PRAGMA began: Alembic would join it, not commit.
                connection.commit()
            run_online(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
