"""Terminal installs: which backend runs, where a lane's terminal lives, how it is started and provisioned.

A dedicated lane gets a portable terminal: a copy of a base MT5 install in its own folder,
started as ``terminal64.exe /portable`` so its data stays inside that folder. The simulator's
install is a folder too (with a marker ``terminal64.exe``), so provisioning is the same copy.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from multi_user.errors import BadInput, TerminalError
from multi_user.paths import sim_world_dir, terminals_dir

TERMINAL_EXE = "terminal64.exe"


MISSING_ON_WINDOWS = ("The MetaTrader5 Python package is missing from this installation, so MT5 Desk cannot "
                      "reach your terminals. Reinstall MT5 Desk (or pip install MetaTrader5); "
                      "--backend sim starts the simulator instead.")


def resolve_backend_name(name: str, *, platform: str = sys.platform) -> str:
    """'auto' → 'mt5' where the MetaTrader5 package is installed, else 'sim'. Never imports it.

    On Windows the real package is part of the install, so 'auto' never falls back to the
    simulator there: a trader must not link real accounts to a simulated broker by accident.
    The simulator on Windows only when asked for (``--backend sim``), and always labelled."""
    if name not in {"auto", "mt5", "sim"}:
        raise BadInput(f"unknown backend {name!r}: use auto, mt5 or sim")
    if name != "auto":
        return name
    if importlib.util.find_spec("MetaTrader5") is not None:
        return "mt5"
    if platform == "win32":
        raise TerminalError(MISSING_ON_WINDOWS)
    return "sim"


def terminal_exe(path: str | os.PathLike[str]) -> Path:
    """Accept a terminal64.exe path or its folder; return the exe's path."""
    p = Path(path).expanduser()
    return p / TERMINAL_EXE if p.is_dir() or p.suffix.lower() != ".exe" else p


def detect_installed_terminal(appdata: str | os.PathLike[str] | None = None) -> Path | None:
    """The installed terminal initialize() would pick without a path: the one whose data folder
    (%APPDATA%\\MetaQuotes\\Terminal\\<hash>, its origin.txt naming the install) was used last.
    That can change between runs, so the app resolves it once and keeps it."""
    root = appdata if appdata is not None else os.environ.get("APPDATA")
    if not root:
        return None
    found = []
    for origin in (Path(root) / "MetaQuotes" / "Terminal").glob("*/origin.txt"):
        try:
            raw = origin.read_bytes()
            text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8", "replace")
            exe = terminal_exe(text.strip().strip("\ufeff"))
            used = max((p.stat().st_mtime for p in (origin.parent / "config").glob("*") if p.is_file()),
                       default=origin.stat().st_mtime)
        except OSError:
            continue
        if exe.is_file():
            found.append((used, str(exe)))
    return Path(max(found)[1]) if found else None


def default_shared_terminal(backend: str, data_dir: Path, configured: str | None = None) -> Path | None:
    """The shared lane's terminal: the one the owner configured, the simulator's base install, or
    None (the real package then finds the installed terminal itself)."""
    if configured:
        return terminal_exe(configured)
    if backend == "sim":
        from multi_user.mt5sim import control

        world = sim_world_dir(data_dir)
        control.ensure_world(world)
        return control.base_install(world)
    return None


def dedicated_folder(data_dir: Path, login: int, server: str) -> Path:
    safe_server = re.sub(r"[^A-Za-z0-9._-]+", "_", server).strip("._") or "server"
    return terminals_dir(data_dir) / f"{login}-{safe_server}"


def terminal_command(exe: Path, *, backend: str, portable: bool, exit_with_pid: int | None) -> list[str]:
    """The command line that starts a terminal. No credentials here, ever."""
    if backend == "sim":
        from multi_user.mt5sim import control

        return control.terminal_command(exe.parent, portable, exit_with_pid)
    return [str(exe), "/portable"] if portable else [str(exe)]


PIPE_PREFIX = "MT5.Terminal."  # the real terminal's IPC pipe, \\.\pipe\MT5.Terminal.<hash> (from _core)


