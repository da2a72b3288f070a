"""Windows job object: terminals the app starts die with it, even when the app is killed.

The job is created once per process with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE; its handle is held
until the process ends, and Windows kills every process in the job when the last handle closes.
Elsewhere this is a no-op (the simulator's terminals watch our pid instead).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger("mt5desk.job_object")

_job_handle: int | None = None


def declare_prototypes(kernel32: Any) -> Any:
    """Give the kernel32 calls their real signatures. Without them ctypes passes and returns C
    ``int``: a 64-bit HANDLE is truncated to 32 bits and the job silently protects nothing."""
    import ctypes
    from ctypes import wintypes

    protos = {
        "CreateJobObjectW": (wintypes.HANDLE, [wintypes.LPVOID, wintypes.LPCWSTR]),
        "SetInformationJobObject": (wintypes.BOOL, [wintypes.HANDLE, ctypes.c_int, wintypes.LPVOID,
                                                    wintypes.DWORD]),
        "OpenProcess": (wintypes.HANDLE, [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]),
        "AssignProcessToJobObject": (wintypes.BOOL, [wintypes.HANDLE, wintypes.HANDLE]),
        "CloseHandle": (wintypes.BOOL, [wintypes.HANDLE]),
    }
    for name, (restype, argtypes) in protos.items():
        fn = getattr(kernel32, name)
        fn.restype, fn.argtypes = restype, argtypes
    return kernel32


def kill_with_parent(pid: int) -> bool:
    """Put ``pid`` in this process's kill-on-close job. Returns False where unsupported."""
    if sys.platform != "win32":
        return False
    import ctypes
    from ctypes import wintypes

    global _job_handle
    kernel32 = declare_prototypes(ctypes.WinDLL("kernel32", use_last_error=True))
    if _job_handle is None:
        handle = kernel32.CreateJobObjectW(None, None)
        if not handle:
            log.warning("CreateJobObject failed: %s", ctypes.get_last_error())
            return False

        class IO_COUNTERS(ctypes.Structure):
            _fields_ = [(n, ctypes.c_ulonglong) for n in (
                "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
                "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

        class BASIC(ctypes.Structure):
            _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                        ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                        ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                        ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                        ("SchedulingClass", wintypes.DWORD)]

        class EXTENDED(ctypes.Structure):
            _fields_ = [("BasicLimitInformation", BASIC), ("IoInfo", IO_COUNTERS),
                        ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                        ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]

        info = EXTENDED()
        info.BasicLimitInformation.LimitFlags = 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not kernel32.SetInformationJobObject(handle, 9, ctypes.byref(info), ctypes.sizeof(info)):
            log.warning("SetInformationJobObject failed: %s", ctypes.get_last_error())
            return False
        _job_handle = handle
    proc = kernel32.OpenProcess(0x0001 | 0x0100, False, pid)  # PROCESS_TERMINATE | PROCESS_SET_QUOTA
    if not proc:
        return False
    try:
        return bool(kernel32.AssignProcessToJobObject(_job_handle, proc))
    finally:
        kernel32.CloseHandle(proc)
