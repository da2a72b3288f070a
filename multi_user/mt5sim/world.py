"""The broker world: servers, accounts, positions, orders, deals and faults in one SQLite file.

Every simulated terminal process opens the same ``<world>/world.sqlite3`` (WAL), so an account
looks the same whichever terminal shows it. The demo world is made from a seed, so two worlds made
with the same seed hold the same accounts, passwords and positions.
"""

from __future__ import annotations

import json
import random
import sqlite3
import string
import time
from pathlib import Path
from typing import Any

from multi_user.mt5sim import clock, prices
from multi_user.mt5sim import constants as c

DB_NAME = "world.sqlite3"
INSTALL_DIR = "MetaTrader 5"
EXE_NAME = "terminal64.exe"
MARKER = "mt5sim.json"
DEFAULT_SEED = 20240501
FIRST_TICKET = 50_000_000
HISTORY_DAYS = 90  # the demo accounts' past (sim init --history-days)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS servers (name TEXT PRIMARY KEY, company TEXT NOT NULL, tz TEXT NOT NULL DEFAULT 'utc',
    commission REAL NOT NULL DEFAULT 0, so_call REAL NOT NULL DEFAULT 50, so_so REAL NOT NULL DEFAULT 30);
CREATE TABLE IF NOT EXISTS accounts (
    login INTEGER NOT NULL, server TEXT NOT NULL, password TEXT NOT NULL, investor_password TEXT NOT NULL,
    name TEXT NOT NULL, currency TEXT NOT NULL, balance REAL NOT NULL, credit REAL NOT NULL DEFAULT 0,
    leverage INTEGER NOT NULL, trade_mode INTEGER NOT NULL, margin_mode INTEGER NOT NULL DEFAULT 2,
    PRIMARY KEY (login, server));
