"""The follower side of a copy in a worker, on a simulated terminal: an order_send whose answer is
lost is looked up by its tag before it is ever sent again ([J] 2)."""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType

import pytest

from multi_user.bridge import UserMT5Bridge
from multi_user.copy_model import CopyLink
from multi_user.copy_reconcile import read_tag
from multi_user.worker import Worker


@pytest.fixture
def follower(mt5: ModuleType, sim_world: Path):
    return logged_in(mt5, sim_world, 2)  # a USD account


def logged_in(mt5: ModuleType, sim_world: Path, index: int):
    from multi_user.mt5sim import control

    a = control.demo_accounts(sim_world)[index]
    bridge = UserMT5Bridge(mt5, str(control.base_install(sim_world)), timeout_ms=5000)
    worker = Worker(bridge, io.BytesIO())
    worker.op_switch({"login": a["login"], "password": a["password"], "server": a["server"], "stream": False})
    return worker, f"{a['login']}@{a['server']}", mt5


def sync(worker: Worker, key: str, in_doubt: dict[str, bool] | None = None) -> dict:
    master = {"positions": [{"ticket": 4242, "symbol": "EURUSD", "type": 0, "volume": 1.0, "price_open": 0.0,
                             "sl": 0.0, "tp": 0.0}], "orders": [], "equity": 1.0, "balance": 1.0, "specs": {}}
    link = CopyLink("1@Master", key, sizing="fixed", volume=0.1)
    return worker.op_copy_sync({"link": link.to_json(), "master": master, "in_doubt": in_doubt or {}})


def copies_of(mt5: ModuleType, ticket: int) -> list:
    return [p for p in mt5.positions_get() or () if (read_tag(p._asdict()) or (0,))[0] == ticket]


def test_lost_answer_is_found_by_its_tag_not_sent_again(follower, monkeypatch: pytest.MonkeyPatch) -> None:
    worker, key, mt5 = follower
    real = mt5.order_send
    sent = []

    def lost_answer(request):  # the order reaches the server; its answer never comes back
        sent.append(request)
        real(request)
        return None

    monkeypatch.setattr(mt5, "order_send", lost_answer)
    (r,) = sync(worker, key)["results"]
    assert r["kind"] == "open" and r["in_doubt"] and not r["ok"]
    monkeypatch.setattr(mt5, "order_send", real)
    again = sync(worker, key, {"4242": False})
    assert again["resolved"] == {"4242": "found"} and again["results"] == []
    assert len(sent) == 1 and len(copies_of(mt5, 4242)) == 1


def test_order_never_filled_is_sent_again_only_after_the_wait(follower, monkeypatch: pytest.MonkeyPatch) -> None:
    worker, key, mt5 = follower
    real = mt5.order_send
    monkeypatch.setattr(mt5, "order_send", lambda request: None)  # lost on the way: never executed
    (r,) = sync(worker, key)["results"]
    assert r["in_doubt"]
    monkeypatch.setattr(mt5, "order_send", real)
    waiting = sync(worker, key, {"4242": False})  # no trace yet: it might still land
    assert waiting["resolved"] == {"4242": "absent"} and [x["kind"] for x in waiting["results"]] == ["skip"]
    assert copies_of(mt5, 4242) == []
    retry = sync(worker, key, {"4242": True})  # still no trace after the wait: sent once more
    assert retry["resolved"] == {"4242": "retry"} and [x["kind"] for x in retry["results"]] == ["open"]
    assert len(copies_of(mt5, 4242)) == 1


def test_equity_ratio_converts_the_followers_currency(mt5: ModuleType, sim_world: Path) -> None:
    worker, key, _ = logged_in(mt5, sim_world, 1)  # a EUR account
    equity = mt5.account_info().equity
    tick = mt5.symbol_info_tick("EURUSD")
    master = {"positions": [{"ticket": 77, "symbol": "EURUSD", "type": 0, "volume": 1.0, "price_open": 0.0,
                             "sl": 0.0, "tp": 0.0}], "orders": [], "equity": equity, "balance": equity,
              "specs": {}, "currency": "USD"}  # the same number, in dollars
    link = CopyLink("1@Master", key).to_json()
    (r,) = worker.op_copy_sync({"link": link, "master": master, "in_doubt": {}})["results"]
    assert r["kind"] == "open" and abs(r["volume"] - (tick.bid + tick.ask) / 2) <= 0.02  # ~1.08 lots, not 1.00
    master["currency"] = "XAU"  # nothing quotes it against EUR: skipped, not sized on raw numbers
    master["positions"][0]["ticket"] = 78
    results = worker.op_copy_sync({"link": link, "master": master, "in_doubt": {}})["results"]
    assert [(x["kind"], x["master_ticket"]) for x in results if x["master_ticket"] == 78] == [("skip", 78)]
