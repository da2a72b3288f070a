"""Broker server time: New-York-close servers (UTC+2 winter / UTC+3 summer on US DST dates) and a UTC
server; every time the API shows is the server's wall time; the app learns the offset from a tick."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fixtures_sim import run_client, sim_cli

from multi_user import servertime
from multi_user.mt5sim.clock import NY_CLOSE, Clock, ny_close_offset


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("when", "offset"), [
    (ts(2025, 1, 15, 12), 7200), (ts(2025, 7, 1), 10800),
    (ts(2025, 3, 9, 6, 59), 7200), (ts(2025, 3, 9, 7, 0), 10800),  # 02:00 EST on the 2nd Sunday of March
    (ts(2025, 11, 2, 5, 59), 10800), (ts(2025, 11, 2, 6, 0), 7200),  # 02:00 EDT on the 1st Sunday of November
    (ts(2024, 3, 10, 7, 0), 10800), (ts(2024, 3, 9, 12), 7200),
])
def test_ny_close_follows_the_us_dst_dates(when: float, offset: int) -> None:
    assert ny_close_offset(when) == offset
    clock = Clock(NY_CLOSE)
    assert clock.to_server(when) == when + offset
    if not ts(2025, 11, 2, 5) <= when < ts(2025, 11, 2, 6):  # that hour's wall times repeat an hour later
        assert clock.to_utc(clock.to_server(when)) == when
    # New York 17:00 is the server's midnight all year
    assert clock.to_server(ts(2025, 1, 15, 22)) % 86400 == 0 and clock.to_server(ts(2025, 7, 15, 21)) % 86400 == 0


def test_a_range_across_the_spring_gap_stays_a_range() -> None:
    """Server wall times 09:00-10:00 on the US spring-forward Sunday never happen; they mapped to the hour
    before the change, so to_utc ran backwards there and a tick range across 09:00 came back empty."""
    from multi_user.mt5sim import market_data
    from multi_user.mt5sim.trading import Market

    clock, jump = Clock(NY_CLOSE), ts(2027, 3, 14, 7)  # 02:00 EST: the server's 09:00 becomes 10:00
    walls = [ts(2027, 3, 14, 8, 59, 50) + i for i in range(0, 3620, 5)]
    utcs = [clock.to_utc(w) for w in walls]
    assert utcs == sorted(utcs) and clock.to_utc(ts(2027, 3, 14, 9, 30)) == jump
    assert clock.to_utc(ts(2027, 3, 14, 10)) == jump and clock.to_utc(ts(2027, 3, 14, 8, 59)) == jump - 60
    market = Market(1, jump + 3600, clock=clock)
    got = market_data.ticks(market, "EURUSD", ts(2027, 3, 14, 8, 59, 55), ts(2027, 3, 14, 9, 0, 5), 100)
    assert len(got) == 11 and (got[0][0], got[-1][0]) == (ts(2027, 3, 14, 8, 59, 55), ts(2027, 3, 14, 10))


@pytest.mark.parametrize(("tick_age", "offset"), [(0.4, 7200), (95, 10800), (600, 0), (3, -18000), (30, 19800)])
def test_learn_offset_rounds_to_the_half_hour(tick_age: float, offset: int) -> None:
    now = ts(2025, 6, 1, 12) + 0.123
    assert servertime.learn_offset(now + offset - tick_age, now) == offset


def test_servertime_helpers() -> None:
    assert servertime.learn_offset(ts(2025, 1, 1) + 20 * 3600, ts(2025, 1, 1)) is None
    assert servertime.to_utc(1000 + 7200, 7200) == 1000 and servertime.to_server(1000, 10800) == 11800
    assert [servertime.format_offset(o) for o in (0, 7200, -12600)] == ["UTC", "UTC+2", "UTC-3:30"]


CLIENT = r"""
import json, sys, time, multi_user.mt5sim as mt5
from multi_user import servertime
out = []
for line in sys.stdin:
    login, server, password = json.loads(line)
    assert mt5.initialize(login=login, password=password, server=server), mt5.last_error()
    now = time.time()
    tick = mt5.symbol_info_tick("EURUSD")
    pos = mt5.positions_get()
    deals = mt5.history_deals_get(0, now + 86400)
    bars = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_D1, 0, 2)
    out.append({"server": server, "now": now, "learned": servertime.learn_offset(tick.time_msc / 1000, now),
                "tick_ahead": tick.time - now, "pos_ahead": [p.time - now for p in pos],
                "last_deal_ahead": max(d.time for d in deals) - now, "d1": [int(t) % 86400 for t in bars["time"]],
                "info_time_ahead": mt5.symbol_info("EURUSD").time - now})
print(json.dumps(out))
mt5.shutdown()
"""


def test_times_are_server_wall_time(sim_world, data_dir, demo_accounts) -> None:
    listed_from = time.time()
    listed = json.loads(sim_cli(data_dir, "accounts", "--json").stdout)
    listed_to = time.time()
    assert {(a["server"], a["server_zone"]) for a in listed} == {
        ("SimBroker-Demo", "ny-close"), ("SimBroker-Live", "ny-close"), ("Northwind-Server", "utc")}
    assert all(a["server_offset"] in (7200, 10800) for a in listed if a["server_zone"] == "ny-close")
    assert all("margin_mode" in a for a in listed)
    picks = [next(a for a in listed if a["server"] == s and a["login"] in {d["login"] for d in demo_accounts})
             for s in ("SimBroker-Demo", "Northwind-Server")]
    stdin = "".join(json.dumps([a["login"], a["server"], a["password"]]) + "\n" for a in picks)
    proc = run_client(CLIENT, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    for acc, got in zip(picks, json.loads(proc.stdout), strict=True):
        # the offset at the client's own instant: the listing's may be from before a DST change
        off = Clock(acc["server_zone"]).offset(got["now"])
        clock = Clock(acc["server_zone"])
        assert acc["server_offset"] in (clock.offset(listed_from), clock.offset(listed_to))
        assert got["learned"] == off, got
        assert off - 5 < got["tick_ahead"] <= off + 1 and off - 5 < got["info_time_ahead"] <= off + 1
        assert all(p < off for p in got["pos_ahead"]) and all(p > off - 40 * 3600 for p in got["pos_ahead"])
        assert got["last_deal_ahead"] <= off + 1
        assert got["d1"] == [0, 0]  # daily bars open at the server's midnight


def test_a_world_from_an_older_simulator_gets_the_new_columns(tmp_path) -> None:
    from multi_user.mt5sim import control, world

    control.init_world(tmp_path, history_days=0)
    con = world.connect(tmp_path)
    for table, column in (("servers", "tz"), ("servers", "commission"), ("servers", "so_call"),
                          ("servers", "so_so"), ("accounts", "margin_mode")):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.close()
    listed = control.demo_accounts(tmp_path)  # ensure_world upgrades
    assert {a["server_zone"] for a in listed} == {"utc"} and {a["margin_mode"] for a in listed} == {2}
