"""PostgreSQL fixtures (plugin loaded by conftest.py): one throwaway server per test session.

Tests that use it are marked `postgres`. Without PostgreSQL's binaries they skip with the reason,
except in CI (CI=true), where they fail: CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from pg_server import PgServer, find_bindir


@pytest.fixture(scope="session")
def _pg_session() -> Iterator[PgServer]:
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason + " (required in CI)", pytrace=False)
        pytest.skip(reason)
    server = PgServer(bindir)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture
def pg(_pg_session: PgServer) -> PgServer:
    """The session's PostgreSQL with Supabase's bootstrap and the app's schema loaded."""
    return _pg_session


@pytest.fixture
def make_user(pg: PgServer):
    """Create a Supabase user row directly in auth.users; returns (id, email)."""

    def make(email: str | None = None) -> tuple[str, str]:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.test"
        with pg.connect() as conn:
            uid = conn.execute("insert into auth.users (email) values (%s) returning id::text", (email,)).fetchone()[0]
        return uid, email

    return make


@pytest.fixture
def supabase_server(pg: PgServer):
    """A Supabase-compatible Auth + PostgREST test server on loopback, backed by the session's PostgreSQL."""
    from supabase_test_server import SupabaseTestServer

    server = SupabaseTestServer(pg).start()
    yield server
    server.stop()
