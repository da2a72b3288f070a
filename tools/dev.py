"""Set up the development environment and run the app or the tests.

    python3 tools/dev.py run  [main.py arguments...]   set up .venv, start MT5 Desk
    python3 tools/dev.py test [pytest arguments...]    set up .venv, run the whole test suite
    python3 tools/dev.py setup                         only set up .venv

Works on Linux, macOS and Windows. Uses `uv` when it is on PATH (several times
faster), else the standard venv + pip. The environment is reinstalled only when
pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".mt5desk-installed"


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def _wanted_stamp(extras: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} {extras} {sys.version_info[:2]}"


def setup(extras: str = "test") -> Path:
    py = venv_python()
    wanted = _wanted_stamp(extras)
    if py.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return py
    uv = shutil.which("uv")
    print(f"Setting up {VENV} ({'uv' if uv else 'pip'}) ...", flush=True)
    if not py.exists():
        if uv:
            subprocess.run([uv, "venv", "--python", sys.executable, str(VENV)], check=True)
        else:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    if uv:
        cmd = [uv, "pip", "install", "--python", str(py), "-e", target]
    else:
        cmd = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target]
    subprocess.run(cmd, check=True)
    STAMP.write_text(wanted)
    return py


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "setup"}:
        print(__doc__)
        return 2
    verb, rest = argv[0], argv[1:]
    if verb == "setup":
        setup()
        return 0
    py = setup()
    os.chdir(ROOT)
    if verb == "run":
        return subprocess.call([str(py), "main.py", *rest])
    return subprocess.call([str(py), "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
