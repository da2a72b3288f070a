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
