"""Memory ([P] 4): resident memory of the GUI process with N linked accounts and a year of history each
(the real app, main.py on the simulator, measured once the accounts are listed and their history read),
of one lane worker and of one simulated terminal; then RSS growth of the window under the synthetic
load of bench_gui_load.py (N accounts at 10 Hz, a switch every second) over --duration seconds.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_memory.py [--duration 60] [--data DIR]
    # the no-leak figure of the issue: --duration 600 (10 minutes)

Targets: GUI <= 250 MB, worker <= 60 MB, growth <= 5 MB (growth measured from the end of a warm-up
of a fifth of the run, after the probe of the counts below). Prints target and miss, writes
benchmarks/results/memory.json. Where the growth is: "grown (kB)" splits it into glibc malloc's bytes in use
and free (main heap and mmapped blocks), pymalloc's arenas, the threads' malloc arenas, other anonymous
maps and files; --parts prints that at every sample, --tracemalloc the Python lines that grew.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
TARGETS_MB = {"gui": 250.0, "worker": 60.0, "growth": 5.0}

APP = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
import ui.main_window as mw
from PySide6.QtCore import QTimer

class Watched(mw.MainWindow):
    def __init__(self, *args, **kwargs):  # the shell first (ui/window_start.py), filled in later
        super().__init__(*args, **kwargs)
        self._probe = QTimer(self)
        self._probe.setInterval(100)
        self._probe.timeout.connect(self._check)
        self._probe.start()
        self._ready = False

    def _check(self):
        listed = self.filled and "{n} accounts" in self.status_text.text()
        loaded = listed and all(s.ts for k, s in self.series.items() if k)
        if loaded and not self._ready and self.desk.started:
            self._ready = True
            print("ready", flush=True)
        if Path({quit!r}).exists() and self.quit_handler is not None:
            self._probe.stop()
            self.quit_handler("benchmark done")

mw.MainWindow = Watched
import main
sys.exit(main.main(["--data-dir", {data!r}, "--backend", "sim"]))
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def app_processes(data: Path, accounts: int, settle: float) -> dict[str, Any]:
    """The real app's GUI, worker and terminal RSS once the accounts and their history are shown."""
    with tempfile.TemporaryDirectory() as tmp:
        quit_file = Path(tmp) / "quit"
        code = APP.format(root=str(ROOT), data=str(data), n=accounts, quit=str(quit_file))
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, start_new_session=True)
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            if line.strip() != "ready":
                raise RuntimeError("the app did not get ready")
            deadline = time.monotonic() + settle  # the first history reads and worker starts settle
            peak: dict[str, float] = {"gui": 0.0, "worker": 0.0, "terminal": 0.0}
            while time.monotonic() < deadline:
                peak["gui"] = max(peak["gui"], rss_mb(proc.pid))
                for child in descendants(proc.pid):
                    kind = "worker" if "multi_user.worker" in cmdline(child) else "terminal" \
                        if "mt5sim" in cmdline(child) else None
                    if kind:
                        try:
                            peak[kind] = max(peak[kind], rss_mb(child))
                        except OSError:
                            pass
                time.sleep(0.25)  # a sampling period, not a wait for a condition
            quit_file.touch()
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return {k: round(v, 1) for k, v in peak.items()}


def malloc_trim() -> None:
    """glibc's free memory back to the OS: what RSS keeps after this is in use (or fragmented in use pages)."""
    import ctypes

    ctypes.CDLL("libc.so.6").malloc_trim(0)


