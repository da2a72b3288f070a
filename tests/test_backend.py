"""Backend loading: mt5 / sim / auto, and that the real package is loaded only through importlib."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

from multi_user import backend
from multi_user.errors import BadInput, TerminalError
from multi_user.paths import sim_world_dir

REAL_INSTALLED = importlib.util.find_spec("MetaTrader5") is not None


@pytest.fixture
def reset_world():
    from multi_user.mt5sim import control

    yield
    control.use_world(None)


def test_sim_gives_the_simulator_and_creates_the_world(data_dir: Path, reset_world) -> None:
    mod = backend.load_backend("sim", data_dir)
    assert mod.__name__ == "multi_user.mt5sim" and backend.backend_is_simulator(mod)
    world = sim_world_dir(data_dir)
    assert (world / "world.sqlite3").is_file()
    assert (world / "MetaTrader 5" / "terminal64.exe").is_file()
    from multi_user.mt5sim import control

    assert control.current_world() == world.resolve()
    assert len(control.demo_accounts(world)) >= 8


@pytest.mark.skipif(REAL_INSTALLED, reason="the real package is installed here")
def test_mt5_without_the_package_is_a_clear_terminal_error(data_dir: Path) -> None:
    with pytest.raises(TerminalError, match="MetaTrader5 Python package is not installed"):
        backend.load_backend("mt5", data_dir)
    assert not sim_world_dir(data_dir).exists()  # nothing created


@pytest.mark.skipif(REAL_INSTALLED, reason="the real package is installed here")
def test_auto_falls_back_to_the_simulator(data_dir: Path, reset_world) -> None:
    assert backend.backend_is_simulator(backend.load_backend("auto", data_dir))


def test_auto_and_mt5_prefer_the_real_package_where_it_imports(data_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("MetaTrader5")
    fake.initialize = lambda *a, **k: True  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "MetaTrader5", fake)
    assert backend.load_backend("auto", data_dir) is fake
    assert backend.load_backend("mt5", data_dir) is fake
    assert not backend.backend_is_simulator(fake)
    assert not sim_world_dir(data_dir).exists()


def test_unknown_backend_is_bad_input(data_dir: Path) -> None:
    with pytest.raises(BadInput, match="unknown backend"):
        backend.load_backend("wine", data_dir)


def test_metatrader5_is_never_imported_statically() -> None:
    import ast

    tree = ast.parse(Path(backend.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(a.name != "MetaTrader5" for a in node.names)
        if isinstance(node, ast.ImportFrom):
            assert node.module != "MetaTrader5"


@pytest.mark.skipif(REAL_INSTALLED, reason="the real package is installed here")
def test_auto_on_windows_without_the_package_is_an_error_not_the_simulator(data_dir: Path) -> None:
    from multi_user.terminals import resolve_backend_name

    with pytest.raises(TerminalError, match="missing from this installation"):
        resolve_backend_name("auto", platform="win32")
    with pytest.raises(TerminalError, match="missing from this installation"):
        backend.load_backend("auto", data_dir, platform="win32")
    assert not sim_world_dir(data_dir).exists()  # no simulated world behind the trader's back
    assert resolve_backend_name("sim", platform="win32") == "sim"  # only when asked for


@pytest.mark.skipif(REAL_INSTALLED, reason="the real package is installed here")
def test_backend_check_fails_without_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    from multi_user import backend_check

    assert backend_check.main() == 3
    assert "MetaTrader5 package is not in this installation" in capsys.readouterr().err


def test_backend_check_names_the_package_it_found(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from multi_user import backend_check

    fake = types.ModuleType("MetaTrader5")
    fake.__version__ = "5.0.6231"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "MetaTrader5", fake)
    assert backend_check.main() == 0
    assert "MetaTrader5 5.0.6231" in capsys.readouterr().out


def test_the_windows_build_carries_the_real_package() -> None:
    spec = (Path(__file__).resolve().parent.parent / "packaging" / "mt5desk.spec").read_text()
    assert '"MetaTrader5", *collect_submodules("MetaTrader5")' in spec
    workflow = (Path(__file__).resolve().parent.parent / ".github" / "workflows" / "windows.yml").read_text()
    assert "--child multi_user.backend_check" in workflow


def test_job_object_calls_have_64_bit_handle_prototypes() -> None:
    from ctypes import wintypes

    from multi_user.job_object import declare_prototypes

    names = ("CreateJobObjectW", "SetInformationJobObject", "OpenProcess", "AssignProcessToJobObject", "CloseHandle")
    kernel32 = types.SimpleNamespace(**{n: types.SimpleNamespace() for n in names})
    declare_prototypes(kernel32)
    assert kernel32.CreateJobObjectW.restype is wintypes.HANDLE  # not a truncated C int
    assert kernel32.OpenProcess.restype is wintypes.HANDLE
    assert kernel32.AssignProcessToJobObject.argtypes == [wintypes.HANDLE, wintypes.HANDLE]
    assert all(isinstance(getattr(kernel32, n).argtypes, list) for n in names)


def test_a_login_that_needs_an_otp_or_certificate_is_said_plainly() -> None:
    """[W] 10: -7 at a login is not a wrong password and not a generic failure."""
    from multi_user.bridge import UserMT5Bridge
    from multi_user.errors import AuthorizationError

    fake = types.SimpleNamespace(last_error=lambda: (-7, "Terminal: Unsupported function"))
    err = UserMT5Bridge(fake)._error("Could not log in to 5001 on Broker-Live", 5001, "Broker-Live")
    assert isinstance(err, TerminalError) and not isinstance(err, AuthorizationError)
    assert err.code == -7 and "one-time password" in str(err) and "certificate" in str(err)
