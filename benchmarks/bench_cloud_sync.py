"""Cloud sync cost over loopback HTTP against the Supabase test server and a throwaway PostgreSQL:
first upload of N accounts from desktop A, first download on desktop B, an idle sync (nothing changed),
and a sync after editing 10% of the accounts. Also the PostgreSQL harness start time.

    .venv/bin/python benchmarks/bench_cloud_sync.py [--accounts 200]

Prints the figures and writes benchmarks/results/cloud_sync.json. Loopback numbers: they measure the
client, the sync engine and the vault, not a real network's latency (each sync is 2-3 requests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


async def run(n: int, base: Path, server) -> dict[str, float]:
    from app.cloud_sync import CloudSync
    from multi_user.vault import Vault

    dirs = [base / "a", base / "b"]
    for d in dirs:
        d.mkdir()
    a, b = (CloudSync(d, server.url, server.anon_key) for d in dirs)
    figures: dict[str, float] = {}
    try:
        await a.sign_up("bench@example.test", "bench-pass-1")
        await b.sign_in("bench@example.test", "bench-pass-1")
        v = Vault.open(dirs[0])
        for i in range(n):
            v.link(10_000 + i, f"Bench-{i % 7}", f"pw-{i}-secret", label=f"acct {i}")
        v.close()
        for name, desk in (("first_upload_s", a), ("first_download_s", b), ("idle_sync_s", a)):
            t0 = time.perf_counter()
            report = await desk.sync_now()
            figures[name] = round(time.perf_counter() - t0, 4)
            if name == "first_download_s":
                assert report.pulled == n, report.summary()
        v = Vault.open(dirs[1])
        for i in range(0, n, 10):
            v.update(10_000 + i, f"Bench-{i % 7}", label=f"edited {i}")
        v.close()
        t0 = time.perf_counter()
        report = await b.sync_now()
        figures["edit_10pct_upload_s"] = round(time.perf_counter() - t0, 4)
        assert report.pushed == len(range(0, n, 10)), report.summary()
    finally:
        await a.aclose()
        await b.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    args = parser.parse_args()
    from cryptography.fernet import Fernet
    from pg_server import PgServer, find_bindir
    from supabase_test_server import SupabaseTestServer

    os.environ["MT5_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL binaries not found (apt-get install postgresql)")
    t0 = time.perf_counter()
    pg = PgServer(bindir).start()
    figures: dict[str, float] = {"pg_start_s": round(time.perf_counter() - t0, 3)}
    server = SupabaseTestServer(pg).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            figures.update(asyncio.run(run(args.accounts, Path(tmp), server)))
    finally:
        server.stop()
        pg.stop()
    result = {"accounts": args.accounts, **figures}
    for k, v in result.items():
        print(f"{k:>22}: {v}")
    out = ROOT / "benchmarks" / "results" / "cloud_sync.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
