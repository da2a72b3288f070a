"""The portfolio total in one base currency, converted with the terminal's own quotes."""

from __future__ import annotations

from pathlib import Path

import pytest
from lane_harness import Recorder, fast_desk, link_accounts, snapshot_of
from test_ui_desk import run

from app.portfolio import in_base, pairs_needed, per_currency


def test_totals_per_currency_and_in_base() -> None:
    snaps = {"a": {"currency": "USD", "equity": 100.0, "profit": 1.0, "ts": 5.0},
             "b": {"currency": "EUR", "equity": 10.0, "profit": None, "ts": 7.0},
             "c": {"currency": "GBP", "equity": 1.0, "profit": 0.0, "ts": 9.0}}
    parts = per_currency({"a": {"state": "live"}}, snaps)
    assert [(p.currency, p.not_live, p.oldest, p.profit_unknown) for p in parts] == [
        ("EUR", 1, 7.0, 1), ("GBP", 1, 9.0, 0), ("USD", 0, None, 0)]
    assert pairs_needed(parts, "USD") == [("EUR", "USD"), ("GBP", "USD")]
    total = in_base(parts, "USD", {"EUR/USD": {"rate": 2.0, "symbol": "EURUSD", "time": 1.0}})
    assert total is not None and total.equity == 120.0 and total.missing == ["GBP"]
    assert in_base(parts, "", {}) is None


@pytest.mark.slow
def test_rates_come_from_the_terminals_quotes(qloop, data_dir: Path, sim_world: Path) -> None:
    from multi_user.mt5sim import control

    demo = control.demo_accounts(sim_world)
    eur = next(d for d in demo if d["currency"] == "EUR")
    usd = next(d for d in demo if d["currency"] == "USD")
    keys = link_accounts(data_dir, [usd, eur])
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            for key in keys:
                desk.activate(key)
                await rec.wait_for(snapshot_of(key))
            await desk.save_settings({"base_currency": "USD"})
            ev = await rec.wait_for(lambda e: e.get("event") == "rates" and "EUR/USD" in e["rates"])
            quote = ev["rates"]["EUR/USD"]
            assert quote["symbol"] == "EURUSD" and 0.9 < quote["rate"] < 1.3 and quote["time"] > 0
            await desk.save_settings({"base_currency": "EUR"})
            ev = await rec.wait_for(lambda e: e.get("event") == "rates" and "USD/EUR" in e["rates"])
            assert ev["rates"]["USD/EUR"]["rate"] == pytest.approx(1 / quote["rate"], rel=0.01)
        finally:
            await desk.stop()

    run(qloop, scenario())
