"""Fixtures of the office service's tests: a database on SQLite or a real PostgreSQL, a store on it."""

from __future__ import annotations

import os

import pytest
from pg_lab import TempPostgres, unavailable

from office.keys import ServerKeys
from office.store import Store

#: Set (as .ci/run does) to make a missing PostgreSQL a failure instead of a skip.
REQUIRE_POSTGRES = "DUKCAPIL_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server per test process (Debian's binaries in a temp directory)."""
    reason = unavailable()
    if reason:
        if os.environ.get(REQUIRE_POSTGRES):
            pytest.fail(f"PostgreSQL is required here: {reason}")
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    with TempPostgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "office.sqlite3")
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture
def pg_database(postgres) -> str:
    """A fresh PostgreSQL database's URL."""
    return postgres.create_database()


@pytest.fixture
def keys() -> ServerKeys:
    return ServerKeys.generate()


@pytest.fixture
def store(database, keys):
    with Store.open(database, keys) as store:
        yield store
