"""The documented MetaTrader5 examples (tests/examples/mt5_docs_example.py) run unchanged on the simulator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = Path(__file__).parent / "examples" / "mt5_docs_example.py"
# stands in for the real package the way an installed MetaTrader5 would: under its own name
BOOT = ("import runpy, sys, multi_user.mt5sim as sim; sys.modules['MetaTrader5'] = sim; "
        "runpy.run_path(sys.argv[1], run_name='__main__')")


def test_docs_example_runs_on_the_simulator(sim_world: Path, demo_accounts: list[dict]) -> None:
    usd = [a for a in demo_accounts if a["currency"] == "USD"]
    two = [usd[0], next(a for a in usd if a["server"] != usd[0]["server"])]
    creds = json.dumps([{k: a[k] for k in ("login", "password", "server")} for a in two])
    # the example's bare initialize() expects an installed terminal with a saved account, as a trader's is;
    # a terminal that never logged in fails it with -10005, as the real one does ([W] 2)
    import multi_user.mt5sim as sim

    assert sim.initialize(login=two[0]["login"], password=two[0]["password"], server=two[0]["server"]), \
        sim.last_error()
    sim.shutdown()
    out = subprocess.run([sys.executable, "-c", BOOT, str(EXAMPLE)], input=creds + "\n", capture_output=True,
                         text=True, timeout=120, cwd=str(ROOT))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "MetaTrader5 package version:  5.0.6231" in text
    for a in two:
        assert f"connected to account #{a['login']}" in text
        assert f"  login={a['login']}" in text and f"  server={a['server']}" in text
    assert "failed" not in text
    assert "2. order_send done" in text and re.search(r"4\. position #\d+ closed", text)
    assert re.search(r"Deals with position id #\d+: 2", text)
    assert re.search(r'history_deals_get\(.*group="\*USD\*"\)=\d+', text)
    equity = [float(m) for m in re.findall(r"  equity=([\d.]+)", text)]
    assert len(equity) == 2 and all(e > 0 for e in equity)
