"""Provisioning a dedicated terminal folder: a fresh copy, reuse, and repair that keeps the trader's files."""

from __future__ import annotations

from pathlib import Path

from multi_user.terminals import provision_portable


def make_base(root: Path) -> Path:
    base = root / "base"
    (base / "MQL5" / "Experts").mkdir(parents=True)
    (base / "terminal64.exe").write_bytes(b"exe" * 100)
    (base / "metaeditor64.exe").write_bytes(b"editor")
    (base / "MQL5" / "Experts" / "Sample.ex5").write_bytes(b"sample")
    return base / "terminal64.exe"


def test_a_fresh_folder_is_copied_whole_and_then_reused(tmp_path: Path) -> None:
    base_exe = make_base(tmp_path)
    target = tmp_path / "terminals" / "111-S1"
    seen: list[tuple[int, int]] = []
    exe = provision_portable(base_exe, target, lambda d, t: seen.append((d, t)))
    assert exe == target / "terminal64.exe" and exe.read_bytes() == base_exe.read_bytes()
    assert (target / "MQL5" / "Experts" / "Sample.ex5").is_file()
    assert seen and seen[-1][0] == seen[-1][1]
    assert not target.with_name("111-S1.partial").exists()
    (target / "config.ini").write_text("mine")
    assert provision_portable(base_exe, target) == exe and (target / "config.ini").read_text() == "mine"


def test_a_folder_missing_its_exe_is_repaired_without_losing_the_traders_files(tmp_path: Path) -> None:
    """[R] 11: only the missing program files are copied; the trader's files stay as they are."""
    base_exe = make_base(tmp_path)
    target = tmp_path / "terminals" / "111-S1"
    provision_portable(base_exe, target)
    (target / "terminal64.exe").unlink()
    (target / "MQL5" / "Experts" / "MyRobot.ex5").write_bytes(b"the trader's own EA")
    (target / "MQL5" / "Experts" / "Sample.ex5").write_bytes(b"edited by the trader")
    (target / "profiles").mkdir()
    (target / "profiles" / "mine.chr").write_text("chart")
    exe = provision_portable(base_exe, target)
    assert exe.read_bytes() == base_exe.read_bytes()
    assert (target / "MQL5" / "Experts" / "MyRobot.ex5").read_bytes() == b"the trader's own EA"
    assert (target / "MQL5" / "Experts" / "Sample.ex5").read_bytes() == b"edited by the trader"
    assert (target / "profiles" / "mine.chr").read_text() == "chart"
    assert not list(target.rglob("*.partial"))


def test_provisioning_copies_program_files_only(tmp_path: Path) -> None:
    """[W] 9: not the base's saved passwords, its chart profiles (EAs on charts) nor its price history."""
    base_exe = make_base(tmp_path)
    base = base_exe.parent
    for rel in ("config/accounts.dat", "Config/common.ini", "Profiles/Charts/Default/chart01.chr",
                "bases/SimBroker-Demo/history/EURUSD/2025.hcc", "logs/20251125.log"):
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(b"x")
    target = tmp_path / "terminals" / "111-S1"
    exe = provision_portable(base_exe, target)
    assert exe.is_file() and (target / "MQL5" / "Experts" / "Sample.ex5").is_file()
    assert (target / "Config" / "common.ini").is_file()
    for rel in ("config/accounts.dat", "Profiles", "bases", "logs"):
        assert not (target / rel).exists(), rel


def test_a_portable_install_is_told_from_a_standard_one(tmp_path: Path) -> None:
    from multi_user.terminals import is_portable_install

    base = make_base(tmp_path).parent
    assert is_portable_install(base)  # its data (MQL5) lives inside it
    standard = tmp_path / "Program Files" / "MetaTrader 5"
    standard.mkdir(parents=True)
    (standard / "terminal64.exe").write_bytes(b"exe")
    assert not is_portable_install(standard)


def test_the_real_terminals_pipes_are_listed_by_their_prefix() -> None:
    """[W] 3: the app waits for a new \\\\.\\pipe\\MT5.Terminal.<hash> before the worker's initialize()."""
    from multi_user.terminals import terminal_pipes

    def lister(where: str) -> list[str]:
        assert where == "\\\\.\\pipe\\"
        return ["MT5.Terminal.ABC123", "chrome.sync.1", "MT5.Terminal.DEF456"]

    assert terminal_pipes(lister, platform="win32") == {"MT5.Terminal.ABC123", "MT5.Terminal.DEF456"}
    assert terminal_pipes(lister, platform="linux") == set()


def test_the_installed_terminal_is_the_one_whose_data_was_used_last(tmp_path: Path) -> None:
    """[W] 8: as initialize() without a path picks it (origin.txt in each AppData data folder); the app
    resolves it once and keeps it."""
    import os

    from multi_user.terminals import detect_installed_terminal

    appdata = tmp_path / "AppData" / "Roaming"
    installs = []
    for i, name in enumerate(("MetaTrader 5", "Broker MT5")):
        install = tmp_path / "Program Files" / name
        install.mkdir(parents=True)
        (install / "terminal64.exe").write_bytes(b"exe")
        data = appdata / "MetaQuotes" / "Terminal" / f"HASH{i}"
        (data / "config").mkdir(parents=True)
        (data / "origin.txt").write_text(str(install), encoding="utf-16")  # as the terminal writes it
        (data / "config" / "terminal.ini").write_text("x")
        os.utime(data / "config" / "terminal.ini", (1000 + i, 1000 + i))
        installs.append(install)
    assert detect_installed_terminal(appdata) == installs[1] / "terminal64.exe"
    os.utime(appdata / "MetaQuotes" / "Terminal" / "HASH0" / "config" / "terminal.ini", (5000, 5000))
    assert detect_installed_terminal(appdata) == installs[0] / "terminal64.exe"
    assert detect_installed_terminal(tmp_path / "nothing") is None
