"""The bot runner's calls and checks with a stand-in MetaTrader5 module and an injected clock: timer and
new-bar calls when due, on_stop once, nothing sent after a stop, a runaway stopped even if it catches
the refusal."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from multi_user.bots import AccountIdentity, Bot, Param
from multi_user.bots.facade import BotRefused
from multi_user.bots.runner import BotRunner


class FakeMT5:
    TIMEFRAME_M1 = 1
    TRADE_RETCODE_DONE, TRADE_RETCODE_PLACED = 10009, 10008

    def __init__(self) -> None:
        self.bar_time = 60
        self.sent: list[dict] = []
        self.trade_allowed = True

    def copy_rates_from_pos(self, symbol: str, tf: int, pos: int, n: int) -> list[dict]:
        return [{"time": self.bar_time - 60, "close": 1.0}, {"time": self.bar_time, "close": 1.1}]

    def account_info(self) -> Any:
        return SimpleNamespace(trade_allowed=self.trade_allowed)

    def order_send(self, request: dict) -> Any:
        self.sent.append(request)
        return SimpleNamespace(retcode=10009, comment="Request executed", order=len(self.sent), deal=len(self.sent))

    def last_error(self) -> tuple[int, str]:
        return 1, "ok"


class Recorder(Bot):
    interval = 10.0
    params: ClassVar[dict[str, Param]] = {"symbol": Param(str, "EURUSD"), "catch": Param(bool, False)}

    def on_start(self) -> None:
        self.calls = ["start"]

    def on_timer(self) -> None:
        self.calls.append("timer")

    def on_bar(self, symbol: str, bar: Any) -> None:
        self.calls.append(f"bar {symbol} {bar['time']}")

    def on_stop(self) -> None:
        self.calls.append("stop")


def make(cls: type[Bot] = Recorder, params: dict | None = None, max_per_minute: int = 30):
    now = [1000.0]
    mt5, events = FakeMT5(), []
    checks: list[int] = []
    runner = BotRunner(cls, "rec", {"symbol": "EURUSD", "catch": False, **(params or {})}, AccountIdentity(1, "S"),
                       mt5=mt5, check_account=lambda: checks.append(1), emit=events.append,
                       max_per_minute=max_per_minute, clock=lambda: now[0])
    return runner, mt5, events, now, checks


def test_calls_come_when_due_and_a_new_bar_is_told_once() -> None:
    runner, mt5, _, now, _ = make()
    runner.step()
    assert runner.bot.calls == ["start", "timer"]  # the first bar poll only learns the current bar
    now[0] += 1.0
    runner.step()
    assert runner.bot.calls == ["start", "timer"] and runner.due_in(now[0]) == 1.0  # the next look for a bar
    mt5.bar_time = 120
    now[0] += 1.0
    runner.step()
    assert runner.bot.calls[-1] == "bar EURUSD 60"  # the bar that just closed
    now[0] += 1.0
    runner.step()
    assert runner.bot.calls.count("bar EURUSD 60") == 1
    now[0] += 10.0
    runner.step()
    assert runner.bot.calls.count("timer") == 2
    runner.stop("owner")
    runner.stop("again")
    now[0] += 100.0
    runner.step()
    assert runner.bot.calls[-1] == "stop" and runner.bot.calls.count("stop") == 1 and runner.state == "stopped"


def test_nothing_is_sent_after_a_stop_and_every_order_is_checked_first() -> None:
    runner, mt5, events, _, checks = make()
    runner.step()
    assert runner.bot.mt5.order_send({"symbol": "EURUSD", "volume": 0.01}).retcode == 10009
    assert checks == [1] and events[-1]["retcode"] == 10009 and events[-1]["comment"] == "Request executed"
    runner.stop("owner")
    with pytest.raises(BotRefused, match="stopping"):
        runner.bot.mt5.order_send({"symbol": "EURUSD"})
    assert len(mt5.sent) == 1 and events[-1]["refused"]


class Runaway(Bot):
    interval = 0.001
    params: ClassVar[dict[str, Param]] = {"symbol": Param(str, ""), "catch": Param(bool, True)}

    def on_timer(self) -> None:
        try:
            self.mt5.order_send({"symbol": "EURUSD"})
        except BotRefused:
            if not self.ctx.params["catch"]:
                raise


def test_a_runaway_that_catches_the_refusal_is_stopped_all_the_same() -> None:
    runner, mt5, events, now, _ = make(Runaway, {"catch": True}, max_per_minute=5)
    for _ in range(10):
        now[0] += 0.01
        runner.step()
    assert runner.state == "failed" and "runaway: more than 5 orders" in str(runner.message)
    assert len(mt5.sent) == 5 and [e["state"] for e in events if e["kind"] == "state"] == ["failed"]
    # after a minute the window is clear, but a failed bot stays stopped
    now[0] += 61
    runner.step()
    assert len(mt5.sent) == 5


def test_a_read_only_account_refuses_the_order() -> None:
    runner, mt5, events, _, _ = make()
    mt5.trade_allowed = False
    runner.step()
    with pytest.raises(BotRefused, match="read-only"):
        runner.bot.mt5.order_send({"symbol": "EURUSD"})
    assert mt5.sent == [] and "read-only" in events[-1]["refused"]
