"""Simulator fixtures (plugin loaded by conftest.py): a demo world per test, stopped at teardown."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sim_world(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The data dir's simulator world with the demo accounts; every terminal of it is stopped afterwards."""
    from multi_user.mt5sim import client, control
    from multi_user.paths import sim_world_dir

    world = sim_world_dir(data_dir)
    control.ensure_world(world)
    control.use_world(world)
    monkeypatch.setenv(control.ENV_WORLD, str(world))
    try:
        yield world
    finally:
        client.drop()
        control.stop_all_terminals(world)
        control.use_world(None)


@pytest.fixture
def demo_accounts(sim_world: Path) -> list[dict]:
    from multi_user.mt5sim import control

    return control.demo_accounts(sim_world)


@pytest.fixture
def mt5(sim_world: Path) -> Iterator[ModuleType]:
    """The simulator module as ``import MetaTrader5 as mt5`` code sees it; shut down afterwards."""
    import multi_user.mt5sim as sim

    yield sim
    sim.shutdown()


def sim_cli(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python main.py --data-dir D sim ARGS...`` in its own process."""
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "sim", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))


def run_client(code: str, *args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python process (its own MetaTrader5 singleton), secrets on stdin only."""
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, cwd=str(ROOT))
