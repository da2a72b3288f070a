"""The layers of DESIGN.md hold (import-linter), the code is ruff clean, and modules stay small."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_contracts_hold() -> None:
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_ruff_clean() -> None:
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_static_metatrader5_import_outside_the_backend_loader() -> None:
    offenders = []
    for path in ROOT.glob("**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "build" in path.parts:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import MetaTrader5", "from MetaTrader5")):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert not offenders, offenders


def test_modules_stay_small() -> None:
    big = []
    for folder in ("app", "ui", "multi_user"):
        for path in (ROOT / folder).rglob("*.py"):
            n = sum(1 for _ in path.open(encoding="utf-8"))
            if n > 500:
                big.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not big, "split these by responsibility: " + ", ".join(big)


def test_app_imports_no_widgets() -> None:
    """app/ may use QtCore (QObject, QProcess, QTimer), never QtWidgets or QtGui."""
    import ast

    offenders = []
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.startswith(("PySide6.QtWidgets", "PySide6.QtGui")):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, offenders
