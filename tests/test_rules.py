"""[H] 1: the prop-firm rule model reproduces the issue's worked examples; reset clock across DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from multi_user.errors import BadInput
from multi_user.rule_presets import PRESETS
from multi_user.rules import (
    GuardState,
    Rules,
    evaluate,
    initial_state,
    last_reset,
    make_rules,
    next_reset,
    objectives,
    observe,
    start_day,
)


def utc(*a: int) -> float:
    return datetime(*a, tzinfo=UTC).timestamp()


T0 = utc(2026, 6, 1, 12)
T1 = utc(2026, 6, 2, 12)


def test_ftmo_2step_200k_daily_floor_moves_with_the_balance_at_the_reset() -> None:
    r = make_rules("FTMO-2STEP", 200_000)
    s = initial_state(r, 200_000, 200_000, T0)
    v = evaluate(r, s, 200_000, T0)
    assert v.daily_floor == 190_000 and v.total_floor == 180_000
    s = observe(r, s, 204_000, 204_000)  # +4,000 closed today
    assert evaluate(r, s, 204_000, T0).daily_headroom == 14_000
    inside = evaluate(r, s, 191_000, T0)  # a position floating −13,000
    assert inside.daily_floor == 190_000 and inside.daily_headroom == 1_000 and inside.level == "warning"
    s = start_day(r, s, 204_000, 191_000, T1)  # same position still open at the next reset
    after = evaluate(r, s, 191_000, T1)
    assert after.daily_floor == 194_000 and after.level == "breached" and after.act


def test_ftmo_2step_max_loss_is_equity_below_180k() -> None:
    r = make_rules("FTMO-2STEP", 200_000)
    s = start_day(r, initial_state(r, 200_000, 200_000, T0), 182_000, 182_000, T1)
    v = evaluate(r, s, 182_000 - 2_001, T1)
    assert v.total_floor == 180_000 and v.total_headroom == -1 and v.level == "breached"
    assert v.daily_headroom == 182_000 - 2_001 - 172_000  # the daily floor alone holds
    assert evaluate(r, s, 180_000, T1).level != "breached"  # "below": touching the floor is not a breach


def test_ftmo_1step_total_floor_trails_end_of_day_balance_and_never_falls() -> None:
    """FTMO's own worked example (ftmo.com, 1-Step "Maximum Loss"): 104,000 at the first midnight makes
    the floor 94,000; 103,000 at the next keeps it; the floor only rises, with no stop at the initial
    balance in FTMO's text."""
    r = make_rules("FTMO-1STEP", 100_000)
    s = initial_state(r, 100_000, 100_000, T0)
    assert s.total_floor == 90_000
    s = start_day(r, s, 104_000, 104_000, T1)
    assert s.total_floor == 94_000
    s = start_day(r, s, 103_000, 103_000, T1 + 86400)
    assert s.total_floor == 94_000
    s = start_day(r, s, 112_000, 112_000, T1 + 2 * 86400)
    assert s.total_floor == 102_000


def test_daily_floor_on_the_higher_of_balance_and_equity() -> None:
    r = make_rules("THE5ERS-HIGH-STAKES", 100_000)
    s = initial_state(r, 100_000, 101_000, T0)  # floating +1,000 at the reset
    assert evaluate(r, s, 101_000, T0).daily_floor == 101_000 - 0.05 * 101_000
    s = start_day(r, s, 102_000, 99_000, T1)  # floating −3,000: the balance is the higher
    assert evaluate(r, s, 99_000, T1).daily_floor == 102_000 - 0.05 * 102_000


def test_daily_floor_on_equity_alone() -> None:
    r = make_rules("custom", 100_000, daily_ref="equity", daily_base="ref")
    s = start_day(r, initial_state(r, 100_000, 100_000, T0), 101_000, 103_000, T1)
    assert evaluate(r, s, 103_000, T1).daily_floor == pytest.approx(97_850)


def test_floating_loss_over_the_reset_counts_against_the_new_day() -> None:
    r = make_rules("FTMO-2STEP", 100_000)
    s = start_day(r, initial_state(r, 100_000, 100_000, T0), 100_000, 97_000, T1)  # −3,000 floating
    assert evaluate(r, s, 97_000, T1).daily_headroom == 2_000


