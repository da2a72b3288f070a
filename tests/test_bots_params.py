"""Bot parameters and loading: a clear refusal for every bad value, defaults for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from multi_user.bots import Param
from multi_user.bots.loader import available, load_bot
from multi_user.bots.params import parse_assignments, validate
from multi_user.errors import BadInput

SCHEMA = {"symbol": Param(str, "EURUSD"), "fast": Param(int, 5, min=1, max=50), "lots": Param(float, 0.01, min=0.01),
          "mode": Param(str, "a", choices=("a", "b")), "hedge": Param(bool, False)}


def test_defaults_fill_what_is_not_given_and_text_is_converted() -> None:
    assert validate(SCHEMA, {"fast": "7", "hedge": "yes"}) == {"symbol": "EURUSD", "fast": 7, "lots": 0.01,
                                                              "mode": "a", "hedge": True}


@pytest.mark.parametrize(("given", "says"), [
    ({"fast": 0}, "'fast' must be at least 1"),
    ({"fast": 99}, "'fast' must be at most 50"),
    ({"fast": 1.5}, "'fast' must be a number (int)"),
    ({"fast": True}, "'fast' must be a number"),
    ({"lots": "many"}, "'lots' must be a number (float)"),
    ({"lots": "nan"}, "'lots' must be a number"),
    ({"mode": "c"}, "'mode' must be one of a, b"),
    ({"hedge": 3}, "'hedge' must be true or false"),
    ({"symbol": 5}, "'symbol' must be text"),
    ({"speed": 1}, "unknown parameter 'speed'; this bot takes: fast, hedge, lots, mode, symbol"),
    ([1, 2], "parameters are an object"),
])
def test_a_bad_value_is_refused_naming_the_parameter(given: object, says: str) -> None:
    with pytest.raises(BadInput) as err:
        validate(SCHEMA, given)
    assert says in str(err.value)


def test_assignments_from_the_command_line() -> None:
    assert parse_assignments(["fast=5", "symbol = GBPUSD"]) == {"fast": "5", "symbol": "GBPUSD"}
    with pytest.raises(BadInput, match="NAME=VALUE"):
        parse_assignments(["fast"])


def test_the_examples_are_listed_with_their_schema(tmp_path: Path) -> None:
    bots = {b["name"]: b for b in available(tmp_path)}
    assert {"ma_cross", "grid"} <= set(bots)
    assert bots["ma_cross"]["params"]["fast"]["type"] == "int" and bots["grid"]["interval"] == 2.0


def test_a_bot_file_by_path_or_in_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "bots").mkdir()
    code = "from multi_user.bots import Bot\nclass Mine(Bot):\n    interval = 1.0\n"
    (tmp_path / "bots" / "mine.py").write_text(code)
    assert load_bot("mine", tmp_path)[0] == "mine"
    assert load_bot(str(tmp_path / "bots" / "mine.py"))[1].__name__ == "Mine"
    assert load_bot(f"{tmp_path / 'bots' / 'mine.py'}:Mine")[1].interval == 1.0
    assert "mine" in {b["name"] for b in available(tmp_path)}


@pytest.mark.parametrize(("code", "says"), [
    ("raise RuntimeError('boom')", "could not be loaded: RuntimeError: boom"),
    ("x = 1", "defines no subclass of Bot"),
    ("from multi_user.bots import Bot\nclass A(Bot): pass\nclass B(Bot): pass\n", "name one as FILE.py:ClassName"),
])
def test_a_broken_bot_file_is_refused_clearly(tmp_path: Path, code: str, says: str) -> None:
    path = tmp_path / "bad.py"
    path.write_text(code)
    with pytest.raises(BadInput, match=says.replace("(", r"\(").replace(")", r"\)")):
        load_bot(str(path))


def test_unknown_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no bot named 'nope'"):
        load_bot("nope", tmp_path)
    with pytest.raises(BadInput, match="neither a bot name"):
        load_bot("../x", tmp_path)


def test_bots_list_prints_the_examples_and_their_parameters(data_dir: Path) -> None:
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(root / "main.py"), "--data-dir", str(data_dir), "bots", "list", "--json"],
                         capture_output=True, text=True, timeout=60, cwd=str(root))
    assert out.returncode == 0, out.stderr
    bots = {b["name"]: b for b in json.loads(out.stdout)["bots"]}
    assert bots["ma_cross"]["bars"] is True and bots["grid"]["bars"] is False
    assert bots["grid"]["params"]["levels"] == {"type": "int", "default": 3, "min": 1, "max": 50, "choices": None,
                                                "help": "most positions open at once"}


def test_the_example_in_the_docs_loads(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "BOTS.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "bots").mkdir()
    (tmp_path / "bots" / "breakout.py").write_text(code)
    name, cls = load_bot("breakout", tmp_path)
    assert name == "breakout" and validate(cls.params, {"bars": "30"})["bars"] == 30
    with pytest.raises(BadInput, match="parameter 'bars' must be at least 2, not 1"):
        validate(cls.params, {"bars": 1})
