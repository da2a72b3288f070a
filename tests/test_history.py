"""Equity history: batched writes, reads, latest values, downsampling, the status file."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# ---- [R] 8: a transient database error must not end the writer ------------------------------------
class Recorder:
    """Collects `history` events from the writer thread; tests wait on it, never sleep."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.cond = threading.Condition()

    def __call__(self, ev: dict) -> None:
        with self.cond:
            self.events.append(ev)
            self.cond.notify_all()

    def wait(self, pred, timeout: float = 20.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: pred(self.events), timeout=timeout), self.events


def _locked(path: Path) -> sqlite3.Connection:
    """Another program holding the database: an EXCLUSIVE transaction on its own connection (it waits, as
    a program would, for a write of the store's that is under way: without that, taking the lock raced it)."""
    blocker = sqlite3.connect(path, isolation_level=None, timeout=10)
    blocker.execute("BEGIN EXCLUSIVE")
    return blocker


def retries(events: list[dict]) -> int:
    return sum(1 for e in events if e["state"] == "retrying")


def test_writer_survives_a_locked_database_and_loses_nothing(tmp_path: Path) -> None:
    rec = Recorder()
    store = HistoryStore(tmp_path / "h.sqlite3", tmp_path / "status.json", on_state=rec, busy_timeout=0.05,
                         retry_first=0.01, retry_max=0.05)
    blocker = _locked(tmp_path / "h.sqlite3")
    store.start()
    try:
        for i in range(100):
            store.add("1@S", 1000.0 + i, 1.0, float(i), "USD")
        with rec.cond:
            before = retries(rec.events)
        store.write_status({"holder": "1@S"})
        # the writer writes the status at the start of its next round: a round under way may report first
        rec.wait(lambda evs: retries(evs) >= before + 2)
        failing = next(e for e in rec.events if e["state"] == "retrying")
        assert failing["event"] == "history" and "locked" in failing["error"] and failing["dropped"] == 0
        assert store.alive
        assert json.loads((tmp_path / "status.json").read_text())["holder"] == "1@S"  # status.json stays fresh
        with rec.cond:
            before = retries(rec.events)
        for i in range(100, 150):  # more snapshots while the file is held
            store.add("1@S", 1000.0 + i, 1.0, float(i), "USD")
        rec.wait(lambda evs: retries(evs) >= before + 1)
        assert store.alive
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    rec.wait(lambda evs: evs[-1]["state"] == "ok")
    store.stop()
    rows = store.read("1@S")
    assert [r[0] for r in rows] == [1000.0 + i for i in range(150)]
    assert store.health()["state"] == "ok" and store.health()["dropped"] == 0


def test_full_queue_drops_the_oldest_rows_and_counts_them(tmp_path: Path) -> None:
    rec = Recorder()
    store = HistoryStore(tmp_path / "h.sqlite3", on_state=rec, max_pending=10, busy_timeout=0.05,
                         retry_first=0.01, retry_max=0.05)
    blocker = _locked(tmp_path / "h.sqlite3")
    store.start()
    try:
        for i in range(25):
            store.add("1@S", float(i), 1.0, float(i), "USD")
        rec.wait(lambda evs: any(e["state"] == "retrying" and e["dropped"] == 15 for e in evs))
        assert "15 oldest snapshot(s) were dropped" in rec.events[-1]["message"]
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    rec.wait(lambda evs: evs[-1]["state"] == "ok")
    store.stop()
    kept = [r[0] for r in store.read("1@S")]
    assert kept[-10:] == [float(i) for i in range(15, 25)]  # the newest are never the ones dropped
    assert len(kept) + store.health()["dropped"] == 25  # every row is either stored or counted as dropped


def test_compaction_skips_a_held_database_instead_of_failing_the_start(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3", busy_timeout=0.05)
    blocker = _locked(tmp_path / "h.sqlite3")
    try:
        assert store.compact() == 0
        assert store.latest() == {}  # reads go on beside the holder (WAL)
    finally:
        blocker.execute("COMMIT")
        blocker.close()


def test_stop_while_the_database_is_held_ends_the_thread(tmp_path: Path) -> None:
    rec = Recorder()
    store = HistoryStore(tmp_path / "h.sqlite3", on_state=rec, busy_timeout=0.05, retry_first=60, retry_max=60)
    blocker = _locked(tmp_path / "h.sqlite3")
    try:
        store.start()
        store.add("1@S", 1.0, 1.0, 1.0, "USD")
        rec.wait(lambda evs: any(e["state"] == "retrying" for e in evs))
        store.stop()  # cuts the 60 s pause short, tries once more, gives up
        assert not store.alive and store.health()["pending"] == 1
    finally:
        blocker.execute("COMMIT")
        blocker.close()


# ---- the class of defect: whatever the database does meanwhile, no row is lost unaccounted ------------------
history_op = st.one_of(st.integers(1, 25), st.just("hold"), st.just("release"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(history_op, max_size=30))
def test_rows_are_written_once_or_counted_as_dropped(tmp_path_factory, ops) -> None:
    path = tmp_path_factory.mktemp("h") / "h.sqlite3"
    store = HistoryStore(path, max_pending=20, busy_timeout=0.01, retry_first=0.001, retry_max=0.01)
    blocker: sqlite3.Connection | None = None
    added = 0
    store.start()
    try:
        for op in ops:
            if op == "hold" and blocker is None:
                blocker = _locked(path)
            elif op == "release" and blocker is not None:
                blocker.execute("COMMIT")
                blocker.close()
                blocker = None
            elif isinstance(op, int):
                for _ in range(op):
                    store.add("1@S", float(added), 1.0, 1.0, "USD")
                    added += 1
            assert store.alive
    finally:
        if blocker is not None:
            blocker.execute("COMMIT")
            blocker.close()
        store.stop()
    written = [int(r[0]) for r in store.read("1@S", max_points=10**6)]
    assert written == sorted(set(written))  # each row at most once, in order
    assert len(written) + store.health()["dropped"] == added  # the rest is counted as dropped
    assert written[-20:] == list(range(max(0, added - 20), added))  # the newest are never the ones dropped


# ---- [P] 4: the writer's long-lived connection keeps a small page cache ------------------------------
def test_the_writers_page_cache_is_small(tmp_path: Path, monkeypatch) -> None:
    """SQLite's default cache (2 MB) filled as the tables grew: the window's RSS grew by it in 10 minutes."""
    seen: list[int] = []

    class Spy(sqlite3.Connection):
        def executemany(self, sql, rows):  # the writer's INSERT: its cache as set then
            seen.append(self.execute("PRAGMA cache_size").fetchone()[0])
            return super().executemany(sql, rows)

    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real(*a, factory=Spy, **k))
    store = HistoryStore(tmp_path / "h.sqlite3")
    store.start()
    for i in range(50):
        store.add("1@S", 1000.0 + i, 100.0, 100.0 + i, "USD")
    store.stop()  # flushes
    assert len(store.read("1@S")) == 50
    assert seen and all(-1024 <= size < 0 for size in seen), seen  # KiB, at most 1 MiB (default: -2000)
