"""A deals-store writer for the kill -9 test: saves fetch after fetch of made-up deals, printing
``committed N`` (N deals stored) after each commit, until it is killed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.deals_store import DealsStore


def main(path: str) -> None:
    store = DealsStore(Path(path))
    n = 0
    while True:
        deals = [{"ticket": n + i + 1, "order": n + i + 1, "time": 1.7e9 + n + i,
                  "time_msc": int((1.7e9 + n + i) * 1000),
                  "type": i % 2, "entry": i % 2, "magic": 0, "position_id": (n + i) // 2 + 1, "reason": 0,
                  "volume": 0.1, "price": 1.1, "commission": -0.35, "swap": 0.0, "profit": 1.0, "fee": 0.0,
                  "symbol": "EURUSD", "comment": "", "external_id": ""} for i in range(500)]
        store.save({"login": 1, "server": "S", "currency": "USD", "offset": 7200, "fetched_at": 1.7e9,
                    "since": None if n == 0 else 1.0, "deals": deals, "orders": []})
        n += len(deals)
        print(f"committed {n}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