def heap_parts() -> dict[str, int]:
    """Where the process's resident memory is, in kB: glibc malloc's bytes in use and free (all arenas, and
    its own mmaps), the resident part of the main heap, of the threads' malloc arenas (64 MiB reservations),
    of other anonymous maps (pymalloc's 1 MiB arenas, Qt's and numpy's big blocks) and of files; with
    tracemalloc on, the Python heap traced. Diffed over a run, it says whether growth is Python's or native."""
    import ctypes
    import tracemalloc

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    m = libc.mallinfo2()
    out = {"malloc_in_use_kb": (m.uordblks + m.hblkhd) // 1024, "malloc_free_kb": m.fordblks // 1024,
           "malloc_mmapped_kb": m.hblkhd // 1024, "malloc_brk_kb": m.arena // 1024, **_pymalloc()}
    maps = _smaps()
    parts = {"heap": 0, "thread_arenas": 0, "anon_other": 0, "files": 0}
    for i, (start, end, perms, name, kb) in enumerate(maps):
        after = maps[i + 1] if i + 1 < len(maps) else None
        arena = not name and perms.startswith("rw") and (end - start == 64 << 20 or (after is not None and
                                                         after[0] == end and after[2].startswith("---") and
                                                         not after[3] and after[1] - start == 64 << 20))
        kind = "heap" if name == "[heap]" else "files" if name.startswith("/") else "thread_arenas" if arena \
            else "anon_other" if not name else None
        if kind:
            parts[kind] += kb
    out.update({f"{k}_kb": v for k, v in parts.items()})
    if tracemalloc.is_tracing():
        out["python_traced_kb"] = tracemalloc.get_traced_memory()[0] // 1024
    return out


def _smaps() -> list[list[Any]]:
    """This process's maps: start, end, permissions, name, resident kB."""
    maps: list[list[Any]] = []
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
        if head:
            maps.append([int(head[1], 16), int(head[2], 16), head[3], head[4], 0])
        elif line.startswith("Rss:"):
            maps[-1][4] = int(line.split()[1])
    return maps


def anonymous_maps() -> dict[int, tuple[int, int, str]]:
    """Each anonymous map: start -> (size kB, resident kB, what it likely is: a thread's stack behind its
    guard page, or another block)."""
    maps = _smaps()
    out = {}
    for i, (start, end, perms, name, kb) in enumerate(maps):
        if name or not perms.startswith("rw"):
            continue
        guard = i > 0 and maps[i - 1][1] == start and maps[i - 1][2].startswith("---") and not maps[i - 1][3]
        out[start] = ((end - start) // 1024, kb, "stack?" if guard else "block")
    return out


def _pymalloc() -> dict[str, int]:
    """pymalloc's arenas (Python's objects of up to 512 bytes), from sys._debugmallocstats on stderr."""
    import tempfile as tf

    with tf.TemporaryFile() as f:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode(errors="replace")
    found = {k: re.search(rf"^# {re.escape(k)}\s*=\s*([\d,]+)", text, re.M) for k in
             ("bytes in allocated blocks", "arenas allocated current")}
    value = {k: int(m[1].replace(",", "")) if m else 0 for k, m in found.items()}
    return {"pymalloc_used_kb": value["bytes in allocated blocks"] // 1024,
            "pymalloc_arenas_kb": value["arenas allocated current"] * 1024}  # 1 MiB arenas (3.10+)


def counts(window: Any) -> dict[str, int]:
    """What could pile up: Python objects, the window's Qt children, the activity log's rows, chart points."""
    import gc

    from PySide6.QtCore import QObject

    status = Path("/proc/self/status").read_text().splitlines()
    parts = {line.split(":")[0] + "_kb": int(line.split()[1]) for line in status
             if line.startswith(("RssAnon", "RssFile", "RssShmem"))}  # heap, mapped files, shared memory
    return {**parts, "python_objects": len(gc.get_objects()), "qt_children": len(window.findChildren(QObject)),
            "activity_rows": window.activity.model.rowCount(),
            "series_points": sum(len(s.ts) for s in window.series.values())}


def _skip(window: Any, parts: tuple[str, ...]) -> None:
    """Diagnosis: these parts of the window's repaint left out (ui/frame_pacer.repaint_steps)."""
    for part in parts:
        if part == "chart":
            window.chart.redraw = window.chart.set_status = lambda *a, **k: None
        elif part == "overview":
            window.overview.refresh_steps = lambda *a, **k: []
        elif part == "rows":
            window.model.refresh = lambda *a, **k: None
        elif part == "status":
            window.tray.set_tooltip = window.status_text.setText = lambda *a, **k: None
        elif part == "banner":
            window.banner.show_lock = lambda *a, **k: None


def _heap_snapshot() -> Any:
    import tracemalloc

    return tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None


def growth(accounts: int, duration: float, trim: bool = False, repaint: bool = True,
           skip: tuple[str, ...] = (), pixmap_cache_kb: int | None = None,
           timeline: list[tuple[int, dict[str, int]]] | None = None) -> dict[str, Any]:
    """RSS of this process (the real window, synthetic load) after a warm-up and at the end. With ``trim``,
    glibc's malloc_trim runs before each sample: growth that goes with it was free memory kept by malloc."""
    from bench_gui_load import Source, open_window, qt_loop

    loop = qt_loop()
    samples: list[tuple[float, float]] = []
    seen: list[dict[str, int]] = []  # counts() after the warm-up and at the end
    heap: list[Any] = []  # with --tracemalloc: the Python heap then
    anon: list[dict[int, tuple[int, int, str]]] = []  # the anonymous maps then
    base: list[float] = []  # RSS at the end of the warm-up (after its probe)
    with tempfile.TemporaryDirectory() as tmp:
        desk, keys, window = open_window(loop, Path(tmp), accounts)
        source = Source(desk, keys, 10.0)
        if not repaint:
            window.timer.stop()  # diagnosis: the events handled, nothing repainted
        _skip(window, skip)
        if pixmap_cache_kb is not None:  # after the window: the chart raises the limit when it is built
            from PySide6.QtGui import QPixmapCache

            QPixmapCache.setCacheLimit(pixmap_cache_kb)

        async def run() -> None:
            lp = asyncio.get_running_loop()
            t0 = lp.time()
            until = t0 + duration
            tasks = [asyncio.ensure_future(source.stream(until)), asyncio.ensure_future(source.switches(until, 1.0))]
            # the probe once before the warm-up too: its big short-lived blocks move glibc's mmap threshold
            # and pymalloc's arenas once, in the warm-up, not after it
            counts(window), heap_parts(), anonymous_maps()
            while lp.time() < until:
                if trim:
                    malloc_trim()
                if not seen and lp.time() - t0 >= duration / 5:
                    # the probe first, then the sample the growth counts from: the probe's own allocations
                    # (a list of ~90,000 objects, 1,000 Qt wrappers) were counted as growth (up to 4 MB)
                    seen.append({**counts(window), **heap_parts()})
                    heap.append(_heap_snapshot())
                    anon.append(anonymous_maps())
                    base.append(rss_mb(os.getpid()))
                samples.append((lp.time() - t0, rss_mb(os.getpid())))
                if timeline is not None:
                    timeline.append((round(lp.time() - t0), heap_parts()))
                await asyncio.sleep(min(5.0, duration / 20))
            await asyncio.gather(*tasks)
            if trim:
                malloc_trim()
            samples.append((lp.time() - t0, rss_mb(os.getpid())))
            parts, maps = heap_parts(), anonymous_maps()  # before the probe's own allocations, like the sample
            seen.append({**counts(window), **parts})
            heap.append(_heap_snapshot())
            anon.append(maps)
            await window.shutdown()
            await desk.stop()

        try:
            loop.run_until_complete(run())
        finally:
            window.close()
            loop.close()
    if heap and heap[0] is not None:
        print("Python heap growth after the warm-up (tracemalloc), top lines:")
        for stat in heap[-1].compare_to(heap[0], "lineno")[:8]:
            print(f"  {stat}")
    grown = sorted(((kb - anon[0].get(a, (0, 0, ""))[1], size, kind) for a, (size, kb, kind) in anon[-1].items()),
                   reverse=True)
    print("anonymous maps grown most after the warm-up (kB grown, map size kB, kind):",
          [g for g in grown if g[0]][:8], "new maps:", len(set(anon[-1]) - set(anon[0])))
    return {"duration_s": duration, "rss_after_warmup_mb": round(base[0], 1), "rss_end_mb": round(samples[-1][1], 1),
            "growth_mb": round(samples[-1][1] - base[0], 1), "peak_mb": round(max(mb for _, mb in samples), 1),
            "snapshots": source.sent, "trimmed": trim, "counts_after_warmup": seen[0], "counts_end": seen[-1],
            "samples": [(round(t, 1), round(mb, 1)) for t, mb in samples]}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--accounts", type=int, default=20)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of the growth run (issue: 600)")
    p.add_argument("--settle", type=float, default=10.0, help="seconds the app's RSS is sampled once ready")
    p.add_argument("--data", type=Path, help="a data dir prepared by bench_startup.py --data (else built here)")
    p.add_argument("--growth-only", action="store_true", help="only the growth run (no app processes)")
    p.add_argument("--trim", action="store_true", help="malloc_trim before each growth sample (fragmentation or leak?)")
    p.add_argument("--pixmap-cache-kb", type=int, help="diagnosis: Qt's QPixmapCache limit for the growth run")
    p.add_argument("--tracemalloc", action="store_true", help="diagnosis: the Python heap's growth over the run")
    p.add_argument("--parts", action="store_true", help="diagnosis: where the memory is at each sample")
    p.add_argument("--no-repaint", action="store_true", help="diagnosis: the window's repaint timer stopped")
    p.add_argument("--skip", default="", help="diagnosis: leave these repaint steps out (chart,overview,rows,status,"
                   "banner)")
    args = p.parse_args()
    from _results import write_results
    from bench_gui_load import report, synthetic_accounts
    from bench_startup import build_history
    from lane_harness import link_accounts

    from multi_user.paths import history_path

    procs: dict[str, Any] = {}
    if not args.growth_only:
        with tempfile.TemporaryDirectory() as tmp:
            data = args.data or Path(tmp) / "data"
            if not history_path(data).exists():
                data.mkdir(parents=True, exist_ok=True)
                build_history(history_path(data), link_accounts(data, synthetic_accounts(args.accounts)), args.days)
            procs = app_processes(data, args.accounts, args.settle)
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    timeline: list[tuple[int, dict[str, int]]] | None = [] if args.parts else None
    grew = growth(args.accounts, args.duration, args.trim, not args.no_repaint,
                  tuple(x for x in args.skip.split(",") if x), args.pixmap_cache_kb, timeline)
    for t, parts in timeline or []:  # each part's change since the first sample, in kB
        print(f"  {t:4d} s", " ".join(f"{k[:-3]}{v - timeline[0][1][k]:+d}" for k, v in parts.items()))
    if args.tracemalloc:
        print(f"Python heap (tracemalloc) at the end: {tracemalloc.get_traced_memory()[0] / 1e6:.1f} MB")
    if procs:
        print(report(f"GUI process, {args.accounts} accounts x {args.days} days of history", procs["gui"],
                     TARGETS_MB["gui"], "MB"))
        print(report("one lane worker", procs["worker"], TARGETS_MB["worker"], "MB"))
        print(f"one simulated terminal: {procs['terminal']} MB (no target)")
    print(report(f"RSS growth over {args.duration:.0f} s of {args.accounts} accounts at 10 Hz"
                 f"{' (malloc_trim before each sample)' if args.trim else ''}", grew["growth_mb"], TARGETS_MB["growth"],
                 "MB"))
    print(f"(window under load: {grew['rss_after_warmup_mb']} MB after warm-up, peak {grew['peak_mb']} MB; "
          f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', 'unset')})")
    print(f"after warm-up: {grew['counts_after_warmup']}\nat the end:    {grew['counts_end']}")
    first, last = grew["counts_after_warmup"], grew["counts_end"]
    print("grown (kB):", {k: last[k] - first[k] for k in last if k.endswith("_kb") and k in first})
    print("RSS samples (s, MB):", " ".join(f"{t:.0f}:{mb}" for t, mb in grew["samples"]))
    write_results("memory", accounts=args.accounts, days=args.days, targets_mb=TARGETS_MB, processes_mb=procs,
                  growth=grew, malloc_arena_max=os.environ.get("MALLOC_ARENA_MAX"),
                  met={"gui": procs["gui"] <= TARGETS_MB["gui"] if procs else None,
                       "worker": procs["worker"] <= TARGETS_MB["worker"] if procs else None,
                       "growth": grew["growth_mb"] <= TARGETS_MB["growth"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
