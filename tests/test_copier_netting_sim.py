"""[J] netting followers on the simulator (terminals as processes): a hedging master's trades are refused
on a netting follower with the reason (nothing is copied); a netting master is mirrored on a netting
follower — its adds follow into the same position, a trade that would merge into the owner's own
position on that symbol is skipped with the reason, a close follows."""

from __future__ import annotations

from pathlib import Path

import pytest
from lane_harness import Recorder, fast_desk, link_accounts
from test_copier_sim import _ls, copies, positions, run, started, until

from multi_user.copy_model import CopyLink
from multi_user.copy_store import save_links

pytestmark = pytest.mark.slow


def test_netting_followers(qloop, data_dir: Path, sim_world: Path) -> None:
    from multi_user.mt5sim import control, manual
    from multi_user.mt5sim import world as w

    demo = control.demo_accounts(sim_world)
    hedger, net_master, net_follower, own_net = demo[0], demo[2], demo[4], demo[9]  # own_net holds EURUSD 0.30
    con = w.connect(sim_world)
    try:  # the broker made these two netting accounts
        for a in (net_master, net_follower):
            con.execute("UPDATE accounts SET margin_mode = 0 WHERE login = ? AND server = ?", (a["login"], a["server"]))
    finally:
        con.close()
    keys = [f"{a['login']}@{a['server']}" for a in (hedger, net_follower, net_master, own_net)]
    link_accounts(data_dir, [hedger, net_follower, net_master, own_net], dedicated=set(keys))
    hedge_key, refused_key, master_key, follower_key = keys
    save_links(data_dir, [CopyLink(hedge_key, refused_key, sizing="fixed", volume=0.1),
                          CopyLink(master_key, follower_key, sizing="multiplier")])
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    def skips(follower: str, words: str) -> list[dict]:
        return [e for e in rec.of("copy", action="skip") if e["follower"] == follower and words in e["reason"]]

    async def scenario() -> None:
        await desk.start()
        try:
            await until(rec, lambda: started(desk, keys))
            hedged = manual.trade(sim_world, *_ls(hedge_key), "GBPUSD", "buy", 0.2)
            await until(rec, lambda: bool(skips(refused_key, "netting account")))
            assert "its master hedges" in skips(refused_key, "netting account")[0]["reason"]

            first = manual.trade(sim_world, *_ls(master_key), "GBPUSD", "buy", 0.2)
            ticket = int(first["position"])
            await until(rec, lambda: ticket in copies(sim_world, follower_key))
            (copy,) = copies(sim_world, follower_key)[ticket]
            assert (copy["symbol"], copy["type"], copy["volume"]) == ("GBPUSD", 0, 0.2)
            manual.trade(sim_world, *_ls(master_key), "GBPUSD", "buy", 0.1)  # netting: the same position grows
            await until(rec, lambda: [p["volume"] for p in copies(sim_world, follower_key).get(ticket, [])] == [0.3])
            assert copies(sim_world, follower_key)[ticket][0]["ticket"] == copy["ticket"]  # one position, tagged

            merged = manual.trade(sim_world, *_ls(master_key), "EURUSD", "buy", 0.1)
            await until(rec, lambda: bool(skips(follower_key, "your own position on EURUSD")))
            own = [p for p in positions(sim_world, follower_key) if p["symbol"] == "EURUSD"]
            assert [(p["volume"], p["magic"]) for p in own] == [(0.3, 0)]  # the owner's own, untouched

            manual.close(sim_world, ticket)
            await until(rec, lambda: ticket not in copies(sim_world, follower_key))
            assert copies(sim_world, refused_key) == {}  # the refused link never copied anything
            assert int(hedged["position"]) and int(merged["position"])
        finally:
            await desk.stop()

    run(qloop, scenario())
