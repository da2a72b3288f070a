"""Which MetaTrader5 implementation a process talks to: the real package or the simulator.

The rest of the code sees one interface, the package's own functions called the package's way.
``MetaTrader5`` is loaded only here and only through importlib, so the import-linter contracts
can prove that the GUI process never imports it.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

from multi_user.errors import BadInput, TerminalError
from multi_user.paths import sim_world_dir

REAL_PACKAGE = "MetaTrader5"
SIM_PACKAGE = "multi_user.mt5sim"


def _import_real() -> types.ModuleType | None:
    try:
        return importlib.import_module(REAL_PACKAGE)
    except ImportError:
        return None


def load_backend(name: str, data_dir: Path, *, platform: str = sys.platform) -> types.ModuleType:
    """``"mt5"``: the real package (TerminalError if it is not installed); ``"sim"``: the simulator,
    pointed at the data dir's world (created on first use); ``"auto"``: the real one where it imports,
    else the simulator — except on Windows, where a missing package is an error, never a silent
    simulator (see terminals.resolve_backend_name)."""
    if name not in ("auto", "mt5", "sim"):
        raise BadInput(f"unknown backend {name!r}: use auto, mt5 or sim", field="backend")
    if name in ("auto", "mt5"):
        real = _import_real()
        if real is not None:
            return real
        if name == "auto" and platform == "win32":
            from multi_user.terminals import MISSING_ON_WINDOWS

            raise TerminalError(MISSING_ON_WINDOWS)
        if name == "mt5":
            raise TerminalError("The MetaTrader5 Python package is not installed (it runs only on Windows: "
                                "pip install MetaTrader5), or use --backend sim for the simulator")
    sim = importlib.import_module(SIM_PACKAGE)
    from multi_user.mt5sim import control

    world = sim_world_dir(Path(data_dir))
    control.ensure_world(world)
    control.use_world(world)
    return sim


def backend_is_simulator(module: types.ModuleType) -> bool:
    return getattr(module, "__name__", "") == SIM_PACKAGE
