"""Row level security of user_mt5_credentials on a real PostgreSQL, with Supabase's roles and auth.uid().

Each statement runs the way PostgREST runs a request: in one transaction, `set local role` to the
JWT's role and `request.jwt.claims` set, so PostgreSQL itself decides what each user reaches.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import psycopg
import pytest
from pg_server import SCHEMA_SQL, act_as
from psycopg import errors

pytestmark = pytest.mark.postgres
TOKEN = "gAAAAABfake-fernet-token"


def claims(uid: str) -> dict:
    return {"sub": uid, "role": "authenticated", "aud": "authenticated"}


@contextmanager
def as_user(pg, uid: str | None):
    """A transaction as `uid` (authenticated) or as anon (None) over the login role PostgREST uses."""
    with pg.connect("authenticator") as conn, conn.transaction():
        act_as(conn, claims(uid) if uid else None)
        yield conn


def insert_row(pg, uid: str, login: int = 1001, server: str = "Demo-Server") -> str:
    with as_user(pg, uid) as c:
        return c.execute("insert into user_mt5_credentials (login, server, password_encrypted) values (%s,%s,%s) "
                         "returning id::text", (login, server, TOKEN)).fetchone()[0]


@pytest.fixture
def two_users(make_user):
    (a, _), (b, _) = make_user(), make_user()
    return a, b


def test_owner_reads_writes_own_rows_and_user_id_defaults_to_auth_uid(pg, two_users):
    a, _ = two_users
    rid = insert_row(pg, a)
    with as_user(pg, a) as c:
        row = c.execute("select user_id::text, login, server, password_encrypted from user_mt5_credentials "
                        "where id=%s", (rid,)).fetchone()
        assert row == (a, 1001, "Demo-Server", TOKEN)
        assert c.execute("update user_mt5_credentials set label='mine' where id=%s", (rid,)).rowcount == 1
    with as_user(pg, a) as c:
        assert c.execute("delete from user_mt5_credentials where id=%s", (rid,)).rowcount == 1


def test_other_user_cannot_read_update_or_delete(pg, two_users):
    a, b = two_users
    rid = insert_row(pg, a)
    with as_user(pg, b) as c:
        assert c.execute("select count(*) from user_mt5_credentials where user_id=%s", (a,)).fetchone()[0] == 0
        assert c.execute("update user_mt5_credentials set label='stolen' where id=%s", (rid,)).rowcount == 0
        assert c.execute("delete from user_mt5_credentials where id=%s", (rid,)).rowcount == 0
    with pg.connect() as c:  # still intact, seen by the superuser
        assert c.execute("select label from user_mt5_credentials where id=%s", (rid,)).fetchone() == (None,)


def test_cannot_insert_as_another_user(pg, two_users):
    a, b = two_users
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"), as_user(pg, b) as c:
        c.execute("insert into user_mt5_credentials (user_id, login, server, password_encrypted) "
                  "values (%s, 5, 'S', %s)", (a, TOKEN))


def test_row_cannot_be_moved_to_another_owner(pg, two_users):
    a, b = two_users
    rid = insert_row(pg, a)
    with pytest.raises(errors.InsufficientPrivilege), as_user(pg, a) as c:
        c.execute("update user_mt5_credentials set user_id=%s where id=%s", (b, rid))
    with pg.connect() as c:
        assert c.execute("select user_id::text from user_mt5_credentials where id=%s", (rid,)).fetchone() == (a,)


def test_anon_gets_nothing(pg, two_users):
    a, _ = two_users
    insert_row(pg, a)
    for sql in ("select * from user_mt5_credentials",
                "insert into user_mt5_credentials (login, server, password_encrypted) values (1, 'S', 'x')",
                "update user_mt5_credentials set label='x'",
                "delete from user_mt5_credentials"):
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied"), as_user(pg, None) as c:
            c.execute(sql)


def test_service_role_and_authenticator_grants(pg):
    with pg.connect() as c:
        grants = dict(c.execute(
            "select grantee, string_agg(privilege_type, ',' order by privilege_type) "
            "from information_schema.role_table_grants where table_name='user_mt5_credentials' "
            "and grantee in ('anon','authenticated') group by grantee").fetchall())
    assert "anon" not in grants
    assert grants["authenticated"] == "DELETE,INSERT,SELECT,UPDATE"


def test_constraints_reject_bad_rows(pg, two_users):
    a, _ = two_users
    for login, server in ((0, "S"), (-4, "S"), (7, ""), (7, "x" * 129)):
        with pytest.raises(errors.CheckViolation):
            insert_row(pg, a, login, server)
    insert_row(pg, a, 7, "x" * 128)
    with pytest.raises(errors.UniqueViolation):
        insert_row(pg, a, 7, "x" * 128)


def test_same_account_may_belong_to_two_users(pg, two_users):
    a, b = two_users
    insert_row(pg, a, 42, "Shared-Broker")
    insert_row(pg, b, 42, "Shared-Broker")
    with as_user(pg, b) as c:
        assert c.execute("select count(*) from user_mt5_credentials").fetchone()[0] == 1


def test_updated_at_trigger_and_tombstone_wipes_token(pg, two_users):
    a, _ = two_users
    rid = insert_row(pg, a)
    with as_user(pg, a) as c:
        before = c.execute("select updated_at from user_mt5_credentials where id=%s", (rid,)).fetchone()[0]
        # a client clock far in the past cannot move updated_at backwards
        c.execute("update user_mt5_credentials set label='x', updated_at='2001-01-01' where id=%s", (rid,))
        after = c.execute("select updated_at from user_mt5_credentials where id=%s", (rid,)).fetchone()[0]
        assert after > before
        c.execute("update user_mt5_credentials set deleted_at=now() where id=%s", (rid,))
        tomb = c.execute("select password_encrypted, deleted_at is not null from user_mt5_credentials "
                         "where id=%s", (rid,)).fetchone()
    assert tomb == (None, True)


def test_deleting_the_auth_user_cascades(pg, make_user):
    a, _ = make_user()
    insert_row(pg, a)
    with pg.connect() as c:
        c.execute("delete from auth.users where id=%s", (a,))
        assert c.execute("select count(*) from user_mt5_credentials where user_id=%s", (a,)).fetchone()[0] == 0


def test_schema_is_rerunnable_and_policies_use_select_auth_uid(pg):
    with pg.connect() as c:
        c.execute(SCHEMA_SQL.read_text())
        c.execute(SCHEMA_SQL.read_text())
        policies = c.execute("select cmd, roles::text, coalesce(qual, '') || coalesce(with_check, '') "
                             "from pg_policies where tablename='user_mt5_credentials' order by cmd").fetchall()
        rls = c.execute("select relrowsecurity from pg_class where relname='user_mt5_credentials'").fetchone()[0]
    assert rls is True
    assert [p[0] for p in policies] == ["DELETE", "INSERT", "SELECT", "UPDATE"]
    for _cmd, roles, expr in policies:
        assert roles == "{authenticated}"
        assert "SELECT auth.uid()" in expr


def test_authenticator_alone_cannot_read(pg):
    with pytest.raises(psycopg.errors.InsufficientPrivilege), pg.connect("authenticator") as c:
        c.execute("select * from user_mt5_credentials")


def test_updated_at_is_the_servers_clock_and_changed_at_never_after_it(pg, two_users):
    """[R] 10: no client clock sets updated_at; changed_at (a change's time on the server's clock) is kept,
    but never later than updated_at, and a write that gives none was made when stored."""
    a, _ = two_users
    with as_user(pg, a) as c:
        now = c.execute("select now()").fetchone()[0]  # one transaction: now() is fixed
        rid, updated, changed = c.execute(
            "insert into user_mt5_credentials (login, server, password_encrypted, updated_at, changed_at) "
            "values (5, 'S', %s, now() + interval '50 seconds', now() + interval '1 hour') "
            "returning id::text, updated_at, changed_at", (TOKEN,)).fetchone()
        assert updated == now and changed == now
        earlier = now - dt.timedelta(minutes=5)
        updated2, changed2 = c.execute("update user_mt5_credentials set label='a', changed_at=%s, "
                                       "updated_at=now() + interval '30 seconds' where id=%s "
                                       "returning updated_at, changed_at", (earlier, rid)).fetchone()
        assert updated2 == updated + dt.timedelta(milliseconds=1) and changed2 == earlier
        updated3, changed3 = c.execute("update user_mt5_credentials set label='b' where id=%s "
                                       "returning updated_at, changed_at", (rid,)).fetchone()
        assert updated3 > updated2 and changed3 == updated3  # the dashboard's edit: made when stored
