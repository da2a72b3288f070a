"""A throwaway PostgreSQL (Debian's binaries) on a loopback port, for the Supabase/RLS tests.

It starts once per test session in a temp folder (fsync off: the data is thrown away), loads
`supabase_bootstrap.sql` (Supabase's roles and `auth` schema) and then the app's schema file.
PostgreSQL refuses to run as root, so as root it runs as the `postgres` user via runuser.
Its processes are started without the test run's leak marker: the server is meant to outlive
single tests, and its per-connection backends come and go on their own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP_SQL = Path(__file__).with_name("supabase_bootstrap.sql")
SCHEMA_SQL = ROOT / "multi_user" / "supabase_multi_user_schema.sql"


def find_bindir() -> Path | None:
    env = os.environ.get("PG_BINDIR")
    candidates = [Path(env)] if env else []
    base = Path("/usr/lib/postgresql")
    if base.is_dir():
        candidates += sorted((p / "bin" for p in base.iterdir()), reverse=True)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    which = shutil.which("initdb")
    return Path(which).parent if which and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="mt5desk-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.started = False
        self._as_root = os.geteuid() == 0
        # the leak marker is left out on purpose (see the module docstring)
        self._env = {k: v for k, v in os.environ.items() if k != "MT5DESK_TEST_RUN"}
        self._env["MT5DESK_TEST_PG"] = "1"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, env=self._env, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def start(self) -> PgServer:
        if self._as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                  "-o", opts, "start")
        self.started = True
        with self.connect() as conn:
            conn.execute(BOOTSTRAP_SQL.read_text())
            conn.execute(SCHEMA_SQL.read_text())
        return self

    def dsn(self, user: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} dbname=postgres user={user}"

    def connect(self, user: str = "postgres"):
        import psycopg

        return psycopg.connect(self.dsn(user), autocommit=True)

    def stop(self) -> None:
        if self.started:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            finally:
                self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


def act_as(conn, claims: dict | None) -> None:
    """Inside an open transaction: become the JWT's role with its claims, as PostgREST does per request."""
    import json

    role = (claims or {}).get("role") or "anon"
    if role not in ("anon", "authenticated", "service_role"):
        role = "anon"
    conn.execute(f'set local role "{role}"')
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims or {"role": "anon"}),))
