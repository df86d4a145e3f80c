"""Migrations are tested code: they build the schema the models describe, both ways."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from pipfleet.engine.findings import NONCOMPLIANT_KINDS
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

    assert db.upgrade(database_url) == head(database_url) == "0009"

    assert db.current(database_url) == "0009"
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
    assert db.upgrade(database_url) == "0009"
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
    assert columns[-6:-3] == ["public_first", "foreign_hashes", "private_transitive"]

    command.downgrade(db.alembic_config(database_url), "0003")

    assert summary_columns(database_url) == [c for c in columns[:-5] if c != "org"]


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


def runs_with_org(url: str, orgs: dict[str, str], scanned: dict[int, list[str]]) -> list[Any]:
    """At 0005, repositories of ``orgs`` (name: org) and runs that scanned ``scanned``
    (run id: names); then upgraded to head: each run's id and org, as v_run_summary says."""
    command.upgrade(db.alembic_config(url), "0005")
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            for id_, (name, org) in enumerate(orgs.items(), 1):
                connection.execute(
                    text(
                        "INSERT INTO repositories (id, full_name, org, name, archived, fork, "
                        "disabled, empty) VALUES (:i, :f, :o, :n, false, false, false, false)"
                    ),
                    {"i": id_, "f": f"{org}/{name}", "o": org, "n": name},
                )
            for run_id, names in scanned.items():
                connection.execute(
                    text(
                        "INSERT INTO scan_runs (id, started_at, status) "
                        "VALUES (:i, CURRENT_TIMESTAMP, 'completed')"
                    ),
                    {"i": run_id},
                )
                for name in names:
                    connection.execute(
                        text(
                            "INSERT INTO repository_scans (run_id, repository_id, status, "
                            "scanned_at) VALUES (:r, :p, 'fetched', CURRENT_TIMESTAMP)"
                        ),
                        {"r": run_id, "p": list(orgs).index(name) + 1},
                    )
        db.upgrade(url)
        with engine.connect() as connection:
            return list(
                connection.execute(text("SELECT run_id, org FROM v_run_summary ORDER BY 1"))
            )
    finally:
        engine.dispose()


def test_0006_gives_each_run_the_org_it_scanned(database_url: str) -> None:
    one_org = runs_with_org(database_url, {"api": "acme", "web": "acme"}, {1: ["api"], 2: []})
    assert [tuple(row) for row in one_org] == [(1, "acme"), (2, "acme")]


def test_0006_leaves_a_run_of_an_unknown_org_unknown(database_url: str) -> None:
    two_orgs = runs_with_org(
        database_url, {"api": "acme", "lab": "acme-labs"}, {1: ["lab"], 2: [], 3: ["api"]}
    )
    assert [tuple(row) for row in two_orgs] == [(1, "acme-labs"), (2, None), (3, "acme")]


def test_0006_keys_the_run_lock_by_org_and_takes_it_back(database_url: str) -> None:
    def lock_key(url: str) -> list[str]:
        engine = db.make_engine(url)
        try:
            return list(inspect(engine).get_pk_constraint("run_lock")["constrained_columns"])
        finally:
            engine.dispose()

    db.upgrade(database_url)
    assert lock_key(database_url) == ["org"]

    command.downgrade(db.alembic_config(database_url), "0005")

    assert lock_key(database_url) == ["id"]
    assert "org" not in summary_columns(database_url)
    assert drift(database_url) != []  # the models are 0006's
    assert schema(database_url) == (TABLES | {"alembic_version"}, VIEWS)


def test_0007_adds_the_org_to_the_run_summary_and_takes_it_back(database_url: str) -> None:
    db.upgrade(database_url)
    columns = summary_columns(database_url)
    assert columns[:3] == ["run_id", "org", "started_at"]

    command.downgrade(db.alembic_config(database_url), "0006")

    assert summary_columns(database_url) == [c for c in columns[:-3] if c != "org"]
    assert schema(database_url) == (TABLES | {"alembic_version"}, VIEWS)


def test_0008_counts_the_index_setting_kinds_and_takes_them_back(database_url: str) -> None:
    db.upgrade(database_url)
    columns = summary_columns(database_url)
    assert columns[-3:] == ["index_not_explicit", "unsafe_index_strategy", "extra_index_url"]

    command.downgrade(db.alembic_config(database_url), "0007")

    assert summary_columns(database_url) == columns[:-3]
    assert schema(database_url) == (TABLES | {"alembic_version"}, VIEWS)


def test_0009_records_each_file_as_a_pipfile_until_told_otherwise_and_takes_it_back(
    database_url: str,
) -> None:
    config = db.alembic_config(database_url)
    command.upgrade(config, "0008")
    engine = db.make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO repositories (id, full_name, org, name, archived, fork, "
                    "disabled, empty) VALUES (1, 'acme/orb-a', 'acme', 'orb-a', false, false, "
                    "false, false)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO scan_runs (id, started_at, status) "
                    "VALUES (1, CURRENT_TIMESTAMP, 'completed')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO pipfiles (run_id, repository_id, path, status) "
                    "VALUES (1, 1, 'Pipfile', 'ok')"
                )
            )
        command.upgrade(config, "0009")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO pipfiles (run_id, repository_id, path, status, manifest_kind) "
                    "VALUES (1, 1, 'pyproject.toml', 'ok', 'uv')"
                )
            )
            kinds = list(
                connection.execute(text("SELECT path, manifest_kind FROM pipfiles ORDER BY path"))
            )
        assert kinds == [("Pipfile", "pipfile"), ("pyproject.toml", "uv")]

        command.downgrade(config, "0008")

        columns = [column["name"] for column in inspect(engine).get_columns("pipfiles")]
        assert "manifest_kind" not in columns and "has_lock" in columns
        assert schema(database_url) == (TABLES | {"alembic_version"}, VIEWS)
    finally:
        engine.dispose()


def test_the_run_summary_counts_every_kind_that_can_break_compliance(database_url: str) -> None:
    db.upgrade(database_url)
    columns = set(summary_columns(database_url))

    assert {kind.value.replace("-", "_") for kind in NONCOMPLIANT_KINDS} <= columns
