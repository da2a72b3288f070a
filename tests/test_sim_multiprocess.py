"""Two terminals with two accounts live at once, driven by two client processes, over one broker world."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from multi_user.mt5sim import control

ROOT = Path(__file__).resolve().parent.parent

CLIENT = """
import json, sys, time, multi_user.mt5sim as mt5
exe, login, server = sys.argv[1], int(sys.argv[2]), sys.argv[3]
password = sys.stdin.readline().strip()
ok = mt5.initialize(exe, portable=True, login=login, password=password, server=server, timeout=30000)
assert ok, mt5.last_error()
print(json.dumps({"ready": mt5.terminal_info().path}), flush=True)
sys.stdin.readline()  # both clients are up: now poll side by side
seen, equities = set(), []
for _ in range(40):
    info = mt5.account_info()
    seen.add((info.login, info.server))
    equities.append(info.equity)
if sys.argv[4] == "trade":
    r = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.3, "type": 0,
                        "comment": "from proc"})
    assert r.retcode == mt5.TRADE_RETCODE_DONE, r
    print(json.dumps({"ticket": r.order}), flush=True)
print(json.dumps({"seen": sorted(seen), "equities": equities, "pid": mt5.terminal_info().path}), flush=True)
mt5.shutdown()
"""


def test_two_terminals_two_accounts_live_at_once(sim_world: Path, data_dir: Path, demo_accounts) -> None:
    a = demo_accounts[3]
    b = next(x for x in demo_accounts if x["server"] != a["server"])
    base = control.base_install(sim_world)
    folders = []
    for name in ("A", "B"):
        dest = data_dir / "terminals" / name
        shutil.copytree(base.parent, dest, ignore=shutil.ignore_patterns(".mt5sim"))
        folders.append(dest / "terminal64.exe")
    procs = []
    try:
        for exe, acc, mode in ((folders[0], a, "trade"), (folders[1], b, "watch")):
            p = subprocess.Popen([sys.executable, "-c", CLIENT, str(exe), str(acc["login"]), acc["server"], mode],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 cwd=str(ROOT))
            p.stdin.write(acc["password"] + "\n")
            p.stdin.flush()
            procs.append(p)
        ready = [json.loads(p.stdout.readline() or "{}") for p in procs]
        assert all("ready" in r for r in ready), [p.stderr.read() for p in procs if p.poll() is not None]
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            outs.append([json.loads(line) for line in out.splitlines()])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    pid_a, pid_b = control.terminal_pid(folders[0]), control.terminal_pid(folders[1])
    assert pid_a and pid_b and pid_a != pid_b
    # neither terminal was ever logged out by the other
    assert outs[0][-1]["seen"] == [[a["login"], a["server"]]]
    assert outs[1][-1]["seen"] == [[b["login"], b["server"]]]
    assert all(e > 0 for e in outs[0][-1]["equities"] + outs[1][-1]["equities"])
    # the trade made through terminal A is in the shared world: terminal B shows it once logged into A's account
    import multi_user.mt5sim as mt5

    ticket = outs[0][0]["ticket"]
    try:
        assert mt5.initialize(str(folders[1]), login=a["login"], password=a["password"], server=a["server"])
        assert mt5.positions_get(ticket=ticket)[0].comment == "from proc"
    finally:
        mt5.shutdown()
