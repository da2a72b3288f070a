"""The simulator's public surface against the real wheel's (tests/data/mt5_reference.json).

Regenerate the reference with: python tools/mt5_reference.py /tmp/mt5wheel/MetaTrader5 > tests/data/mt5_reference.json
"""

from __future__ import annotations

import inspect
import json
import types
from pathlib import Path

import pytest

import multi_user.mt5sim as sim
from multi_user.mt5sim import errors

REF = json.loads((Path(__file__).parent / "data" / "mt5_reference.json").read_text())


def public_names(module: types.ModuleType) -> set[str]:
    return {n for n, v in vars(module).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}


def test_every_constant_has_the_real_value() -> None:
    for name, value in REF["constants"].items():
        assert getattr(sim, name) == value, name
    assert len(REF["constants"]) > 200


def test_every_function_and_helper_exists_and_is_callable() -> None:
    for name in REF["functions"] + REF["helpers"]:
        assert callable(getattr(sim, name, None)), name
    assert sim.__version__ == REF["version"] and sim.__author__ == REF["author"]


def test_nothing_surprising_in_the_namespace() -> None:
    expected = set(REF["functions"]) | set(REF["helpers"]) | set(REF["constants"]) | set(REF["structures"])
    assert public_names(sim) - expected == set()


@pytest.mark.parametrize("name", sorted(REF["structures"]))
def test_structures_have_the_real_fields_in_order(name: str) -> None:
    cls = getattr(sim, name)
    assert list(cls._fields) == REF["structures"][name]
    inst = cls(*range(len(cls._fields)))
    assert list(inst._asdict()) == REF["structures"][name]


def test_error_messages_are_the_real_strings() -> None:
    known = set(REF["error_messages"])
    used = [v for v in vars(errors).values() if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], str)]
    assert len(used) >= 10
    for code, message in used:
        assert message in known or message.startswith("IPC initialize failed, "), (code, message)
    for name in errors.NAMED_ARGUMENTS:
        assert errors.invalid_argument(name)[1] in known
    assert errors.invalid_argument("date_from")[1] in known
    assert "IPC initialize failed, %S" in known and "Process create failed '%s'" in known
    assert errors.process_create_failed("C:\\x\\terminal64.exe") == (
        -10003, "IPC initialize failed, Process create failed 'C:\\x\\terminal64.exe'")
    assert errors.TERMINAL_NOT_FOUND[1].split(", ", 1)[1] in known


def test_error_codes_match_the_res_constants() -> None:
    assert errors.AUTH_FAILED[0] == sim.RES_E_AUTH_FAILED
    assert errors.NO_IPC[0] == sim.RES_E_INTERNAL_FAIL_CONNECT
    assert errors.IPC_TIMEOUT[0] == sim.RES_E_INTERNAL_FAIL_TIMEOUT
    assert errors.TERMINAL_NOT_FOUND[0] == sim.RES_E_INTERNAL_FAIL_INIT
    assert errors.SUCCESS[0] == sim.RES_S_OK and errors.CALL_FAILED[0] == sim.RES_E_FAIL


def test_signatures_take_the_documented_arguments() -> None:
    params = {n: list(inspect.signature(getattr(sim, n)).parameters) for n in REF["functions"]}
    assert params["initialize"][:1] == ["path"] and {"login", "password", "server", "timeout", "portable"} <= set(
        params["initialize"])
    assert params["login"] == ["login", "password", "server", "timeout"]
    assert params["copy_rates_from"] == ["symbol", "timeframe", "date_from", "count"]
    assert params["order_calc_profit"] == ["action", "symbol", "volume", "price_open", "price_close"]
    assert params["positions_get"] == ["symbol", "group", "ticket"]
