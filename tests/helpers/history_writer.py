"""A history writer for the kill -9 test: adds snapshots through HistoryStore, flushing every 2,000 and
printing ``flushed N`` after each flush, until it is killed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.history import HistoryStore


def main(path: str) -> None:
    n = 0
    while True:
        store = HistoryStore(Path(path))
        store.start()
        for _ in range(2000):
            store.add("1@S", 1.7e9 + n, 1000.0, 1000.0 - (n % 97), "USD")
            n += 1
        store.stop()
        print(f"flushed {n}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
