"""The copier's pure core ([J] 1, 2): links, sizing, symbol names, and a reconciler that never
doubles a position and never leaves an orphan (hypothesis)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multi_user.copy_model import (
    CopyLink,
    copies_symbol,
    core_name,
    follower_symbol,
    follower_volume,
    parse_maps,
    round_volume,
)
from multi_user.copy_reconcile import BUY, COPY_MAGIC, SELL, Side, make_tag, read_tag, reconcile
from multi_user.errors import BadInput

FX = {"volume_min": 0.01, "volume_max": 100.0, "volume_step": 0.01, "trade_contract_size": 100000, "point": 1e-5,
      "bid": 1.1000, "ask": 1.1002}


def link(**kw) -> CopyLink:
    return CopyLink("1001@Demo", "2002@Other", **kw)


def test_link_validation_refuses_bad_input() -> None:
    with pytest.raises(BadInput):
        CopyLink("x@y", "2@s").validate()
    with pytest.raises(BadInput):
        CopyLink("1@s", "1@s").validate()
    with pytest.raises(BadInput):
        link(sizing="fixed").validate()
    with pytest.raises(BadInput):
        link(sizing="lots").validate()
    with pytest.raises(BadInput):
        parse_maps(["XAUUSD"])
    assert parse_maps(["XAUUSD=GOLD", "US500 = SPX500"]) == {"XAUUSD": "GOLD", "US500": "SPX500"}
    assert CopyLink.from_json(link(reverse=True).to_json()).reverse


def test_symbol_matching_suffix_prefix_and_maps() -> None:
    assert core_name("EURUSD.r") == core_name("EURUSDm") == core_name("m.EURUSD") == "EURUSD"
    names = ["EURUSD.pro", "GBPUSD.pro", "GOLD", "SPX500"]
    assert follower_symbol(link(), "EURUSD", names) == "EURUSD.pro"
    assert follower_symbol(link(), "EURUSDm", names) == "EURUSD.pro"
    assert follower_symbol(link(), "XAUUSD", names) is None
    assert follower_symbol(link(symbol_map={"XAUUSD": "GOLD"}), "XAUUSD", names) == "GOLD"
    assert follower_symbol(link(symbol_map={"XAUUSD": "GOLD"}), "XAUUSD.r", names) == "GOLD"
    assert copies_symbol(link(symbols=["EURUSD"]), "EURUSD.r")
    assert not copies_symbol(link(symbols=["EURUSD"]), "GBPUSD")
    assert not copies_symbol(link(symbols=["!GBPUSD"]), "GBPUSD.r")
    assert copies_symbol(link(symbols=["!GBPUSD"]), "EURUSD")


def test_sizing_modes_round_and_clamp() -> None:
    kw = dict(master_equity=10000.0, master_balance=10000.0, follower_equity=5000.0, follower_balance=20000.0,
              master_contract=100000.0, follower_spec=FX)
    assert follower_volume(link(), 1.0, **kw) == 0.5
    assert follower_volume(link(sizing="balance"), 1.0, **kw) == 2.0
    assert follower_volume(link(sizing="fixed", volume=0.3), 5.0, **kw) == 0.3
    assert follower_volume(link(sizing="multiplier", multiplier=1.5), 0.33, **kw) == 0.5  # 0.495 -> step
    assert follower_volume(link(max_volume=0.2), 1.0, **kw) == 0.2
    assert follower_volume(link(), 0.001, **kw) == 0.01  # below the minimum: the minimum
    # a broker whose lot is 10x smaller: ten times the lots for the same exposure
    assert follower_volume(link(sizing="multiplier"), 1.0, **{**kw, "follower_spec": {
        **FX, "trade_contract_size": 10000}}) == 10.0
    assert round_volume(1234.0, FX) == 100.0
    assert round_volume(0.5, {"volume_min": 0.1, "volume_step": 0.1, "volume_max": 500}, max_volume=0.05) == 0.0


def test_tags_round_trip() -> None:
    tag = make_tag(123456789012, 0.4372)
    assert len(tag) <= 31
    assert read_tag({"magic": COPY_MAGIC, "comment": tag}) == (123456789012, 0.4372)
    assert read_tag({"magic": 0, "comment": tag}) is None
    assert read_tag({"magic": COPY_MAGIC, "comment": "hand made"}) is None


def mpos(ticket: int, volume: float = 1.0, type_: int = BUY, sl: float = 0.0, tp: float = 0.0) -> dict:
    return {"ticket": ticket, "symbol": "EURUSD", "type": type_, "volume": volume, "price_open": 1.1001,
            "sl": sl, "tp": tp}


def sides(master_positions, follower_positions=()) -> tuple[Side, Side]:
    m = Side(list(master_positions), [], 10000.0, 10000.0, {"EURUSD": {"trade_contract_size": 100000}})
    f = Side(list(follower_positions), [], 10000.0, 10000.0, {"EURUSD": FX}, ["EURUSD"])
    return m, f


def test_reconcile_opens_reverses_and_follows_changes() -> None:
    m, f = sides([mpos(7, 1.0, BUY, sl=1.09, tp=1.12)])
    (a,) = reconcile(link(reverse=True), m, f)
    assert (a.kind, a.type, a.volume, a.sl, a.tp, a.price) == ("open", SELL, 1.0, 1.12, 1.09, 1.1000)
    copy = {"ticket": 70, "symbol": "EURUSD", "type": BUY, "volume": 0.5, "sl": 1.09, "tp": 1.12,
            "magic": COPY_MAGIC, "comment": make_tag(7, 0.5)}
    m, f = sides([mpos(7, 0.4, BUY, sl=1.095, tp=1.12)], [copy])
    kinds = {(a.kind, round(a.volume, 2)) for a in reconcile(link(), m, f)}
    assert kinds == {("partial", 0.3), ("sltp", 0.5)}  # 0.4 of 1.0 left: 0.2 of 0.5 here
    m, f = sides([], [copy, {"ticket": 71, "symbol": "EURUSD", "type": BUY, "volume": 1.0, "magic": 0,
                             "comment": "by hand"}])
    assert [(a.kind, a.follower_ticket) for a in reconcile(link(), m, f)] == [("close", 70)]


def test_reconcile_skips_with_reasons() -> None:
    m, f = sides([mpos(7)])
    f.specs["EURUSD"] = {**FX, "ask": 1.1101}
    (a,) = reconcile(link(max_slippage=50), m, f)
    assert a.kind == "skip" and "points" in a.reason
    assert reconcile(link(baseline=[7]), m, f) == []
    assert reconcile(link(baseline=[7], copy_open=True), m, f)[0].kind == "open"
    assert reconcile(link(paused=True), m, f) == []
    assert reconcile(link(), m, f, in_doubt={7})[0].kind == "skip"


# ---- never a duplicate, never an orphan ------------------------------------------------------------
_tickets = itertools.count(10_000)


def apply(actions, follower: list[dict], fail: set[int]) -> None:
    """Carry the actions out on a model follower; indexes in ``fail`` are lost (refused or no answer)."""
    for i, a in enumerate(actions):
        if i in fail or a.kind == "skip":
            continue
        if a.kind == "open":
            follower.append({"ticket": next(_tickets), "symbol": a.symbol, "type": a.type, "volume": a.volume,
                             "sl": a.sl, "tp": a.tp, "magic": COPY_MAGIC, "comment": a.comment})
        elif a.kind == "close":
            follower[:] = [p for p in follower if p["ticket"] != a.follower_ticket]
        elif a.kind == "partial":
            for p in follower:
                if p["ticket"] == a.follower_ticket:
                    p["volume"] = round(p["volume"] - a.volume, 2)
        elif a.kind == "sltp":
            for p in follower:
                if p["ticket"] == a.follower_ticket:
                    p["sl"], p["tp"] = a.sl, a.tp


master_step = st.lists(st.tuples(st.integers(1, 6), st.sampled_from([0.01, 0.1, 0.5, 1.0, 2.0]),
                                 st.sampled_from([BUY, SELL])), max_size=5, unique_by=lambda t: t[0])


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(st.tuples(master_step, st.sets(st.integers(0, 6), max_size=3)), min_size=1, max_size=8),
       reverse=st.booleans(), hand=st.booleans())
def test_reconciler_never_doubles_and_never_orphans(steps, reverse: bool, hand: bool) -> None:
    follower: list[dict] = []
    if hand:  # the owner's own trade is never touched
        follower.append({"ticket": 1, "symbol": "EURUSD", "type": BUY, "volume": 1.0, "magic": 0, "comment": ""})
    lk = link(reverse=reverse, sizing="multiplier")
    for positions, fail in steps:
        master = [mpos(t, v, ty) for t, v, ty in positions]
        m, f = sides(master, follower)
        apply(reconcile(lk, m, f), follower, fail)
        tagged = [read_tag(p) for p in follower]
        copies = [t[0] for t in tagged if t]
        assert len(copies) == len(set(copies)), "a master position is copied twice"
        # passes with nothing lost (a reversed netting position takes two): exactly the master's positions
        for _ in range(2):
            apply(reconcile(lk, *sides(master, follower)), follower, set())
        by_master = {read_tag(p)[0]: p for p in follower if read_tag(p)}
        assert set(by_master) == {t for t, _, _ in positions}
        for t, v, ty in positions:
            assert by_master[t]["type"] == (1 - ty if reverse else ty)
            assert by_master[t]["volume"] <= v + 1e-9  # a partial close followed (an addition is not)
        assert not reconcile(lk, *sides(master, follower)), "a mirrored follower needs no action"
        assert (not hand) or any(p["ticket"] == 1 for p in follower)


def test_pending_orders_are_placed_modified_and_removed() -> None:
    order = {"ticket": 9, "symbol": "EURUSD", "type": 2, "volume_current": 1.0, "price_open": 1.05, "sl": 1.04,
             "tp": 1.1}  # a buy limit
    m, f = sides([])
    m.orders = [order]
    (a,) = reconcile(link(reverse=True, sizing="multiplier"), m, f)
    assert (a.kind, a.type, a.price, a.sl, a.tp) == ("place", 5, 1.05, 1.1, 1.04)  # a sell stop, stops swapped
    placed = {"ticket": 90, "symbol": "EURUSD", "type": 2, "volume_current": 1.0, "price_open": 1.05, "sl": 1.04,
              "tp": 1.1, "magic": COPY_MAGIC, "comment": make_tag(9, 1.0)}
    f.orders = [placed]
    assert reconcile(link(sizing="multiplier"), m, f) == []
    m.orders = [{**order, "price_open": 1.06}]
    (a,) = reconcile(link(sizing="multiplier"), m, f)
    assert (a.kind, a.follower_ticket, a.price) == ("modify", 90, 1.06)
    assert [a.kind for a in reconcile(link(sizing="multiplier", copy_pending=False), m, f)] == ["remove"]
    m.orders = []
    assert [(a.kind, a.follower_ticket) for a in reconcile(link(sizing="multiplier"), m, f)] == [("remove", 90)]


def test_netting_followers_refuse_a_hedging_master_and_follow_a_netting_one() -> None:
    copy = {"ticket": 70, "symbol": "EURUSD", "type": BUY, "volume": 0.5, "sl": 0.0, "tp": 0.0,
            "magic": COPY_MAGIC, "comment": make_tag(7, 0.5)}
    m, f = sides([mpos(7, 1.0)])
    m.margin_mode, f.margin_mode = 2, 0  # hedging master, netting follower: nothing is opened, and why
    (a,) = reconcile(link(sizing="multiplier"), m, f)
    assert a.kind == "skip" and "netting account" in a.reason and "its master hedges" in a.reason
    m.margin_mode = 0  # netting on both sides: copied; the master adding to it adds the same share here
    assert [x.kind for x in reconcile(link(sizing="multiplier"), m, f)] == ["open"]
    m, f = sides([mpos(7, 1.6)], [copy])
    m.margin_mode = f.margin_mode = 0
    (a,) = reconcile(link(sizing="multiplier"), m, f)
    assert (a.kind, a.follower_ticket, a.type, round(a.volume, 2)) == ("add", 70, BUY, 0.3)
    f.margin_mode = 2  # a hedging follower keeps one copy per master ticket: the addition is said, not copied
    (a,) = reconcile(link(sizing="multiplier"), m, f)
    assert a.kind == "skip" and "keeps its size" in a.reason
    own = {"ticket": 1, "symbol": "EURUSD", "type": SELL, "volume": 0.2, "magic": 0, "comment": ""}
    m, f = sides([mpos(8, 1.0)], [own])
    m.margin_mode = f.margin_mode = 0  # the owner's own EURUSD position there: a copy would merge into it
    (a,) = reconcile(link(sizing="multiplier"), m, f)
    assert a.kind == "skip" and "your own position on EURUSD" in a.reason
