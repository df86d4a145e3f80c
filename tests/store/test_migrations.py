"""Migrations are tested code: they build the schema the models describe, both ways."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

from pipfleet.store import db, models

TABLES = {table.name for table in SQLModel.metadata.sorted_tables}
VIEWS = {"v_repository_latest", "v_run_summary", "v_private_package_usage"}


def head(url: str) -> str | None:
    return ScriptDirectory.from_config(db.alembic_config(url)).get_current_head()


def schema(url: str) -> tuple[set[str], set[str]]:
    engine = db.make_engine(url)
    try:
        inspector = inspect(engine)
        return set(inspector.get_table_names()), set(inspector.get_view_names())
    finally:
        engine.dispose()


def drift(url: str) -> list[Any]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def test_models_register_every_table() -> None:
    assert models.ScanRun.__tablename__ in TABLES
    assert len(TABLES) == 9


def test_upgrade_builds_every_table_and_view_on_an_empty_database(database_url: str) -> None:
    assert db.current(database_url) is None

    assert db.upgrade(database_url) == head(database_url) == "0005"

    assert db.current(database_url) == "0005"
    tables, views = schema(database_url)
    assert tables == TABLES | {"alembic_version"}
    assert views == VIEWS


def test_autogenerate_finds_nothing_between_models_and_migrations(database_url: str) -> None:
    # Before the upgrade every table must show up as missing; otherwise an empty diff
    # after it would prove nothing (say, models not imported).
    added = {diff[1].name for diff in drift(database_url) if diff[0] == "add_table"}
    assert added == TABLES

    db.upgrade(database_url)

    assert drift(database_url) == []


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds_it(database_url: str) -> None:
    db.upgrade(database_url)

    command.downgrade(db.alembic_config(database_url), "base")

    assert db.current(database_url) is None
    assert schema(database_url) == ({"alembic_version"}, set())
    assert db.upgrade(database_url) == "0005"
    assert schema(database_url) == (TABLES | {"alembic_version"}, VIEWS)


def summary_columns(url: str) -> list[str]:
    engine = db.make_engine(url)
    try:
        return [column["name"] for column in inspect(engine).get_columns("v_run_summary")]
    finally:
        engine.dispose()


def test_0004_adds_the_provenance_counts_to_the_run_summary_and_takes_them_back(
    database_url: str,
) -> None:
    db.upgrade(database_url)
    columns = summary_columns(database_url)
    assert columns[-3:] == ["public_first", "foreign_hashes", "private_transitive"]

    command.downgrade(db.alembic_config(database_url), "0003")

    assert summary_columns(database_url) == columns[:-2]


def scan_columns(url: str) -> list[str]:
    engine = db.make_engine(url)
    try:
        return [column["name"] for column in inspect(engine).get_columns("repository_scans")]
    finally:
        engine.dispose()


def test_0005_adds_the_opt_out_to_repository_scans_and_takes_it_back(database_url: str) -> None:
    db.upgrade(database_url)
    assert scan_columns(database_url)[-1] == "opted_out"

    command.downgrade(db.alembic_config(database_url), "0004")

    assert "opted_out" not in scan_columns(database_url)
    assert schema(database_url) == (TABLES | {"alembic_version"}, VIEWS)  # views kept
