"""Logging to a rotating file in the data dir (and stderr for CLI commands)."""

from __future__ import annotations

from pathlib import Path

from multi_user.paths import logs_dir

FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"


def setup_logging(data_dir: Path, level: str = "INFO", console: bool = False) -> Path:
    """Configure the root logger once; returns the log file's path."""
    import logging.handlers  # not at the top: the window's shell paints before it is needed ([P] 2)

    folder = logs_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    log_file = folder / "mt5desk.log"
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    if console:
        err = logging.StreamHandler()
        err.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        # CLI output on stdout is the command's result; only warnings go to stderr
        err.setLevel(logging.WARNING)
        root.addHandler(err)
    root.setLevel(level)
    return log_file


def enable_crash_dumps(data_dir: Path) -> Path:
    """A crash in native code (Qt, the MT5 DLL) kills the process without a Python traceback; the
    windowed exe has no console either. faulthandler writes every thread's stack to logs/crash.log so
    the trader can send it and a crash is never silent. The file stays open for the process's life."""
    import faulthandler
    import os
    import time

    path = logs_dir(data_dir) / "crash.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = path.open("a", encoding="utf-8")
    stream.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()} started\n")
    stream.flush()
    faulthandler.enable(file=stream, all_threads=True)
    return path
