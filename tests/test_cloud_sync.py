"""Two desktops (two data dirs), one cloud user: they converge through the real supabase-py client, the test
server and PostgreSQL's row level security. A second user sees none of it."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.cloud_sync import CloudSync, load_cloud_settings, save_cloud_settings
from multi_user.cloud_store import CloudAuthError, CloudOffline
from multi_user.errors import BadInput
from multi_user.vault import Vault

pytestmark = pytest.mark.postgres
PASSWORD = "Broker-pass-123"


@pytest.fixture
def shared_key(monkeypatch):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", key)
    return key


def accounts(d: Path) -> dict[tuple[int, str], tuple]:
    v = Vault.open(d)
    try:
        return {(a.login, a.server): (a.label, a.mode, a.investor, v.password(a.login, a.server))
                for a in v.list_accounts()}
    finally:
        v.close()


def with_vault(d: Path, fn):
    v = Vault.open(d)
    try:
        return fn(v)
    finally:
        v.close()


def desk(tmp_path: Path, server, name: str, clock=None) -> CloudSync:
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    save_cloud_settings(d, server.url, server.anon_key)
    return CloudSync.from_settings(d, clock=clock)


def test_two_desktops_converge_and_second_user_sees_nothing(tmp_path, supabase_server, shared_key):
    async def main():
        a, b, other = (desk(tmp_path, supabase_server, n) for n in ("a", "b", "other"))
        try:
            await a.sign_up("owner@example.test", "owner-pass-1")
            await b.sign_in("owner@example.test", "owner-pass-1")
            await other.sign_up("someone@example.test", "someone-pass-1")

            # link on A -> appears on B, password intact (it travelled only as a Fernet token)
            with_vault(a.data_dir, lambda v: v.link(1001, "Demo-1", PASSWORD, label="Main"))
            with_vault(a.data_dir, lambda v: v.link(1002, "Demo-2", PASSWORD + "x"))
            assert (await a.sync_now()).pushed == 2
            assert (await b.sync_now()).pulled == 2
            assert accounts(b.data_dir) == accounts(a.data_dir)
            assert accounts(b.data_dir)[(1001, "Demo-1")] == ("Main", "shared", False, PASSWORD)

            # edit on B -> A
            with_vault(b.data_dir, lambda v: v.update(1001, "Demo-1", label="Renamed", mode="dedicated"))
            await b.sync_now()
            assert (await a.sync_now()).pulled == 1
            assert accounts(a.data_dir)[(1001, "Demo-1")][:2] == ("Renamed", "dedicated")

            # unlink on A -> gone on B (tombstone)
            with_vault(a.data_dir, lambda v: v.unlink(1002, "Demo-2"))
            await a.sync_now()
            assert (await b.sync_now()).removed_here == 1
            assert (1002, "Demo-2") not in accounts(b.data_dir)
            assert (1002, "Demo-2") in [t[:2] for t in with_vault(b.data_dir, lambda v: v.tombstones())]

            # B offline: changes on both sides, B's newer; a new account on B while offline
            supabase_server.offline = True
            with_vault(a.data_dir, lambda v: v.update(1001, "Demo-1", label="From A"))
            with_vault(b.data_dir, lambda v: v.link(2001, "Offline-Srv", PASSWORD))
            with_vault(b.data_dir, lambda v: v.update(1001, "Demo-1", label="From B, later"))
            with pytest.raises(CloudOffline):
                await b.sync_now()
            assert b.status.last_error and "could not be reached" in b.status.last_error
            assert (2001, "Offline-Srv") in accounts(b.data_dir)  # the vault keeps working offline
            supabase_server.offline = False
            await a.sync_now()  # A's change reaches the cloud first, but B's is newer
            report = await b.sync_now()
            assert [(c.login, c.winner) for c in report.conflicts] == [(1001, "here")]
            await a.sync_now()
            assert accounts(a.data_dir) == accounts(b.data_dir)
            assert accounts(a.data_dir)[(1001, "Demo-1")][0] == "From B, later"
            assert (2001, "Offline-Srv") in accounts(a.data_dir)

            # settled: another round changes nothing on either side
            for d in (a, b):
                r = await d.sync_now()
                assert (r.pushed, r.pulled, r.removed_here, r.conflicts, r.errors) == (0, 0, 0, [], [])
            assert a.status.last_sync is not None and a.status.last_error is None

            # the second user: nothing of the owner's reaches them, and their own sync stays empty
            r = await other.sync_now()
            assert (r.pulled, r.pushed) == (0, 0)
            assert accounts(other.data_dir) == {}
        finally:
            for d in (a, b, other):
                await d.aclose()
        # nothing secret in the cloud rows but Fernet tokens; tombstones carry none
        with supabase_server.pg.connect() as c:
            rows = c.execute("select password_encrypted, deleted_at from user_mt5_credentials u join auth.users "
                             "x on x.id=u.user_id where x.email='owner@example.test'").fetchall()
        assert rows and all((tok is None) == (deleted is not None) for tok, deleted in rows)
        assert all(PASSWORD not in (tok or "") and (tok or "gAAAA").startswith("gAAAA") for tok, _ in rows)

    asyncio.run(main())


def test_wrong_key_row_is_reported_and_nothing_else_touched(tmp_path, supabase_server, monkeypatch, shared_key):
    async def main():
        a = desk(tmp_path, supabase_server, "a")
        c = desk(tmp_path, supabase_server, "c")
        try:
            await a.sign_up("keys@example.test", "keys-pass-1")
            with_vault(a.data_dir, lambda v: v.link(1, "Srv", PASSWORD))
            with_vault(a.data_dir, lambda v: v.link(2, "Srv", PASSWORD))
            await a.sync_now()
            # desktop C has another key; one row also arrives from a machine with yet another key
            monkeypatch.setenv("MT5_ENCRYPTION_KEY", Fernet.generate_key().decode())
            with_vault(c.data_dir, lambda v: v.link(3, "Local-Only", PASSWORD))
            await c.sign_in("keys@example.test", "keys-pass-1")
            report = await c.sync_now()
            assert sorted(e.login for e in report.errors) == [1, 2]
            assert all("another key" in e.message and PASSWORD not in e.message for e in report.errors)
            assert "another key" in c.status.last_error
            assert report.pushed == 1  # C's own account still went up
            assert set(accounts(c.data_dir)) == {(3, "Local-Only")}
            # A's rows in the cloud are untouched; C's row (C's key) is the one A reports and skips
            monkeypatch.setenv("MT5_ENCRYPTION_KEY", shared_key)
            report = await a.sync_now()
            assert [(e.login, e.server) for e in report.errors] == [(3, "Local-Only")]
            assert (report.pulled, report.pushed, report.removed_here) == (0, 0, 0)
            assert accounts(a.data_dir) == {(1, "Srv"): (None, "shared", False, PASSWORD),
                                            (2, "Srv"): (None, "shared", False, PASSWORD)}
        finally:
            await a.aclose()
            await c.aclose()

    asyncio.run(main())


def test_row_deleted_in_the_web_dashboard_unlinks_here(tmp_path, supabase_server, shared_key):
    async def main():
        a = desk(tmp_path, supabase_server, "a")
        try:
            await a.sign_up("web@example.test", "web-pass-1")
            with_vault(a.data_dir, lambda v: v.link(77, "Srv", PASSWORD))
            await a.sync_now()
            assert await a._store.delete_row(77, "Srv") == 1  # what the dashboard does
            assert (await a.sync_now()).removed_here == 1
            assert accounts(a.data_dir) == {}
        finally:
            await a.aclose()

    asyncio.run(main())


def test_settings_refuse_service_key_and_store_nothing(data_dir):
    import base64
    import json

    body = base64.urlsafe_b64encode(json.dumps({"role": "service_role"}).encode()).decode().rstrip("=")
    for key in (f"eyJhbGciOiJIUzI1NiJ9.{body}.sig", "sb_secret_abc123"):
        with pytest.raises(BadInput, match="service_role"):
            save_cloud_settings(data_dir, "https://x.supabase.co", key)
    with pytest.raises(BadInput, match="project URL"):
        save_cloud_settings(data_dir, "ftp://nope", "anon")
    assert load_cloud_settings(data_dir).url is None
    saved = save_cloud_settings(data_dir, "https://x.supabase.co/", "sb_publishable_abc")
    assert (saved.url, saved.anon_key) == ("https://x.supabase.co", "sb_publishable_abc")
    assert "sb_publishable_abc" not in repr(saved)


def test_not_signed_in_and_wrong_password_in_status(tmp_path, supabase_server, shared_key):
    seen = []

    async def main():
        a = desk(tmp_path, supabase_server, "a")
        a.add_listener(seen.append)
        try:
            assert await a.restore() is False
            with pytest.raises(CloudAuthError, match="Not signed in"):
                await a.sync_now()
            await a.sign_up("st@example.test", "st-pass-1")
            await a.sign_out()
            with pytest.raises(CloudAuthError, match="Wrong email or password"):
                await a.sign_in("st@example.test", "bad-pass")
            assert a.status.last_error == "Wrong email or password." and not a.status.signed_in
            await a.sign_in("st@example.test", "st-pass-1")
        finally:
            await a.aclose()
        b = CloudSync.from_settings(a.data_dir)  # next start: the stored session is picked up
        try:
            assert await b.restore() is True and b.status.email == "st@example.test"
        finally:
            await b.aclose()

    asyncio.run(main())
    assert any(s.signed_in for s in seen) and any(s.last_error for s in seen)


def test_sync_on_the_qasync_loop(tmp_path, supabase_server, shared_key, qloop):
    a = desk(tmp_path, supabase_server, "a")

    async def main():
        await a.sign_up("qt@example.test", "qt-pass-1")
        with_vault(a.data_dir, lambda v: v.link(5, "Srv", PASSWORD))
        return await a.sync_now()

    try:
        assert qloop.run_until_complete(main()).pushed == 1
    finally:
        qloop.run_until_complete(a.aclose())


def test_vault_sync_state_roundtrip(data_dir, shared_key):
    v = Vault.open(data_dir)
    try:
        v.set_sync_state(1, "S", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.000Z")
        assert v.sync_state() == {(1, "S"): ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.000Z")}
        v.reset_sync_state("user-2")
        assert v.sync_state() == {} and v.sync_owner() == "user-2"
        token = v.credentials.encrypt(PASSWORD)
        v.put_remote(9, "S", token, label="L", investor=True, mode="shared", order=3,
                     created_at="2025-01-01T00:00:00.000Z", updated_at="2025-06-01T00:00:00.000Z")
        assert v.token(9, "S") == token and v.password(9, "S") == PASSWORD
        assert v.get(9, "S").updated_at == "2025-06-01T00:00:00.000Z"  # the remote's time is kept
        with pytest.raises(Exception, match="another key"):
            v.put_remote(10, "S", Fernet(Fernet.generate_key()).encrypt(b"x").decode(), label=None,
                         investor=False, mode="shared", order=0, created_at="2025-01-01T00:00:00.000Z",
                         updated_at="2025-01-01T00:00:00.000Z")
        assert v.get(10, "S") is None
        v.remove_remote(9, "S", "2025-07-01T00:00:00.000Z")
        assert v.get(9, "S") is None and v.tombstones() == [(9, "S", "2025-07-01T00:00:00.000Z")]
    finally:
        v.close()


# ---- [R] 10: conflicts are ordered on the server's clock, not on two desktops' clocks ----------------------
class Clock:
    """A desktop's clock, `hours` off the true time. Inside `ago(s)` it reads s seconds earlier: what is done
    there was done s seconds before (no test waits for time to pass)."""

    def __init__(self, hours: float = 0.0) -> None:
        self.skew, self.back = timedelta(hours=hours), timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skew - self.back

    @contextmanager
    def ago(self, seconds: float):
        self.back = timedelta(seconds=seconds)
        try:
            yield
        finally:
            self.back = timedelta(0)


def change_password(d: CloudSync, login: int, server: str, password: str) -> None:
    v = Vault.open(d.data_dir, clock=d.clock)
    try:
        v.link(login, server, password)
    finally:
        v.close()


def passwords(d: CloudSync) -> dict:
    return {k: v[3] for k, v in accounts(d.data_dir).items()}


@pytest.mark.parametrize("hours", [-3.0, 9.0])
def test_the_newer_password_change_wins_whatever_the_desktops_clocks(tmp_path, supabase_server, shared_key, hours):
    async def main():
        a = desk(tmp_path, supabase_server, "a", clock=Clock())  # a right clock
        b = desk(tmp_path, supabase_server, "b", clock=Clock(hours))  # hours slow (-3) or fast (+9)
        try:
            await a.sign_up(f"clock{hours}@example.test", "clock-pass-1")
            await b.sign_in(f"clock{hours}@example.test", "clock-pass-1")
            with_vault(a.data_dir, lambda v: v.link(1001, "Demo-1", PASSWORD, label="Main", mode="dedicated"))
            await a.sync_now()
            await b.sync_now()
            assert passwords(b) == {(1001, "Demo-1"): PASSWORD}

            # 1. A changes the password a minute ago and syncs; B changes it now: B's change is the newer
            with a.clock.ago(60):
                change_password(a, 1001, "Demo-1", "from-A-older")
            await a.sync_now()
            change_password(b, 1001, "Demo-1", "from-B-newer")
            report = await b.sync_now()
            assert [(c.login, c.winner) for c in report.conflicts] == [(1001, "here")]
            await a.sync_now()
            assert passwords(a) == passwords(b) == {(1001, "Demo-1"): "from-B-newer"}

            # 2. B changes it a minute ago but syncs only after A's change of now: A's change is the newer
            with b.clock.ago(60):
                change_password(b, 1001, "Demo-1", "from-B-older")
            change_password(a, 1001, "Demo-1", "from-A-newer")
            await a.sync_now()
            report = await b.sync_now()
            assert [(c.login, c.winner) for c in report.conflicts] == [(1001, "cloud")]
            await a.sync_now()
            assert passwords(a) == passwords(b) == {(1001, "Demo-1"): "from-A-newer"}
            assert accounts(b.data_dir)[(1001, "Demo-1")][:2] == ("Main", "dedicated")  # the rest came along
            for d in (a, b):  # settled
                r = await d.sync_now()
                assert (r.pushed, r.pulled, r.conflicts) == (0, 0, [])
        finally:
            await a.aclose()
            await b.aclose()

    asyncio.run(main())
