"""A small Supabase-compatible HTTP server for tests: the Auth and PostgREST subset MT5 Desk uses.

The real supabase-py client talks to it over loopback HTTP. Every REST request runs in ONE
transaction on a connection as `authenticator`, after `set local role <the JWT's role>` and
`request.jwt.claims` set to the JWT's claims — exactly PostgREST's model — so PostgreSQL's row level
security, grants, constraints and triggers decide the outcome, not this server.

What it covers: /auth/v1 signup, token (grant_type=password and refresh_token, refresh tokens
rotate and are single use), user, logout; HS256 JWTs with sub/role/email/aud/exp/session_id, an
anon key that is a JWT with role anon, expired or forged tokens rejected with 401.
/rest/v1/<table>: GET with select=*|columns, filters eq/neq/gt/gte/lt/lte/is/in, order, limit;
POST (insert; upsert by Prefer resolution=merge-duplicates|ignore-duplicates with on_conflict);
PATCH and DELETE with filters; Prefer return=representation|minimal. Errors in PostgREST's shape
({code, message, details, hint}) with its status mapping for the SQLSTATEs that matter here.

What it does NOT cover: embedded resources, RPC, count headers, ranges, JSON operators, full-text
search, email confirmation, MFA, OAuth, rate limits, JWKS/asymmetric keys, realtime, storage, the
schema cache; no connection pool. Passing these tests says the SQL and the client code are right;
it does not prove PostgREST's or GoTrue's exact edge behaviour (the real-Supabase test does that).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import psycopg
from pg_server import PgServer, act_as
from psycopg import sql

_OPS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class HttpError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message") or body.get("msg"))
        self.status, self.body = status, body


def _pg_error(exc: psycopg.Error, role: str) -> HttpError:
    code = exc.sqlstate or "XX000"
    status = {"42501": 401 if role == "anon" else 403, "23505": 409, "23503": 409, "23514": 400,
              "23502": 400, "42P01": 404, "42703": 400}.get(code, 400 if code.startswith("22") else 500)
    diag = exc.diag
    return HttpError(status, {"code": code, "message": diag.message_primary or str(exc),
                              "details": diag.message_detail, "hint": diag.message_hint})


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


class SupabaseTestServer:
    """Start with `start()`, stop with `stop()`; `url`, `anon_key` and `service_key` as a project has."""

    def __init__(self, pg: PgServer, *, jwt_ttl: int = 3600) -> None:
        self.pg = pg
        self.secret = secrets.token_urlsafe(32)
        self.jwt_ttl = jwt_ttl
        self.anon_key = self._sign({"role": "anon", "iss": "supabase-test"}, ttl=10 * 365 * 86400)
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # token -> (user id, session id)
        self.requests: list[tuple[str, str]] = []  # (method, path) log, for tests
        self.offline = False  # when True every request fails with 503, as a dropped network would
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> SupabaseTestServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = False  # server_close() joins request threads: nothing outlives stop()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="supabase-test-server")
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            assert self._thread is not None
            self._thread.join(10)
            self._httpd = None

    # ---- tokens -------------------------------------------------------------------------------
    def _sign(self, claims: dict[str, Any], ttl: int) -> str:
        now = int(time.time())
        return jwt.encode({**claims, "iat": now, "exp": now + ttl}, self.secret, algorithm="HS256")

    def claims_of(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode(token, self.secret, algorithms=["HS256"], options={"verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise HttpError(401, {"code": "PGRST301", "message": "JWT expired"}) from None
        except jwt.InvalidTokenError:
            raise HttpError(401, {"code": "PGRST301", "message": "JWT invalid"}) from None

    def _user_json(self, uid: str, email: str, created: dt.datetime) -> dict[str, Any]:
        return {"id": uid, "aud": "authenticated", "role": "authenticated", "email": email,
                "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {},
                "created_at": created.isoformat(), "email_confirmed_at": created.isoformat()}

    def _session(self, uid: str, email: str, created: dt.datetime, session_id: str | None = None) -> dict[str, Any]:
        session_id = session_id or str(uuid.uuid4())
        access = self._sign({"sub": uid, "role": "authenticated", "aud": "authenticated", "email": email,
                             "session_id": session_id}, self.jwt_ttl)
        refresh = secrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[refresh] = (uid, session_id)
        return {"access_token": access, "token_type": "bearer", "expires_in": self.jwt_ttl,
                "expires_at": int(time.time()) + self.jwt_ttl, "refresh_token": refresh,
                "user": self._user_json(uid, email, created)}

    @staticmethod
    def _hash(password: str, salt: str) -> str:
        return salt + "$" + hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()

    # ---- auth ---------------------------------------------------------------------------------
    def auth(self, method: str, path: str, query: dict[str, str], body: dict[str, Any],
             bearer: str | None) -> tuple[int, Any]:
        bad_login = HttpError(400, {"code": 400, "error_code": "invalid_credentials",
                                    "msg": "Invalid login credentials"})
        with self.pg.connect() as conn:
            if method == "POST" and path == "signup":
                email, password = str(body.get("email", "")).lower(), str(body.get("password", ""))
                if not email or len(password) < 6:
                    raise HttpError(422, {"code": 422, "error_code": "weak_password",
                                          "msg": "Password should be at least 6 characters."})
                try:
                    uid, created = conn.execute(
                        "insert into auth.users (email, encrypted_password) values (%s, %s) returning id::text, "
                        "created_at", (email, self._hash(password, secrets.token_hex(8)))).fetchone()
                except psycopg.errors.UniqueViolation:
                    raise HttpError(422, {"code": 422, "error_code": "user_already_exists",
                                          "msg": "User already registered"}) from None
                return 200, self._session(uid, email, created)
            if method == "POST" and path == "token" and query.get("grant_type") == "password":
                email = str(body.get("email", "")).lower()
                row = conn.execute("select id::text, encrypted_password, created_at from auth.users where email=%s",
                                   (email,)).fetchone()
                if row is None or not row[1]:
                    raise bad_login
                salt = row[1].split("$", 1)[0]
                if not secrets.compare_digest(self._hash(str(body.get("password", "")), salt), row[1]):
                    raise bad_login
                return 200, self._session(row[0], email, row[2])
            if method == "POST" and path == "token" and query.get("grant_type") == "refresh_token":
                with self._lock:
                    found = self.refresh_tokens.pop(str(body.get("refresh_token", "")), None)
                if found is None:
                    raise HttpError(400, {"code": 400, "error_code": "refresh_token_not_found",
                                          "msg": "Invalid Refresh Token: Refresh Token Not Found"})
                row = conn.execute("select email, created_at from auth.users where id=%s", (found[0],)).fetchone()
                if row is None:
                    raise HttpError(404, {"code": 404, "error_code": "user_not_found", "msg": "User not found"})
                return 200, self._session(found[0], row[0], row[1], found[1])
            claims = self.claims_of(bearer or "")
            if claims.get("role") != "authenticated":
                raise HttpError(401, {"code": 401, "error_code": "no_authorization", "msg": "Not signed in"})
            if method == "GET" and path == "user":
                row = conn.execute("select email, created_at from auth.users where id=%s",
                                   (claims["sub"],)).fetchone()
                if row is None:
                    raise HttpError(404, {"code": 404, "error_code": "user_not_found", "msg": "User not found"})
                return 200, self._user_json(claims["sub"], row[0], row[1])
            if method == "POST" and path == "logout":
                scope = query.get("scope", "global")
                with self._lock:
                    for token, (uid, sid) in list(self.refresh_tokens.items()):
                        mine = sid == claims.get("session_id")
                        if uid == claims["sub"] and (scope == "global" or (scope == "local") == mine):
                            del self.refresh_tokens[token]
                return 204, None
        raise HttpError(404, {"code": 404, "error_code": "not_found", "msg": f"no auth endpoint {path}"})

    # ---- PostgREST subset ---------------------------------------------------------------------
    def rest(self, method: str, table: str, query: list[tuple[str, str]], body: Any, bearer: str | None,
             prefer: str) -> tuple[int, Any]:
        claims = self.claims_of(bearer or "")
        role = claims.get("role", "anon")
        if not _IDENT.match(table):
            raise HttpError(404, {"code": "42P01", "message": f"relation {table!r} does not exist"})
        prefs = {p.strip() for p in prefer.split(",") if p.strip()}
        wants_rows = method == "GET" or "return=representation" in prefs
        where: list[sql.Composable] = []
        params: list[Any] = []
        columns: sql.Composable = sql.SQL("*")
        order: sql.Composable = sql.SQL("")
        limit: sql.Composable = sql.SQL("")
        on_conflict: list[str] = []
        for key, value in query:
            if key == "select":
                if value.strip() != "*":
                    columns = sql.SQL(", ").join(sql.Identifier(self._col(c)) for c in value.split(","))
            elif key == "order":
                parts = []
                for item in value.split(","):
                    name, _, direction = item.partition(".")
                    word = "DESC" if direction.startswith("desc") else "ASC"
                    parts.append(sql.SQL("{} " + word).format(sql.Identifier(self._col(name))))
                order = sql.SQL(" ORDER BY ") + sql.SQL(", ").join(parts)
            elif key == "limit":
                limit = sql.SQL(" LIMIT {}").format(sql.Literal(int(value)))
            elif key == "on_conflict":
                on_conflict = [self._col(c) for c in value.split(",")]
            elif key != "columns":
                where.append(self._filter(key, value, params))
        where_sql = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL("")
        ident = sql.Identifier("public", table)
        returning = sql.SQL(" RETURNING ") + columns if wants_rows else sql.SQL("")
        if method == "GET":
            stmt = sql.SQL("SELECT {} FROM {}").format(columns, ident) + where_sql + order + limit
        elif method == "DELETE":
            stmt = sql.SQL("DELETE FROM {}").format(ident) + where_sql + returning
        elif method == "PATCH":
            if not isinstance(body, dict) or not body:
                raise HttpError(400, {"code": "PGRST102", "message": "Empty or invalid json"})
            sets = sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(self._col(k)), sql.Placeholder())
                                      for k in body)
            params = [*body.values(), *params]
            stmt = sql.SQL("UPDATE {} SET ").format(ident) + sets + where_sql + returning
        elif method == "POST":
            rows = body if isinstance(body, list) else [body]
            if not rows or not all(isinstance(r, dict) for r in rows):
                raise HttpError(400, {"code": "PGRST102", "message": "Empty or invalid json"})
            keys = list(rows[0])
            if any(list(r) != keys for r in rows):
                raise HttpError(400, {"code": "PGRST102", "message": "All object keys must match"})
            cols = [sql.Identifier(self._col(k)) for k in keys]
            values = sql.SQL(", ").join(sql.SQL("(") + sql.SQL(", ").join(sql.Placeholder() * len(keys)) + sql.SQL(")")
                                        for _ in rows)
            params = [_adapt(r[k]) for r in rows for k in keys]
            stmt = sql.SQL("INSERT INTO {} ({}) VALUES ").format(ident, sql.SQL(", ").join(cols)) + values
            if "resolution=merge-duplicates" in prefs or "resolution=ignore-duplicates" in prefs:
                target = sql.SQL(", ").join(sql.Identifier(c) for c in on_conflict) if on_conflict else None
                if target is None:
                    raise HttpError(400, {"code": "PGRST100", "message": "on_conflict is required here"})
                if "resolution=ignore-duplicates" in prefs:
                    stmt += sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(target)
                else:
                    updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(c) for c in cols)
                    stmt += sql.SQL(" ON CONFLICT ({}) DO UPDATE SET ").format(target) + updates
            stmt += returning
        else:
            raise HttpError(405, {"code": "PGRST117", "message": f"unsupported method {method}"})
        with self.pg.connect("authenticator") as conn:
            conn.execute("set timezone = 'UTC'")
            try:
                with conn.transaction():
                    act_as(conn, claims)
                    cur = conn.execute(stmt, params)
                    rows_out = cur.fetchall() if cur.description else []
                    names = [d.name for d in cur.description or []]
            except psycopg.Error as exc:
                raise _pg_error(exc, role) from None
        result = [dict(zip(names, r, strict=True)) for r in rows_out]
        status = {"POST": 201, "GET": 200}.get(method, 200 if wants_rows else 204)
        if method == "POST" and not wants_rows:
            return 201, None
        return status, (result if wants_rows else None)

    def _col(self, name: str) -> str:
        name = name.strip()
        if not _IDENT.match(name):
            raise HttpError(400, {"code": "PGRST100", "message": f"bad column name {name!r}"})
        return name

    def _filter(self, key: str, value: str, params: list[Any]) -> sql.Composable:
        col = sql.Identifier(self._col(key))
        negate = value.startswith("not.")
        if negate:
            value = value[4:]
        op, _, arg = value.partition(".")
        if op in _OPS:
            params.append(arg)
            expr = sql.SQL("{} " + _OPS[op] + " {}").format(col, sql.Placeholder())
        elif op == "is" and arg in ("null", "true", "false"):
            expr = sql.SQL("{} IS " + arg.upper()).format(col)
        elif op == "in" and arg.startswith("(") and arg.endswith(")"):
            items = [i.strip().strip('"') for i in arg[1:-1].split(",") if i.strip()]
            params.append(items)
            expr = sql.SQL("{}::text = ANY({})").format(col, sql.Placeholder())
        else:
            raise HttpError(400, {"code": "PGRST100", "message": f"unsupported filter {key}={value}"})
        return sql.SQL("NOT ({})").format(expr) if negate else expr


def _adapt(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


class _Handler(BaseHTTPRequestHandler):
    owner: SupabaseTestServer
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive thread outlives stop()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.owner.requests.append((method, parts.path))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            if self.owner.offline:
                raise HttpError(503, {"code": "503", "message": "Service unavailable (test server is offline)"})
            body = json.loads(raw) if raw else {}
            auth = self.headers.get("Authorization", "")
            bearer = auth[7:] if auth.lower().startswith("bearer ") else None
            if not self.headers.get("apikey"):
                raise HttpError(401, {"message": "No API key found in request"})
            if parts.path.startswith("/auth/v1/"):
                status, payload = self.owner.auth(method, parts.path[len("/auth/v1/"):],
                                                  dict(parse_qsl(parts.query)), body, bearer)
            elif parts.path.startswith("/rest/v1/"):
                status, payload = self.owner.rest(method, parts.path[len("/rest/v1/"):],
                                                  parse_qsl(parts.query, keep_blank_values=True), body,
                                                  bearer or self.headers.get("apikey"),
                                                  self.headers.get("Prefer", ""))
            else:
                raise HttpError(404, {"message": "not found"})
        except HttpError as exc:
            status, payload = exc.status, exc.body
        except (ValueError, json.JSONDecodeError) as exc:
            status, payload = 400, {"code": "PGRST102", "message": f"bad request: {exc}"}
        data = b"" if payload is None else json.dumps(payload, default=_json_default).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")
