"""Build MT5 Desk for Windows: the PyInstaller one-folder app, then the NSIS installer around it.

    python packaging/build.py                      PyInstaller folder + installer (dist/)
    python packaging/build.py --skip-app           installer around an existing dist/MT5 Desk
    python packaging/build.py --payload DIR        installer around any folder (tests stage one)

Needs `pip install -e .[build]` (PyInstaller) and NSIS's `makensis` on PATH (or --makensis).
makensis runs with -WX: a warning fails the build. On Linux the PyInstaller step makes a Linux
folder, which is only good for exercising the installer's mechanics; the real build runs on
Windows (.github/workflows/windows.yml).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
SPEC = ROOT / "packaging" / "mt5desk.spec"
NSI = ROOT / "installer.nsi"
DIST = ROOT / "dist"
WORK = ROOT / "build"
APP_FOLDER_NAME = "MT5 Desk"


def read_version(pyproject: Path = PYPROJECT) -> str:
    """The project version from pyproject.toml ([project] version)."""
    with pyproject.open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def windows_version4(version: str) -> str:
    """Four dot-separated numbers for a Windows version resource: "1.2.3rc1" -> "1.2.3.0"."""
    m = re.match(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?", version)
    if not m:
        raise ValueError(f"version {version!r} does not start with a number")
    parts = [int(g) if g is not None else 0 for g in m.groups()]
    if any(p > 65535 for p in parts):
        raise ValueError(f"version {version!r} has a part above 65535")
    return ".".join(str(p) for p in parts)


def payload_list_path(payload: Path) -> Path:
    """Where installer.nsi looks for the uninstall list by default: next to the folder."""
    return payload.parent / f"{payload.name}-files.nsh"


def _nsis_quote(text: str) -> str:
    # In an NSIS double-quoted string `$` starts a variable and `$\"` escapes a quote.
    return text.replace("$", "$$").replace('"', '$\\"')


def write_payload_list(payload: Path, out: Path | None = None) -> Path:
    """Write the NSIS lines that remove exactly the files and folders of `payload` from $INSTDIR.

    Files first, then folders deepest first with a plain RMDir (which leaves a folder that is not
    empty), so the uninstaller never takes anything it did not put there.
    """
    payload = Path(payload)
    if not payload.is_dir():
        raise FileNotFoundError(f"no payload folder at {payload}")
    files: list[PurePosixPath] = []
    dirs: list[PurePosixPath] = []
    # makensis File /r follows symbolic links (PyInstaller makes some on Linux), so follow them too.
    for dirpath, dirnames, filenames in os.walk(payload, followlinks=True):
        rel = PurePosixPath(Path(dirpath).relative_to(payload).as_posix())
        dirnames.sort()
        for d in dirnames:
            dirs.append(rel / d)
        for name in sorted(filenames):
            files.append(rel / name)
    if not files:
        raise ValueError(f"payload folder {payload} is empty")
    lines = ["; Written by packaging/build.py from the payload folder; do not edit."]
    for f in files:
        lines.append(f'Delete "$INSTDIR\\{_nsis_quote(str(f).replace("/", chr(92)))}"')
    for d in sorted(dirs, key=lambda p: (-len(p.parts), str(p))):
        lines.append(f'RMDir "$INSTDIR\\{_nsis_quote(str(d).replace("/", chr(92)))}"')
    out = out or payload_list_path(payload)
    # A BOM so makensis reads it as UTF-8 on every platform (installer.nsi also says /CHARSET=UTF8).
    out.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    return out


def find_makensis(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    found = shutil.which("makensis")
    if found:
        return found
    for guess in (r"C:\Program Files (x86)\NSIS\makensis.exe", r"C:\Program Files\NSIS\makensis.exe"):
        if Path(guess).exists():
            return guess
    raise FileNotFoundError("makensis not found: install NSIS 3 (apt-get install nsis / choco install nsis)")


def makensis_command(payload: Path, outfile: Path, version: str, makensis: str = "makensis",
                     nsi: Path = NSI, payload_list: Path | None = None) -> list[str]:
    """The makensis command line (warnings are errors) for `payload` -> `outfile`."""
    # makensis accepts -X and /X on Windows, only -X elsewhere; -X works on both.
    return [
        makensis, "-WX", "-V2", "-NOCD",
        f"-DVERSION={version}",
        f"-DVERSION4={windows_version4(version)}",
        f"-DPAYLOAD={Path(payload).resolve()}",
        f"-DPAYLOAD_LIST={Path(payload_list or payload_list_path(Path(payload))).resolve()}",
        f"-DOUTFILE={Path(outfile).resolve()}",
        str(nsi),
    ]


def build_installer(payload: Path, outfile: Path | None = None, version: str | None = None,
                    makensis: str | None = None, nsi: Path = NSI) -> Path:
    """Compile installer.nsi around `payload` (writing its uninstall list first); returns the exe."""
    payload = Path(payload).resolve()
    version = version or read_version()
    outfile = Path(outfile or DIST / f"MT5-Desk-{version}-setup.exe").resolve()
    outfile.parent.mkdir(parents=True, exist_ok=True)
    listing = write_payload_list(payload)
    cmd = makensis_command(payload, outfile, version, find_makensis(makensis), nsi, listing)
    # -NOCD keeps relative paths in installer.nsi (resources\app.ico) relative to the repo root.
    subprocess.run(cmd, check=True, cwd=nsi.parent)
    return outfile


def build_app(dist: Path = DIST, work: Path = WORK) -> Path:
    """Run PyInstaller on packaging/mt5desk.spec; returns the one-folder app."""
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
                    "--distpath", str(dist), "--workpath", str(work), str(SPEC)], check=True, cwd=ROOT)
    folder = dist / APP_FOLDER_NAME
    if not folder.is_dir():
        raise FileNotFoundError(f"PyInstaller did not produce {folder}")
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the MT5 Desk app folder and its Windows installer.")
    ap.add_argument("--skip-app", action="store_true", help="reuse dist/MT5 Desk instead of running PyInstaller")
    ap.add_argument("--payload", type=Path, help="install this folder instead (implies --skip-app)")
    ap.add_argument("--out", type=Path, help="installer path (default dist/MT5-Desk-VERSION-setup.exe)")
    ap.add_argument("--version", help="override the version from pyproject.toml")
    ap.add_argument("--makensis", help="path to makensis")
    args = ap.parse_args(argv)
    if args.payload:
        payload = args.payload
    elif args.skip_app:
        payload = DIST / APP_FOLDER_NAME
    else:
        payload = build_app()
    exe = build_installer(payload, args.out, args.version, args.makensis)
    print(f"installer: {exe} ({exe.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
