"""The Windows installer, end to end: compile installer.nsi with makensis -WX, run it silently under
wine64 in a throwaway prefix, and check files, shortcuts, the HKCU uninstall key, upgrade in place,
refusal while MT5 Desk (or a terminal it started) runs, and an uninstaller that keeps the trader's
data unless /REMOVEDATA is given.

The payload is a staged folder, not a PyInstaller build: the installer's mechanics do not depend on
what the files are, and staging keeps this fast. Its "MT5 Desk.exe" is a tiny NSIS-built stand-in
that can hold the app's named mutex, so the running-app refusal is tested for real.

Needs makensis and wine64 (Debian: apt-get install nsis wine64). Skipped without them, except on
CI (CI=true), where their absence fails the test.
"""

from __future__ import annotations

import contextlib
import getpass
import importlib.util
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNINST_KEY = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\MT5 Desk"
EXIT_REFUSED = 2
EXIT_BAD_FOLDER = 4
WINE_TIMEOUT = 120.0


def _load_build_module():
    # packaging/ is not a package (the name would shadow PyPI's `packaging`), so load it by path.
    spec = importlib.util.spec_from_file_location("mt5desk_packaging_build", ROOT / "packaging" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build_module()


def _find_tool(name: str, *fallbacks: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((f for f in fallbacks if os.access(f, os.X_OK)), None)


MAKENSIS = _find_tool("makensis")
# Debian's wine64 package installs the loader only under /usr/lib/wine.
WINE64 = _find_tool("wine64", "/usr/lib/wine/wine64")
WINESERVER = _find_tool("wineserver", "/usr/lib/wine/wineserver")


def _require(*tools: tuple[str, str | None]) -> None:
    missing = [name for name, path in tools if not path]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not installed (Debian: apt-get install nsis wine64)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the installer test: {reason}", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------------------------------------
# Checks that need neither makensis nor wine


def test_missing_tools_fail_on_ci_and_skip_elsewhere(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="wine64 not installed"):
        _require(("makensis", "/usr/bin/makensis"), ("wine64", None))
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="makensis and wine64 not installed"):
        _require(("makensis", None), ("wine64", None))
    _require(("makensis", "/usr/bin/makensis"))  # present: neither


def test_windows_version4_pads_and_strips_suffixes():
    assert build.windows_version4("0.1.0") == "0.1.0.0"
    assert build.windows_version4("2.10") == "2.10.0.0"
    assert build.windows_version4("1.2.3rc1") == "1.2.3.0"
    assert build.windows_version4("1.2.3.4") == "1.2.3.4"
    with pytest.raises(ValueError):
        build.windows_version4("v1")
    with pytest.raises(ValueError):
        build.windows_version4("1.70000")


def test_read_version_matches_pyproject():
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as f:
        assert build.read_version() == tomllib.load(f)["project"]["version"]


def test_payload_list_removes_only_payload_files_deepest_folder_first(tmp_path: Path):
    payload = tmp_path / "MT5 Desk"
    (payload / "_internal" / "deep" / "er").mkdir(parents=True)
    (payload / "MT5 Desk.exe").write_bytes(b"x")
    (payload / "_internal" / "deep" / "er" / "a$b.dll").write_bytes(b"x")
    (payload / "_internal" / "données.txt").write_bytes(b"x")
    listing = build.write_payload_list(payload)
    assert listing == tmp_path / "MT5 Desk-files.nsh"
    raw = listing.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = [ln for ln in raw.decode("utf-8-sig").splitlines() if not ln.startswith(";")]
    deletes = [ln for ln in lines if ln.startswith("Delete")]
    assert sorted(deletes) == [
        'Delete "$INSTDIR\\MT5 Desk.exe"',
        'Delete "$INSTDIR\\_internal\\deep\\er\\a$$b.dll"',
        'Delete "$INSTDIR\\_internal\\données.txt"',
    ]
    assert lines[len(deletes):] == [
        'RMDir "$INSTDIR\\_internal\\deep\\er"',
        'RMDir "$INSTDIR\\_internal\\deep"',
        'RMDir "$INSTDIR\\_internal"',
    ]
    assert not any("/r" in ln for ln in lines)


def test_payload_list_refuses_a_missing_or_empty_folder(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        build.write_payload_list(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError):
        build.write_payload_list(tmp_path / "empty")


def test_icons_are_checked_in_with_the_sizes_windows_needs():
    ico = (ROOT / "resources" / "app.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", ico, 0)
    assert (reserved, kind) == (0, 1)
    sizes = {256 if ico[6 + 16 * i] == 0 else ico[6 + 16 * i] for i in range(count)}
    assert {16, 24, 32, 48, 256} <= sizes
    png = (ROOT / "resources" / "app.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (256, 256)


def test_running_mutex_is_a_no_op_off_windows():
    from app.windows_mutex import MUTEX_NAME, hold_running_mutex

    # installer.nsi must look for the very name the app holds.
    assert f'!define MUTEX_NAME "{MUTEX_NAME}"' in (ROOT / "installer.nsi").read_text(encoding="utf-8")
    if sys.platform != "win32":
        assert hold_running_mutex() is None


def test_spec_excludes_unused_qt_and_builds_both_exes():
    spec = (ROOT / "packaging" / "mt5desk.spec").read_text(encoding="utf-8")
    compile(spec, "mt5desk.spec", "exec")
    for module in ("QtWebEngineCore", "Qt3DCore", "QtQuick", "QtQml", "QtMultimedia", "QtCharts", "QtPdf"):
        assert f'"PySide6.{module}"' in spec
    assert 'name="MT5 Desk"' in spec and 'name="MT5 Desk-debug"' in spec


# ---------------------------------------------------------------------------------------------
# makensis


FAKE_APP_NSI = r"""
; Stand-in for MT5 Desk.exe / terminal64.exe: writes /READY=file, optionally holds the app's mutex
; (/MUTEX), and runs until /STOP=file exists.
Unicode true
Target amd64-unicode
RequestExecutionLevel user
SilentInstall silent
OutFile "${OUT}"
!include "FileFunc.nsh"
!include "LogicLib.nsh"
Section
SectionEnd
Function .onInit
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/MUTEX" $1
  ${IfNot} ${Errors}
    System::Call 'kernel32::CreateMutexW(p 0, i 0, w "Local\MT5DeskRunning") p .r9'
  ${EndIf}
  ${GetOptions} $0 "/READY=" $2
  ${GetOptions} $0 "/STOP=" $3
  FileOpen $4 $2 w
  FileWrite $4 "ready"
  FileClose $4
  ${DoUntil} ${FileExists} $3
    Sleep 50
  ${Loop}
  Quit
FunctionEnd
"""


def _compile_fake_app(out: Path) -> Path:
    nsi = out.with_suffix(".nsi")
    nsi.write_text(FAKE_APP_NSI, encoding="utf-8")
    subprocess.run([MAKENSIS, "-WX", "-V2", f"-DOUT={out}", str(nsi)], check=True, timeout=120)
    return out


def _stage_payload(folder: Path, fake_app: Path, only: str) -> Path:
    """A one-folder app shaped like PyInstaller's output; `only` names a file unique to this build."""
    internal = folder / "_internal"
    (internal / "PySide6" / "plugins" / "platforms").mkdir(parents=True)
    (internal / "resources").mkdir()
    shutil.copy(fake_app, folder / "MT5 Desk.exe")
    shutil.copy(fake_app, folder / "MT5 Desk-debug.exe")
    shutil.copy(ROOT / "resources" / "app.ico", internal / "resources" / "app.ico")
    (internal / "PySide6" / "plugins" / "platforms" / "qwindows.dll").write_bytes(os.urandom(4096))
    (internal / "base_library.zip").write_bytes(os.urandom(20000))
    (internal / "données $x.txt").write_text("unicode and a dollar sign in a name", encoding="utf-8")
    (internal / only).write_bytes(only.encode())
    return folder


@pytest.fixture(scope="module")
def installers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two installer versions around two staged payloads, and the stand-in app."""
    _require(("makensis", MAKENSIS))
    tmp = tmp_path_factory.mktemp("installers")
    fake = _compile_fake_app(tmp / "fakeapp.exe")
    v1 = _stage_payload(tmp / "v1" / "MT5 Desk", fake, "old_only.dll")
    v2 = _stage_payload(tmp / "v2" / "MT5 Desk", fake, "new_only.dll")
    version = build.read_version()
    return {
        "fake": fake,
        "v1_payload": v1,
        "v2_payload": v2,
        "v1": build.build_installer(v1, tmp / f"MT5-Desk-{version}-setup.exe", version),
        "v2": build.build_installer(v2, tmp / "MT5-Desk-99.1.0-setup.exe", "99.1.0"),
    }


def _fixed_file_version(exe: bytes) -> str:
    at = exe.find(struct.pack("<I", 0xFEEF04BD))
    assert at > 0, "no VS_FIXEDFILEINFO in the exe"
    ms, ls = struct.unpack_from("<II", exe, at + 8)
    return f"{ms >> 16}.{ms & 0xFFFF}.{ls >> 16}.{ls & 0xFFFF}"


@pytest.mark.wine
def test_makensis_warnings_as_errors_compiles_with_version_resource(installers: dict[str, Path]):
    version = build.read_version()
    exe = installers["v1"].read_bytes()
    assert exe[:2] == b"MZ"
    # The version resource: strings in UTF-16, numbers in VS_FIXEDFILEINFO.
    for text in ("ProductName", "MT5 Desk", "ProductVersion", version):
        assert text.encode("utf-16-le") in exe, text
    assert _fixed_file_version(exe) == build.windows_version4(version)
    assert _fixed_file_version(installers["v2"].read_bytes()) == "99.1.0.0"


@pytest.mark.wine
def test_plain_makensis_reads_the_version_from_pyproject(installers: dict[str, Path], tmp_path: Path):
    """No VERSION define: installer.nsi's !searchparse picks it out of pyproject.toml."""
    out = tmp_path / "plain.exe"
    payload = installers["v1_payload"]
    proc = subprocess.run([MAKENSIS, "-WX", "-V2", f"-DPAYLOAD={payload}",
                           f"-DPAYLOAD_LIST={build.payload_list_path(payload)}", f"-DOUTFILE={out}",
                           "installer.nsi"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert build.read_version().encode("utf-16-le") in out.read_bytes()


# ---------------------------------------------------------------------------------------------
# wine


class WinePrefix:
    """A throwaway wine prefix with its own HOME, so nothing touches the real home folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = root / "prefix"
        self.home = root / "home"
        self.home.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "WINE", "DISPLAY", "WAYLAND"))}
        env.update(
            HOME=str(self.home), WINEPREFIX=str(self.prefix), WINEDEBUG="-all",
            XDG_CONFIG_HOME=str(self.home / ".config"), XDG_DATA_HOME=str(self.home / ".local" / "share"),
            # No Mono/Gecko download prompts, and no .desktop files for the shortcuts we create.
            WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d",
        )
        self.env = env
        self.user = getpass.getuser()

    def find_user(self) -> None:
        """The profile folder wineboot made (the Unix user name, which `getpass` may not agree on)."""
        users = [p.name for p in (self.prefix / "drive_c" / "users").iterdir()
                 if p.name != "Public" and (p / "AppData").is_dir()]
        assert len(users) == 1, f"expected one wine user profile, found {users}"
        self.user = users[0]

    # -- processes --------------------------------------------------------------------------

    def run(self, *args: str, timeout: float = WINE_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run([WINE64, *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def run_cmdline(self, line: str) -> int:
        """Run a Windows command line verbatim (wine would quote an argument like `_?=C:\\a b`)."""
        bat = self.root / "run.bat"
        bat.write_text(f"@echo off\r\n{line}\r\nexit /b %ERRORLEVEL%\r\n", encoding="utf-8")
        return self.run("cmd", "/c", self.unix_to_win(bat)).returncode

    def wait_idle(self, timeout: float = WINE_TIMEOUT) -> None:
        """Wait until every process in the prefix has ended (wineserver then exits)."""
        subprocess.run([WINESERVER, "-w"], env=self.env, timeout=timeout, check=False)

    def stop(self) -> None:
        """Kill whatever still runs in the prefix and wait until it is gone."""
        subprocess.run([WINESERVER, "-k"], env=self.env, timeout=60, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([WINESERVER, "-w"], env=self.env, timeout=60, check=False)
        deadline = time.monotonic() + 30
        while self._pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in self._pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _pids(self) -> list[int]:
        needle = f"WINEPREFIX={self.prefix}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0") and \
                        ") Z " not in (entry / "stat").read_text():
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    @contextlib.contextmanager
    def running(self, exe: Path, *flags: str) -> Iterator[subprocess.Popen[bytes]]:
        """Start a stand-in exe inside the prefix; yields once it is up, stops it afterwards."""
        ready, stop = self.root / "ready", self.root / "stop"
        ready.unlink(missing_ok=True)
        stop.unlink(missing_ok=True)
        proc = subprocess.Popen([WINE64, str(exe), *flags, f"/READY={self.unix_to_win(ready)}",
                                 f"/STOP={self.unix_to_win(stop)}"], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not ready.exists():
                assert proc.poll() is None, f"{exe.name} exited with {proc.returncode}"
                assert time.monotonic() < deadline, f"{exe.name} did not start"
                time.sleep(0.05)
            yield proc
        finally:
            stop.write_text("stop")
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    # -- paths and registry -----------------------------------------------------------------

    @staticmethod
    def unix_to_win(path: Path) -> str:
        return "Z:" + str(path).replace("/", "\\")

    @property
    def profile(self) -> Path:
        return self.prefix / "drive_c" / "users" / self.user

    @property
    def install_dir(self) -> Path:
        return self.profile / "AppData" / "Local" / "Programs" / "MT5 Desk"

    @property
    def install_dir_win(self) -> str:
        return rf"C:\users\{self.user}\AppData\Local\Programs\MT5 Desk"

    @property
    def data_dir(self) -> Path:
        """platformdirs.user_data_dir("MT5 Desk", appauthor=False) on Windows."""
        return self.profile / "AppData" / "Local" / "MT5 Desk"

    @property
    def start_menu_link(self) -> Path:
        return self.profile / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / \
            "MT5 Desk.lnk"

    @property
    def desktop_link(self) -> Path:
        return self.profile / "Desktop" / "MT5 Desk.lnk"

    def reg_values(self, key: str) -> dict[str, str] | None:
        """The values of a registry key as `reg query` prints them, or None when there is no such key."""
        proc = self.run("reg", "query", key)
        if proc.returncode != 0:
            return None
        values = {}
        for line in proc.stdout.splitlines():
            parts = line.strip().split(None, 2) if line.startswith("    ") else []
            if len(parts) >= 2 and parts[1].startswith("REG_"):
                values[parts[0]] = parts[2] if len(parts) == 3 else ""
        return values

    def reset(self) -> None:
        """Back to a never-installed state, whatever an earlier test left."""
        for path in (self.install_dir, self.data_dir):
            shutil.rmtree(path, ignore_errors=True)
        for link in (self.start_menu_link, self.desktop_link):
            link.unlink(missing_ok=True)
        self.run("reg", "delete", UNINST_KEY, "/f")


@pytest.fixture(scope="module")
def wine_prefix(tmp_path_factory: pytest.TempPathFactory, installers: dict[str, Path]) -> Iterator[WinePrefix]:
    """One booted prefix for the module (wineboot is the slow part); no process outlives a test."""
    _require(("makensis", MAKENSIS), ("wine64", WINE64), ("wineserver", WINESERVER))
    wp = WinePrefix(tmp_path_factory.mktemp("wine"))
    try:
        proc = wp.run("wineboot", "--init")
        assert proc.returncode == 0, proc.stderr[-2000:]
        wp.wait_idle()
        wp.find_user()
        yield wp
    finally:
        wp.stop()


@pytest.fixture
def wine(wine_prefix: WinePrefix) -> Iterator[WinePrefix]:
    wine_prefix.reset()
    try:
        yield wine_prefix
    finally:
        wine_prefix.stop()


def _install(wine: WinePrefix, installer: Path, *flags: str) -> int:
    return wine.run(str(installer), "/S", *flags).returncode


def _uninstall(wine: WinePrefix, *flags: str) -> int:
    """The normal way: the uninstaller copies itself to %TEMP% and returns; wait for the copy."""
    rc = wine.run(str(wine.install_dir / "Uninstall.exe"), "/S", *flags).returncode
    wine.wait_idle()
    return rc


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _link_targets(link: Path, target: str) -> bool:
    data = link.read_bytes()
    return target.encode("utf-16-le") in data or target.encode() in data


def _plant_data(wine: WinePrefix) -> dict[str, bytes]:
    files = {"vault.sqlite3": b"SQLite format 3\0" + os.urandom(64), "history.sqlite3": os.urandom(128),
             "settings.json": b'{"theme": "dark"}', "logs/mt5desk.log": b"log line\n"}
    for rel, data in files.items():
        path = wine.data_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


@pytest.mark.wine
@pytest.mark.slow
def test_silent_install_then_uninstall_keeps_the_data(wine: WinePrefix, installers: dict[str, Path]):
    version = build.read_version()
    assert _install(wine, installers["v1"]) == 0

    expected = _files(installers["v1_payload"])
    installed = _files(wine.install_dir)
    assert set(installed) == set(expected) | {"Uninstall.exe"}
    assert all(installed[k] == v for k, v in expected.items())

    assert _link_targets(wine.start_menu_link, "MT5 Desk.exe")
    assert _link_targets(wine.desktop_link, "MT5 Desk.exe")

    values = wine.reg_values(UNINST_KEY)
    assert values is not None, "no uninstall entry in HKCU"
    exe_win = wine.install_dir_win + r"\MT5 Desk.exe"
    uninstaller = f'"{wine.install_dir_win}\\Uninstall.exe"'
    assert values["DisplayName"] == "MT5 Desk"
    assert values["DisplayVersion"] == version
    assert values["Publisher"] == "MT5 Desk"
    assert values["DisplayIcon"] == exe_win + ",0"
    assert values["InstallLocation"] == wine.install_dir_win
    assert values["UninstallString"] == uninstaller
    assert values["QuietUninstallString"] == uninstaller + " /S"
    assert values["NoModify"] == values["NoRepair"] == "0x1"
    size_kb = sum(len(b) for b in installed.values()) / 1024
    assert 0.5 * size_kb <= int(values["EstimatedSize"], 16) <= 2 * size_kb + 8
    # Per user only: nothing in the machine-wide list.
    assert wine.reg_values(UNINST_KEY.replace("HKCU", "HKLM")) is None

    data = _plant_data(wine)
    (wine.install_dir / "my notes.txt").write_text("the trader's own file")
    assert _uninstall(wine) == 0

    assert _files(wine.install_dir) == {"my notes.txt": b"the trader's own file"}
    assert not wine.start_menu_link.exists()
    assert not wine.desktop_link.exists()
    assert wine.reg_values(UNINST_KEY) is None
    assert _files(wine.data_dir) == data


@pytest.mark.wine
@pytest.mark.slow
def test_uninstall_with_removedata_removes_accounts_and_history(wine: WinePrefix, installers: dict[str, Path]):
    assert _install(wine, installers["v1"]) == 0
    _plant_data(wine)
    assert _uninstall(wine, "/REMOVEDATA") == 0
    assert not wine.install_dir.exists()
    assert not wine.data_dir.exists()
    assert wine.reg_values(UNINST_KEY) is None
    assert not wine.start_menu_link.exists()


@pytest.mark.wine
@pytest.mark.slow
def test_upgrade_in_place_replaces_old_files_and_keeps_choices_and_data(wine: WinePrefix,
                                                                       installers: dict[str, Path]):
    assert _install(wine, installers["v1"], "/NODESKTOP") == 0
    assert wine.start_menu_link.exists()
    assert not wine.desktop_link.exists()
    data = _plant_data(wine)
    (wine.install_dir / "my notes.txt").write_text("kept")

    assert _install(wine, installers["v2"]) == 0
    installed = _files(wine.install_dir)
    assert "_internal/new_only.dll" in installed
    assert "_internal/old_only.dll" not in installed, "a file dropped by the new version lingers"
    assert set(installed) == set(_files(installers["v2_payload"])) | {"Uninstall.exe", "my notes.txt"}
    values = wine.reg_values(UNINST_KEY)
    assert values is not None and values["DisplayVersion"] == "99.1.0"
    assert wine.start_menu_link.exists()
    assert not wine.desktop_link.exists(), "the earlier 'no desktop shortcut' choice was not kept"
    assert _files(wine.data_dir) == data


@pytest.mark.wine
@pytest.mark.slow
def test_refuses_to_install_or_uninstall_while_mt5_desk_or_its_terminal_runs(wine: WinePrefix,
                                                                            installers: dict[str, Path]):
    assert _install(wine, installers["v1"]) == 0
    before = _files(wine.install_dir)
    in_place = f'"{wine.install_dir_win}\\Uninstall.exe" /S _?={wine.install_dir_win}'

    with wine.running(wine.install_dir / "MT5 Desk.exe", "/MUTEX"):
        assert _install(wine, installers["v2"]) == EXIT_REFUSED
        assert wine.run_cmdline(in_place) == EXIT_REFUSED
        assert _files(wine.install_dir) == before
        assert wine.reg_values(UNINST_KEY)["DisplayVersion"] == build.read_version()

    # A portable terminal the app started lives under the data folder.
    terminal = wine.data_dir / "terminals" / "12345678@Demo" / "terminal64.exe"
    terminal.parent.mkdir(parents=True)
    shutil.copy(installers["fake"], terminal)
    with wine.running(terminal):
        assert _install(wine, installers["v2"]) == EXIT_REFUSED
        assert wine.run_cmdline(in_place) == EXIT_REFUSED
    assert _files(wine.install_dir) == before

    # The trader's own MetaTrader elsewhere does not block anything.
    other = wine.prefix / "drive_c" / "MetaTrader 5" / "terminal64.exe"
    other.parent.mkdir(parents=True)
    shutil.copy(installers["fake"], other)
    with wine.running(other):
        assert _install(wine, installers["v2"]) == 0
    assert "_internal/new_only.dll" in _files(wine.install_dir)


@pytest.mark.wine
@pytest.mark.slow
def test_silent_install_into_the_data_folder_is_refused(wine: WinePrefix, installers: dict[str, Path]):
    data = _plant_data(wine)
    data_win = rf"C:\users\{wine.user}\AppData\Local\MT5 Desk"
    setup = wine.unix_to_win(installers["v1"])
    for target in (data_win, data_win + r"\program", rf"C:\users\{wine.user}\AppData\Local"):
        # /D= must come last and unquoted, which only a verbatim command line can give.
        assert wine.run_cmdline(f'"{setup}" /S /D={target}') == EXIT_BAD_FOLDER, target
        assert wine.reg_values(UNINST_KEY) is None
        assert _files(wine.data_dir) == data
        assert not wine.start_menu_link.exists()
