"""Guard against PySide6 6.12.0 on Python 3.11, which aborts the process (Fatal Python error:
bool_dealloc) after about 600 signal emits. The emits run in a child process, so an abort is a
failed test rather than a dead test run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import os
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QCoreApplication, QObject, Signal

    class Source(QObject):
        event = Signal(dict)
        flag = Signal(bool)

    app = QCoreApplication([])
    src = Source()
    seen = {"dict": 0, "bool": 0}
    src.event.connect(lambda ev: seen.__setitem__("dict", seen["dict"] + 1))
    src.flag.connect(lambda b: seen.__setitem__("bool", seen["bool"] + 1))
    for i in range(20000):
        src.event.emit({"event": "snapshot", "equity": 1000.0 + i, "live": i % 2 == 0})
        src.flag.emit(i % 2 == 0)
    print(seen["dict"], seen["bool"])
""")


def test_twenty_thousand_signal_emits_do_not_abort_the_process() -> None:
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["20000", "20000"]
