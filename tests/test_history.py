"""Equity history: batched writes, reads, latest values, downsampling, the status file."""

from __future__ import annotations

import json
import time
from pathlib import Path

from app.history import DAY, HistoryStore


def test_writes_are_batched_and_read_back(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3", tmp_path / "status.json")
    store.start()
    for i in range(500):
        store.add("1@S", 1000.0 + i, 100.0, 100.0 + i, "USD")
    store.add("2@S", 1200.0, 50.0, 51.0, "EUR")
    store.write_status({"pid": 1, "holder": "1@S"})
    store.stop()  # flushes
    rows = store.read("1@S")
    assert len(rows) == 500 and rows[0] == (1000.0, 100.0, 100.0) and rows[-1] == (1499.0, 100.0, 599.0)
    assert store.read("1@S", since=1490.0)[0][0] == 1490.0
    thinned = store.read("1@S", max_points=50)
    assert len(thinned) == 50 and thinned[-1][0] == 1499.0
    latest = store.latest()
    assert latest["1@S"]["equity"] == 599.0 and latest["2@S"]["currency"] == "EUR"
    assert json.loads((tmp_path / "status.json").read_text())["holder"] == "1@S"


def test_compact_downsamples_old_data_only(tmp_path: Path) -> None:
    now = time.time()
    store = HistoryStore(tmp_path / "h.sqlite3")
    store.start()
    for i in range(600):  # ten minutes at 1 s, three days ago
        store.add("1@S", now - 3 * DAY + i, 1.0, float(i), "USD")
    for i in range(120):  # two minutes at 1 s, just now
        store.add("1@S", now - 200 + i, 1.0, float(i), "USD")
    for i in range(1800):  # half an hour at 1 s, thirty days ago
        store.add("1@S", now - 30 * DAY + i, 1.0, float(i), "USD")
    store.stop()
    removed = store.compact(now)
    rows = store.read("1@S")
    recent = [r for r in rows if r[0] > now - DAY]
    week = [r for r in rows if now - 7 * DAY <= r[0] <= now - DAY]
    old = [r for r in rows if r[0] < now - 7 * DAY]
    assert len(recent) == 120  # full resolution kept
    assert 10 <= len(week) <= 11  # one per minute
    assert 2 <= len(old) <= 3  # one per fifteen minutes
    assert removed == 600 + 1800 - len(week) - len(old)
