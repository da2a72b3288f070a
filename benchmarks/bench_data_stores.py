"""What the reliability measures of the data stores cost: opening the vault (quick_check on every open,
set-up under the write lock) with N accounts, and how fast the history writer catches up after another
program held history.sqlite3 for a while (rows queued meanwhile, time from the release until all are written).

    .venv/bin/python benchmarks/bench_data_stores.py [--accounts 500] [--rows 50000]

Prints the figures and writes benchmarks/results/data_stores.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def vault_figures(base: Path, n: int) -> dict[str, float]:
    from cryptography.fernet import Fernet

    from multi_user.credentials import MT5CredentialManager
    from multi_user.vault import Vault

    keys = MT5CredentialManager(key=Fernet.generate_key())
    start = time.perf_counter()
    vault = Vault.open(base, keys)
    first = time.perf_counter() - start
    for i in range(1, n + 1):
        vault.link(i, "Bench-Server", f"pw-{i}", label=f"account {i}")
    vault.close()
    opens = []
    for _ in range(20):
        start = time.perf_counter()
        Vault.open(base, keys).close()
        opens.append(time.perf_counter() - start)
    conn = sqlite3.connect(base / "vault.sqlite3")
    start = time.perf_counter()
    conn.execute("PRAGMA quick_check(3)").fetchall()
    check = time.perf_counter() - start
    conn.close()
    return {"accounts": n, "fresh_setup_s": round(first, 4), "open_median_s": round(sorted(opens)[10], 4),
            "quick_check_s": round(check, 4), "vault_bytes": (base / "vault.sqlite3").stat().st_size}


def history_figures(base: Path, rows: int) -> dict[str, float]:
    from app.history import HistoryStore

    state = {"ok": threading.Event(), "failing": threading.Event()}

    def on_state(ev: dict) -> None:
        state["failing" if ev["state"] == "retrying" else "ok"].set()

    path = base / "history.sqlite3"
    store = HistoryStore(path, on_state=on_state, busy_timeout=0.05, retry_first=0.05, retry_max=0.2)
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    store.start()
    for i in range(rows):
        store.add("1@Bench", float(i), 1.0, float(i), "USD")
    state["failing"].wait(30)
    pending = store.health()["pending"]
    start = time.perf_counter()
    blocker.execute("COMMIT")
    blocker.close()
    state["ok"].wait(60)
    store.stop()  # returns once everything queued is written
    caught_up = time.perf_counter() - start
    written = len(store.read("1@Bench", max_points=rows + 1))
    return {"rows_queued_while_held": pending, "catch_up_s": round(caught_up, 3), "rows_written": written,
            "rows_dropped": store.health()["dropped"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--rows", type=int, default=50000)
    args = parser.parse_args()
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    with tempfile.TemporaryDirectory() as tmp:
        figures = {**vault_figures(Path(tmp), args.accounts), **history_figures(Path(tmp), args.rows)}
    for name, value in figures.items():
        print(f"{name:>24}: {value}")
    out = ROOT / "benchmarks" / "results" / "data_stores.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
