"""The real supabase-py async client against the loopback Supabase test server (PostgreSQL enforces RLS)."""

from __future__ import annotations

import asyncio
import json
import os
import stat

import pytest
from postgrest.exceptions import APIError

from multi_user.cloud_store import CloudAuthError, CloudOffline, CloudStore, live_payload

pytestmark = pytest.mark.postgres

TOKEN = "gAAAAAB-not-a-real-token"


def row(login: int, server: str = "Demo", **kw) -> dict:
    base = dict(login=login, server=server, token=TOKEN, label=None, investor=False, mode="shared",
                terminal_path=None, order=0, created_at="2026-01-01T00:00:00.000Z",
                changed_at="2026-01-01T00:00:00.000Z")
    return live_payload(**{**base, **kw})


def stored_refresh_token(path) -> str | None:
    for value in json.loads(path.read_text()).values():
        if value.startswith("{"):
            return json.loads(value)["refresh_token"]
    return None


async def _store(tmp_path, server, name: str) -> CloudStore:
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    return CloudStore(d, server.url, server.anon_key)


def test_sign_up_in_rows_and_isolation(tmp_path, supabase_server):
    async def main():
        a = await _store(tmp_path, supabase_server, "a")
        b = await _store(tmp_path, supabase_server, "b")
        try:
            uid_a = await a.sign_up("alice@example.test", "alice-pass-1")
            uid_b = await b.sign_up("bob@example.test", "bob-pass-1")
            assert uid_a != uid_b
            stored = await a.upsert([row(1001), row(1002, label="Gold")])
            assert sorted(r.login for r in stored) == [1001, 1002]
            assert [r.login for r in await a.fetch_rows()] == [1001, 1002]
            assert await b.fetch_rows() == []
            assert "alice-pass-1" not in repr(stored) and TOKEN not in repr(stored)
            # B cannot plant a row as A: the table's policy rejects user_id != auth.uid()
            with pytest.raises(APIError, match="row-level security"):
                await b._client.table("user_mt5_credentials").insert(
                    {"user_id": uid_a, **row(7)}).execute()
            assert await a.delete_row(1001, "Demo") == 1
            assert await b.delete_row(1002, "Demo") == 0
            assert [r.login for r in await a.fetch_rows()] == [1002]
        finally:
            await a.aclose()
            await b.aclose()

    asyncio.run(main())


def test_session_persists_in_0600_file_and_refreshes(tmp_path, supabase_server):
    supabase_server.jwt_ttl = 3  # inside supabase-py's expiry margin: every call refreshes

    async def main():
        s = await _store(tmp_path, supabase_server, "a")
        try:
            uid = await s.sign_up("carol@example.test", "carol-pass-1")
        finally:
            await s.aclose()
        session_file = tmp_path / "a" / "cloud_session.json"
        assert stat.S_IMODE(os.stat(session_file).st_mode) == 0o600
        assert "carol-pass-1" not in session_file.read_text()
        before = stored_refresh_token(session_file)
        s2 = await _store(tmp_path, supabase_server, "a")  # a new process, same data dir
        try:
            assert await s2.current_user() == (uid, "carol@example.test")
            await s2.upsert([row(5)])
            assert [r.login for r in await s2.fetch_rows()] == [5]
            after = stored_refresh_token(session_file)
            assert after != before  # refreshed and stored again
            await s2.sign_out()
            assert await s2.current_user() is None
            with pytest.raises(CloudAuthError, match="Not signed in"):
                await s2.fetch_rows()
        finally:
            await s2.aclose()
        assert supabase_server.refresh_tokens == {} or all(
            v[0] != uid for v in supabase_server.refresh_tokens.values())

    asyncio.run(main())


def test_wrong_password_and_offline_in_plain_words(tmp_path, supabase_server):
    async def main():
        s = await _store(tmp_path, supabase_server, "a")
        try:
            await s.sign_up("dave@example.test", "dave-pass-1")
            await s.sign_out()
            with pytest.raises(CloudAuthError, match="Wrong email or password") as info:
                await s.sign_in("dave@example.test", "nope-nope")
            assert "nope-nope" not in str(info.value)
            await s.sign_in("dave@example.test", "dave-pass-1")
            supabase_server.offline = True
            with pytest.raises(CloudOffline):
                await s.fetch_rows()
        finally:
            await s.aclose()
        s2 = CloudStore(tmp_path / "a", "http://127.0.0.1:9", supabase_server.anon_key)
        try:
            with pytest.raises(CloudOffline):
                await s2.sign_in("dave@example.test", "dave-pass-1")
        finally:
            await s2.aclose()

    asyncio.run(main())


def test_anon_key_alone_reads_nothing(tmp_path, supabase_server):
    async def main():
        s = await _store(tmp_path, supabase_server, "a")
        try:
            with pytest.raises(APIError, match="permission denied"):
                await s._client.table("user_mt5_credentials").select("*").execute()
        finally:
            await s.aclose()

    asyncio.run(main())


def test_the_servers_clock_is_measured_from_every_reply(tmp_path, supabase_server):
    """[R] 10: a desktop 3 h slow learns it is 3 h behind the server (to within the Date header's second)."""
    from datetime import UTC, datetime, timedelta

    async def main():
        d = tmp_path / "slow"
        d.mkdir()
        store = CloudStore(d, supabase_server.url, supabase_server.anon_key,
                           clock=lambda: datetime.now(UTC) - timedelta(hours=3))
        try:
            assert store.server_offset is None
            await store.sign_up("clock@example.test", "clock-pass-1")
            await store.fetch_rows()
            assert abs(store.server_offset - timedelta(hours=3)) < timedelta(seconds=2)
            right = CloudStore(d, supabase_server.url, supabase_server.anon_key)  # same clock as the server
            try:
                await right.current_user()
                await right.fetch_rows()
                assert right.server_offset == timedelta(0)  # agreeing clocks keep millisecond ordering
            finally:
                await right.aclose()
        finally:
            await store.aclose()

    asyncio.run(main())