def terminal_pipes(lister: Callable[[str], list[str]] = os.listdir, *, platform: str = sys.platform) -> set[str]:
    """The real terminals' IPC pipes now open on this machine (empty off Windows)."""
    if platform != "win32":
        return set()
    try:
        return {name for name in lister("\\\\.\\pipe\\") if name.startswith(PIPE_PREFIX)}
    except OSError:
        return set()


# Not copied from the base install into a dedicated folder: the base's saved passwords, its chart
# profiles (EAs on charts would start trading on the dedicated account) and its price history.
_NOT_PROGRAM_DIRS = frozenset({"bases", "profiles", "logs", "tester", ".mt5sim"})
_NOT_PROGRAM_FILES = frozenset({("config", "accounts.dat")})


def _is_program_file(rel: Path) -> bool:
    parts = tuple(p.lower() for p in rel.parts)
    return not (parts[0] in _NOT_PROGRAM_DIRS or parts in _NOT_PROGRAM_FILES or parts[-1].endswith(".partial"))


def same_folder(a: str | os.PathLike[str] | None, b: str | os.PathLike[str] | None) -> bool:
    """Two terminal paths (folders or their terminal64.exe) name the same install folder."""
    if not a or not b:
        return False

    def norm(p: str | os.PathLike[str]) -> str:
        return os.path.normcase(os.path.realpath(terminal_exe(p).parent))
    return norm(a) == norm(b)


def is_portable_install(folder: Path) -> bool:
    """An install that keeps its data inside itself (run with /portable before): it has an MQL5 folder
    there, or the portable.txt the package looks for. A standard install keeps it in AppData, and
    starting it with /portable would give it an empty data folder (no saved accounts, no EAs)."""
    return (folder / "MQL5").is_dir() or (folder / "portable.txt").is_file()


def provision_portable(base_exe: Path, target: Path,
                       progress: Callable[[int, int], None] | None = None) -> Path:
    """Copy a base install into ``target`` (a portable terminal folder); returns the new exe.

    A new folder is copied into a temporary sibling then renamed, so an interrupted copy never
    leaves a half-provisioned terminal behind. An existing provisioned folder is reused as it is.
    An existing folder without its terminal64.exe is repaired in place: only the missing program
    files are copied; nothing in it is deleted or overwritten (it holds the trader's Experts,
    profiles and settings).
    """
    base_dir = base_exe.parent
    new_exe = target / base_exe.name
    if new_exe.exists():
        return new_exe
    if not base_exe.is_file():
        raise TerminalError(f"No MetaTrader 5 install at {base_dir}: point Settings → base install "
                            "to a folder that holds terminal64.exe", -10003)
    files = [p for p in base_dir.rglob("*") if p.is_file() and _is_program_file(p.relative_to(base_dir))]
    if target.exists():
        return _repair(base_dir, files, target, new_exe, progress)
    total = sum(p.stat().st_size for p in files) or 1
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)  # our own leftover of an interrupted copy
    staging.mkdir(parents=True)
    done = 0
    try:
        for src in files:
            dst = staging / src.relative_to(base_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            done += src.stat().st_size
            if progress:
                progress(done, total)
        staging.rename(target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise TerminalError(f"Could not copy the terminal to {target}: {exc.strerror or exc}") from None
    return new_exe


def _repair(base_dir: Path, files: list[Path], target: Path, new_exe: Path,
            progress: Callable[[int, int], None] | None) -> Path:
    # The exe goes last: until it is there, the folder still counts as needing repair.
    missing = sorted((p for p in files if not (target / p.relative_to(base_dir)).exists()),
                     key=lambda p: p.name == new_exe.name)
    total = sum(p.stat().st_size for p in missing) or 1
    done = 0
    try:
        for src in missing:
            dst = target / src.relative_to(base_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            part = dst.with_name(dst.name + ".partial")
            shutil.copy2(src, part)
            part.replace(dst)  # whole or not at all, so a half-copied file is never taken as present
            done += src.stat().st_size
            if progress:
                progress(done, total)
    except OSError as exc:
        raise TerminalError(f"Could not repair the terminal in {target}: {exc.strerror or exc}") from None
    return new_exe
