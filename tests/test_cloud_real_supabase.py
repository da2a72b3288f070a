"""The same client path against a real Supabase project — runs only when it is configured:

    SUPABASE_URL, SUPABASE_ANON_KEY          the project (anon key only; never the service key)
    MT5DESK_TEST_EMAIL, MT5DESK_TEST_PASSWORD an existing, confirmed test user of that project
    MT5DESK_TEST_EMAIL2, MT5DESK_TEST_PASSWORD2 (optional) a second user, for the isolation check

The project must have multi_user/supabase_multi_user_schema.sql applied. The test only touches rows
with logins in a random high range and removes them at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest
from cryptography.fernet import Fernet

from app.cloud_sync import CloudSync
from multi_user.vault import Vault

NEEDED = ("SUPABASE_URL", "SUPABASE_ANON_KEY", "MT5DESK_TEST_EMAIL", "MT5DESK_TEST_PASSWORD")
pytestmark = pytest.mark.skipif(not all(os.environ.get(v) for v in NEEDED),
                                reason="real Supabase not configured (" + ", ".join(NEEDED) + ")")


def test_two_desktops_converge_on_real_supabase(tmp_path, monkeypatch):
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", Fernet.generate_key().decode())
    url, key = os.environ["SUPABASE_URL"], os.environ["SUPABASE_ANON_KEY"]
    email, password = os.environ["MT5DESK_TEST_EMAIL"], os.environ["MT5DESK_TEST_PASSWORD"]
    login = 900_000_000 + secrets.randbelow(90_000_000)
    server = f"MT5Desk-Test-{secrets.token_hex(3)}"

    async def main():
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        a = CloudSync(tmp_path / "a", url, key)
        b = CloudSync(tmp_path / "b", url, key)
        try:
            await a.sign_in(email, password)
            await b.sign_in(email, password)
            v = Vault.open(a.data_dir)
            v.link(login, server, "Real-pass-1", label="real test")
            v.close()
            await a.sync_now()
            await b.sync_now()
            v = Vault.open(b.data_dir)
            assert v.password(login, server) == "Real-pass-1"
            v.unlink(login, server)
            v.close()
            await b.sync_now()
            assert (await a.sync_now()).removed_here == 1
            if os.environ.get("MT5DESK_TEST_EMAIL2"):
                (tmp_path / "c").mkdir()
                c = CloudSync(tmp_path / "c", url, key)
                try:
                    await c.sign_in(os.environ["MT5DESK_TEST_EMAIL2"], os.environ["MT5DESK_TEST_PASSWORD2"])
                    assert all(r.server != server for r in await c._store.fetch_rows())
                finally:
                    await c.aclose()
        finally:
            try:
                await a._store.delete_row(login, server)
            finally:
                await a.aclose()
                await b.aclose()

    asyncio.run(main())