CREATE TABLE IF NOT EXISTS positions (
    ticket INTEGER PRIMARY KEY, login INTEGER NOT NULL, server TEXT NOT NULL, symbol TEXT NOT NULL,
    type INTEGER NOT NULL, volume REAL NOT NULL, price_open REAL NOT NULL, sl REAL NOT NULL DEFAULT 0,
    tp REAL NOT NULL DEFAULT 0, time_msc INTEGER NOT NULL, time_update_msc INTEGER NOT NULL,
    magic INTEGER NOT NULL DEFAULT 0, reason INTEGER NOT NULL DEFAULT 0, comment TEXT NOT NULL DEFAULT '',
    swap REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS positions_account ON positions (login, server);
CREATE TABLE IF NOT EXISTS orders (
    ticket INTEGER PRIMARY KEY, login INTEGER NOT NULL, server TEXT NOT NULL, symbol TEXT NOT NULL,
    type INTEGER NOT NULL, state INTEGER NOT NULL, volume_initial REAL NOT NULL, volume_current REAL NOT NULL,
    price_open REAL NOT NULL, sl REAL NOT NULL DEFAULT 0, tp REAL NOT NULL DEFAULT 0,
    price_stoplimit REAL NOT NULL DEFAULT 0, time_setup_msc INTEGER NOT NULL, time_done_msc INTEGER NOT NULL,
    time_expiration INTEGER NOT NULL DEFAULT 0, type_time INTEGER NOT NULL DEFAULT 0,
    type_filling INTEGER NOT NULL DEFAULT 0, magic INTEGER NOT NULL DEFAULT 0,
    position_id INTEGER NOT NULL DEFAULT 0, position_by_id INTEGER NOT NULL DEFAULT 0,
    reason INTEGER NOT NULL DEFAULT 0, comment TEXT NOT NULL DEFAULT '', history INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS orders_account ON orders (login, server, history);
CREATE TABLE IF NOT EXISTS deals (
    ticket INTEGER PRIMARY KEY, login INTEGER NOT NULL, server TEXT NOT NULL, order_ticket INTEGER NOT NULL,
    time_msc INTEGER NOT NULL, type INTEGER NOT NULL, entry INTEGER NOT NULL, magic INTEGER NOT NULL DEFAULT 0,
    position_id INTEGER NOT NULL DEFAULT 0, reason INTEGER NOT NULL DEFAULT 0, volume REAL NOT NULL,
    price REAL NOT NULL, commission REAL NOT NULL DEFAULT 0, swap REAL NOT NULL DEFAULT 0,
    profit REAL NOT NULL DEFAULT 0, fee REAL NOT NULL DEFAULT 0, symbol TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS deals_account ON deals (login, server, time_msc);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, login INTEGER, server TEXT, terminal TEXT,
    symbol TEXT, value REAL, since REAL NOT NULL, until REAL);
CREATE TABLE IF NOT EXISTS terminals (
    folder TEXT PRIMARY KEY, pid INTEGER, login INTEGER, server TEXT, investor INTEGER NOT NULL DEFAULT 0,
    started REAL);
"""

# (name, company, clock zone, commission in USD per lot per side, margin call %, stop out %)
SERVERS = (("SimBroker-Demo", "SimBroker Ltd.", clock.NY_CLOSE, 3.5, 100.0, 50.0),
           ("SimBroker-Live", "SimBroker Ltd.", clock.NY_CLOSE, 3.0, 100.0, 50.0),
           ("Northwind-Server", "Northwind Markets Inc.", clock.UTC, 2.5, 50.0, 30.0))

# (server index, name, currency, balance, leverage, open positions [(symbol, type, volume, hours ago)])
DEMO = (
    (0, "Ada Lovelace", "USD", 10_000.0, 100, [("EURUSD", 0, 0.50, 5), ("XAUUSD", 1, 0.10, 2)]),
    (0, "Ada Lovelace (swing)", "EUR", 25_000.0, 30, [("US500", 0, 2.0, 30)]),
    (0, "Ada Lovelace (scalp)", "USD", 5_000.0, 500, []),
    (1, "Ada Lovelace", "USD", 100_000.0, 100, [("USDJPY", 0, 1.00, 8), ("GBPUSD", 1, 0.30, 1)]),
    (1, "Ada Lovelace (prop)", "USD", 50_000.0, 200, []),
    (1, "Ada Lovelace (EU)", "EUR", 8_000.0, 50, [("EURUSD", 1, 0.20, 3)]),
    (2, "A. Lovelace", "USD", 2_500.0, 500, [("XAUUSD", 0, 0.05, 12)]),
    (2, "A. Lovelace", "EUR", 15_000.0, 100, []),
    (2, "A. Lovelace (hedge)", "USD", 30_000.0, 200, [("US500", 1, 1.0, 4), ("USDCHF", 0, 0.40, 6)]),
    # added last, so the accounts, logins and passwords above stay what they were
    (1, "Ada Lovelace (netting)", "USD", 20_000.0, 100, [("EURUSD", 0, 0.30, 20)]),
)
NETTING = {9}  # DEMO indexes of netting (ACCOUNT_MARGIN_MODE_RETAIL_NETTING) accounts


def connect(world_dir: Path) -> sqlite3.Connection:
    con = sqlite3.connect(world_dir / DB_NAME, timeout=30.0, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA busy_timeout = 30000")
    con.execute("PRAGMA synchronous = NORMAL")
    return con


def is_ready(world_dir: Path) -> bool:
    if not (world_dir / DB_NAME).is_file():
        return False
    try:
        con = connect(world_dir)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'ready'").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return False
    return row is not None


def create(world_dir: Path, seed: int = DEFAULT_SEED, history_days: int = HISTORY_DAYS) -> None:
    """Create the demo world unless it exists. Two processes racing here are serialised by SQLite's
    write lock: the loser finds the world ready and returns."""
    world_dir.mkdir(parents=True, exist_ok=True)
    con = connect(world_dir)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("BEGIN IMMEDIATE")
        try:
            for stmt in SCHEMA.split(";"):
                if stmt.strip():
                    con.execute(stmt)
            _upgrade(con)
            if con.execute("SELECT 1 FROM meta WHERE key = 'ready'").fetchone() is None:
                _fill_demo(con, seed, history_days)
                mark_ready(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    write_install(world_dir)


def _upgrade(con: sqlite3.Connection) -> None:
    """Give a world made by an older simulator the newer columns (added with their defaults)."""
    for table, column, decl in (("servers", "tz", "TEXT NOT NULL DEFAULT 'utc'"),
                                ("servers", "commission", "REAL NOT NULL DEFAULT 0"),
                                ("servers", "so_call", "REAL NOT NULL DEFAULT 50"),
                                ("servers", "so_so", "REAL NOT NULL DEFAULT 30"),
                                ("accounts", "margin_mode", "INTEGER NOT NULL DEFAULT 2")):
        have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


def upgrade(world_dir: Path) -> None:
    con = connect(world_dir)
    try:
        con.execute("BEGIN IMMEDIATE")
        _upgrade(con)
        con.execute("COMMIT")
    finally:
        con.close()


def write_install(world_dir: Path) -> Path:
    """The simulated base install: a marker terminal64.exe and the file naming its world."""
    folder = world_dir / INSTALL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / EXE_NAME
    if not exe.exists():
        _atomic_write(exe, "MT5 Desk simulator: a stand-in for MetaTrader 5's terminal64.exe\n")
    marker = folder / MARKER
    want = json.dumps({"world": str(world_dir.resolve())})
    if not marker.exists() or marker.read_text() != want:
        _atomic_write(marker, want)
    return exe


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{random.randrange(1 << 30)}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _password(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(9)) + rng.choice("#!@%")


def _fill_demo(con: sqlite3.Connection, seed: int, history_days: int) -> None:
    from multi_user.mt5sim import money, past
    from multi_user.mt5sim.trading import Market

    rng = random.Random(seed)
    now = time.time()
    con.execute("INSERT INTO meta VALUES ('seed', ?)", (str(seed),))
    con.execute("INSERT INTO meta VALUES ('created', ?)", (str(now),))
    con.execute("INSERT INTO counters VALUES ('ticket', ?)", (FIRST_TICKET,))
    for name, company, zone, commission, so_call, so_so in SERVERS:
        con.execute("INSERT INTO servers (name, company, tz, commission, so_call, so_so) VALUES (?,?,?,?,?,?)",
                    (name, company, zone, commission, so_call, so_so))
    for i, (srv, name, currency, balance, leverage, positions) in enumerate(DEMO):
        server = SERVERS[srv][0]
        login = 51_000_000 + 1_000_000 * srv + 1013 * (i + 1)
        trade_mode = c.ACCOUNT_TRADE_MODE_REAL if "Live" in server else c.ACCOUNT_TRADE_MODE_DEMO
        mode = c.ACCOUNT_MARGIN_MODE_RETAIL_NETTING if i in NETTING else c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
        con.execute("INSERT INTO accounts (login, server, password, investor_password, name, currency, balance,"
                    " credit, leverage, trade_mode, margin_mode) VALUES (?,?,?,?,?,?,?,0,?,?,?)",
                    (login, server, _password(rng), _password(rng), name, currency, balance, leverage, trade_mode,
                     mode))
        acc = past.Account(i, login, server, currency, balance, SERVERS[srv][3], clock.Clock(SERVERS[srv][2]))
        # the open positions' entry commissions are part of today's balance, so book them first
        opened = []
        for symbol, ptype, volume, hours in positions:
            t = now - hours * 3600
            _, bid, ask = prices.quote(seed, symbol, t)
            fee = money.commission(Market(seed, t, clock=acc.clock), acc, volume)
            opened.append((symbol, ptype, volume, ask if ptype == c.POSITION_TYPE_BUY else bid, t, fee))
        # the past stops before the oldest open position, so no closed trade overlaps it (netting)
        past.fill(con, seed, acc, now, history_days, pending=sum(fee for *_, fee in opened),
                  end=now - max(hours for *_, hours in positions) * 3600 if positions else now)
        for symbol, ptype, volume, price, t, fee in opened:
            open_position(con, login, server, symbol, ptype, volume, price, int(t * 1000), comment="demo",
                          commission=fee)


def next_ticket(con: sqlite3.Connection) -> int:
    """A new ticket; call inside a write transaction."""
    row = con.execute("UPDATE counters SET value = value + 1 WHERE name = 'ticket' RETURNING value").fetchone()
    return int(row[0])


def open_position(con: sqlite3.Connection, login: int, server: str, symbol: str, ptype: int, volume: float,
                  price: float, time_msc: int, *, magic: int = 0, comment: str = "", sl: float = 0.0,
                  tp: float = 0.0, reason: int = c.ORDER_REASON_EXPERT, commission: float = 0.0) -> tuple[int, int]:
    """A filled market order: history order, entry deal (charged ``commission``) and the new position.
    Returns (order, deal)."""
    order = next_ticket(con)
    deal = next_ticket(con)
    add_order(con, order, login, server, symbol, ptype, volume, price, time_msc, magic, order, reason, comment,
              sl=sl, tp=tp)
    add_deal(con, deal, login, server, order, time_msc, ptype, c.DEAL_ENTRY_IN, magic, order, reason, volume,
             price, symbol, comment, commission=commission)
    con.execute("INSERT INTO positions (ticket, login, server, symbol, type, volume, price_open, sl, tp, time_msc,"
                " time_update_msc, magic, reason, comment) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (order, login, server, symbol, ptype, volume, price, sl, tp, time_msc, time_msc, magic, reason,
                 comment))
    return order, deal


def add_order(con: sqlite3.Connection, ticket: int, login: int, server: str, symbol: str, otype: int,
              volume: float, price: float, time_msc: int, magic: int, position_id: int, reason: int, comment: str,
              *, sl: float = 0.0, tp: float = 0.0, position_by: int = 0) -> None:
    """A filled market order in the history."""
    con.execute("INSERT INTO orders (ticket, login, server, symbol, type, state, volume_initial, volume_current,"
                " price_open, sl, tp, time_setup_msc, time_done_msc, type_filling, magic, position_id,"
                " position_by_id, reason, comment, history) VALUES (?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?,?,?,?,1)",
                (ticket, login, server, symbol, otype, c.ORDER_STATE_FILLED, volume, price, sl, tp, time_msc,
                 time_msc, c.ORDER_FILLING_FOK, magic, position_id, position_by, reason, comment))


def add_deal(con: sqlite3.Connection, ticket: int, login: int, server: str, order: int, time_msc: int, dtype: int,
             entry: int, magic: int, position_id: int, reason: int, volume: float, price: float, symbol: str,
             comment: str, *, profit: float = 0.0, commission: float = 0.0, swap: float = 0.0) -> None:
    """A deal; its profit, swap and commission go to the balance at once, as a broker books them."""
    con.execute("INSERT INTO deals (ticket, login, server, order_ticket, time_msc, type, entry, magic, position_id,"
                " reason, volume, price, commission, swap, profit, symbol, comment)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (ticket, login, server, order, time_msc, dtype, entry, magic, position_id, reason, volume, price,
                 commission, swap, profit, symbol, comment))
    if profit or commission or swap:
        con.execute("UPDATE accounts SET balance = round(balance + ?, 2) WHERE login = ? AND server = ?",
                    (profit + commission + swap, login, server))


def balance_operation(con: sqlite3.Connection, login: int, server: str, amount: float, time_msc: int,
                      credit: bool = False, comment: str = "") -> int:
    """A deposit (positive) or withdrawal (negative) of balance, or of credit: a DEAL_TYPE_BALANCE /
    DEAL_TYPE_CREDIT deal. Returns its ticket."""
    ticket = next_ticket(con)
    con.execute("INSERT INTO deals (ticket, login, server, order_ticket, time_msc, type, entry, volume, price,"
                " profit, comment) VALUES (?,?,?,0,?,?,?,0,0,?,?)",
                (ticket, login, server, time_msc, c.DEAL_TYPE_CREDIT if credit else c.DEAL_TYPE_BALANCE,
                 c.DEAL_ENTRY_IN, amount,
                 comment or ("Credit" if credit else "Deposit" if amount > 0 else "Withdrawal")))
    col = "credit" if credit else "balance"
    con.execute(f"UPDATE accounts SET {col} = round({col} + ?, 2) WHERE login = ? AND server = ?",
                (amount, login, server))
    return ticket


def seed_of(con: sqlite3.Connection) -> int:
    return int(con.execute("SELECT value FROM meta WHERE key = 'seed'").fetchone()[0])


def accounts(world_dir: Path) -> list[dict[str, Any]]:
    con = connect(world_dir)
    try:
        rows = con.execute("SELECT a.*, s.company, s.tz, s.commission FROM accounts a"
                           " JOIN servers s ON s.name = a.server"
                           " ORDER BY a.server, a.login").fetchall()
    finally:
        con.close()
    return [dict(r) for r in rows]


def mark_ready(con: sqlite3.Connection) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES ('ready', '1')")