def test_warning_level_and_safety_buffer() -> None:
    r = make_rules("FTMO-2STEP", 100_000, warn_pct=0.5, act_pct=0.9)
    s = initial_state(r, 100_000, 100_000, T0)
    assert evaluate(r, s, 97_600, T0).level == "ok"
    assert evaluate(r, s, 97_400, T0).level == "warning" and not evaluate(r, s, 97_400, T0).act
    assert evaluate(r, s, 95_400, T0).act and evaluate(r, s, 95_400, T0).level == "warning"


def test_prague_reset_shifts_with_daylight_saving() -> None:
    r = make_rules("FTMO-2STEP", 100_000)
    # CET until 2026-03-29 01:00 UTC, then CEST: midnight Prague is 23:00 UTC, then 22:00 UTC
    assert next_reset(r, utc(2026, 3, 28, 12)) == utc(2026, 3, 28, 23)
    assert next_reset(r, utc(2026, 3, 29, 12)) == utc(2026, 3, 29, 22)
    assert last_reset(r, utc(2026, 3, 29, 12)) == utc(2026, 3, 28, 23)
    assert next_reset(r, utc(2026, 10, 24, 12)) == utc(2026, 10, 24, 22)  # back to CET on 10-25
    assert next_reset(r, utc(2026, 10, 25, 12)) == utc(2026, 10, 25, 23)


def test_new_york_close_server_reset_shifts_with_its_offset() -> None:
    r = make_rules("THE5ERS-HIGH-STAKES", 100_000)
    # a NY-close server runs UTC+2 in winter, UTC+3 in US summer time: midnight there moves
    assert next_reset(r, utc(2026, 3, 2, 12), 7200) == utc(2026, 3, 2, 22)
    assert next_reset(r, utc(2026, 3, 9, 12), 10800) == utc(2026, 3, 9, 21)
    assert last_reset(r, utc(2026, 3, 9, 22), 10800) == utc(2026, 3, 9, 21)


def test_objectives_progress() -> None:
    r = make_rules("FTMO-1STEP", 100_000)
    s = initial_state(r, 100_000, 100_000, T0)
    s = observe(r, s, 106_000, 106_000)
    s = start_day(r, s, 106_000, 106_000, T1)
    s = observe(r, s, 110_000, 110_000)
    o = objectives(r, s, 110_000)
    assert o["profit_target"]["met"] and o["best_day"]["share"] == pytest.approx(0.6)
    assert not o["best_day"]["met"]
    r5 = make_rules("THE5ERS-HIGH-STAKES", 100_000)
    o5 = objectives(r5, start_day(r5, initial_state(r5, 100_000, 100_000, T0), 100_400, 100_400, T1), 100_900)
    assert o5["profitable_days"]["done"] == 1  # +400 is below 0.5%; today's +500 counts


def test_bad_input_is_named() -> None:
    with pytest.raises(BadInput, match="unknown preset"):
        make_rules("NOPE", 100_000)
    with pytest.raises(BadInput, match="time zone"):
        make_rules("custom", 100_000, reset_zone="Mars/Base")
    with pytest.raises(BadInput, match="fraction"):
        make_rules("custom", 100_000, daily_pct=5)
    with pytest.raises(BadInput, match="initial"):
        make_rules("custom", -1)


def test_every_preset_builds_and_round_trips() -> None:
    for name in PRESETS:
        r = make_rules(name, 50_000)
        assert Rules.from_json(r.to_json()) == r
        s = initial_state(r, 50_000, 50_000, T0)
        assert GuardState.from_json(s.to_json()) == s


steps = st.lists(st.tuples(st.floats(50_000, 150_000), st.floats(-20_000, 20_000), st.booleans()),
                 max_size=40)


@given(steps, st.sampled_from(["eod_balance", "closed_balance", "intraday_equity"]),
       st.one_of(st.none(), st.floats(95_000, 110_000)))
def test_a_trailing_floor_never_falls_and_holds_at_its_lock(seq: list, mode: str, lock: float | None) -> None:
    r = make_rules("custom", 100_000, total_mode=mode, total_lock=lock)
    s = initial_state(r, 100_000, 100_000, T0)
    for i, (balance, floating, reset) in enumerate(seq):
        before = s.total_floor
        s = start_day(r, s, balance, balance + floating, T0 + i) if reset else observe(r, s, balance,
                                                                                        balance + floating)
        assert s.total_floor >= before
        if lock is not None:
            assert s.total_floor <= max(lock, 90_000)
        v = evaluate(r, s, balance + floating, T0 + i)
        assert (v.level == "breached") == (balance + floating < s.total_floor or
                                           balance + floating < (v.daily_floor or float("-inf")))
