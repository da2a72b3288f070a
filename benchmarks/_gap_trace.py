"""What the GUI process was doing in each long gap of a benchmark's probe (``--trace-ms MS``).

A watcher thread samples every ~1 ms: the CPU time of every thread of this process (Linux
``/proc/self/task/*/schedstat``, nanoseconds), the machine's busy time (``/proc/stat``) and the GUI
thread's Python stack. Garbage collections are timed through ``gc.callbacks`` with the thread they ran in.
After the run, each gap longer than MS gets one paragraph: the GUI thread's CPU in it, the other threads
that ran in it (CPU ms each, by name), the machine's load, the collections that overlapped it and the GUI
stacks seen most often. Linux only; a diagnostic, not a figure.
"""

from __future__ import annotations

import collections
import gc
import os
import sys
import threading
import time
from typing import Any, ClassVar

FRAMES = 12


def _task_names() -> dict[int, str]:
    names = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                names[int(tid)] = f.read().strip()
        except OSError:
            pass
    for t in threading.enumerate():
        if t.native_id is not None:
            names[t.native_id] = t.name
    return names


class _Cpu:
    """Each thread's CPU ns from its schedstat, the files kept open and re-read with pread (cheap)."""

    def __init__(self) -> None:
        self.fds: dict[int, int] = {}
        self.stat = os.open("/proc/stat", os.O_RDONLY)
        self.refresh()

    def refresh(self) -> None:
        for tid in os.listdir("/proc/self/task"):
            if int(tid) not in self.fds:
                try:
                    self.fds[int(tid)] = os.open(f"/proc/self/task/{tid}/schedstat", os.O_RDONLY)
                except OSError:
                    pass

    def threads(self) -> dict[int, int]:
        """Each thread's CPU ns; under key -tid, its time waiting on a run queue (runnable, not running)."""
        out = {}
        for tid, fd in list(self.fds.items()):
            try:
                fields = os.pread(fd, 100, 0).split()
                out[tid] = int(fields[0])
                out[-tid] = int(fields[1])
            except (OSError, ValueError, IndexError):
                os.close(fd)
                del self.fds[tid]
        return out

    def machine(self) -> tuple[int, int]:
        """(busy, total) jiffies of all CPUs."""
        v = [int(x) for x in os.pread(self.stat, 200, 0).split(b"\n", 1)[0].split()[1:]]
        idle = v[3] + v[4]
        return sum(v) - idle, sum(v)


def _stack(frame: Any) -> tuple[str, ...]:
    out = []
    while frame is not None and len(out) < FRAMES:
        code = frame.f_code
        out.append(f"{'/'.join(code.co_filename.split('/')[-2:])}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return tuple(reversed(out))


class _Imports:
    """A meta-path finder that finds nothing: it only notes each module imported for the first time."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str, str]] = []

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        self.seen.append((time.perf_counter(), name, threading.current_thread().name))


class GapTrace:
    def __init__(self, threshold_ms: float, period_s: float = 0.001) -> None:
        self.threshold = threshold_ms / 1000.0
        self.period = period_s
        self.gui = threading.get_ident()
        self.gui_native = threading.get_native_id()
        self.samples: list[tuple[float, dict[int, int], tuple[int, int], tuple[str, ...] | None]] = []
        self.gcs: list[tuple[float, float, int, str, int]] = []  # start, end, generation, thread, collected
        self._gc_start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.others: collections.Counter[tuple[str, tuple[str, ...]]] = collections.Counter()
        self.thread_names: dict[int, str] = {}

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        tid = threading.get_ident()
        if phase == "start":
            self._gc_start[tid] = time.perf_counter()
        else:
            t0 = self._gc_start.pop(tid, None)
            if t0 is not None:
                self.gcs.append((t0, time.perf_counter(), info["generation"], threading.current_thread().name,
                                 info.get("collected", 0)))

    def start(self) -> None:
        self.tracked = (len(gc.get_objects()), gc.get_count(), gc.get_freeze_count())
        gc.callbacks.append(self._on_gc)
        self.imports = _Imports()
        sys.meta_path.insert(0, self.imports)
        app = __import__("PySide6.QtWidgets").QtWidgets.QApplication.instance()
        if hasattr(type(app), "counting"):
            type(app).counting = True
        self._thread = threading.Thread(target=self._watch, name="gap-trace", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        app = __import__("PySide6.QtWidgets").QtWidgets.QApplication.instance()
        if hasattr(type(app), "counting"):
            type(app).counting = False
        self.names = _task_names()
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self.imports in sys.meta_path:
            sys.meta_path.remove(self.imports)

    def _watch(self) -> None:
        cpu = _Cpu()
        n = 0
        while not self._stop.wait(self.period):
            n += 1
            if n % 100 == 0:
                cpu.refresh()
                self.thread_names = {t.ident: t.name for t in threading.enumerate() if t.ident}
            frames = sys._current_frames()
            frame = frames.get(self.gui)
            stack = _stack(frame) if frame is not None else None
            if n % 10 == 0:  # what the other Python threads sit in (a blocking call, or work)
                for ident, f in frames.items():
                    if ident not in (self.gui, threading.get_ident()):
                        self.others[(self.thread_names.get(ident, str(ident)), _stack(f)[-2:])] += 1
            del frame, frames
            self.samples.append((time.perf_counter(), cpu.threads(), cpu.machine(), stack))

    def report(self, gaps: list[float], at: list[float], cpu: list[float], limit: int = 6) -> str:
        """A paragraph per gap over the threshold: the longest ``limit`` and the ``limit`` in which the GUI
        thread itself was busiest (``cpu``: its CPU time in each gap; ``at``: each gap's end)."""
        over = [(g, t, c) for g, t, c in zip(gaps, at, cpu, strict=True) if g > self.threshold]
        chosen = {(g, t) for g, t, _ in sorted(over, reverse=True)[:limit]}
        chosen |= {(g, t) for g, t, _ in sorted(over, key=lambda x: -x[2])[:limit]}
        long = sorted(chosen, reverse=True)
        names = getattr(self, "names", {})
        out = []
        for g, end in long:
            start = end - g
            inside = [s for s in self.samples if start <= s[0] <= end]
            before = [s for s in self.samples if s[0] < start]
            after = [s for s in self.samples if s[0] > end]
            a = before[-1] if before else (inside[0] if inside else None)
            b = after[0] if after else (inside[-1] if inside else None)
            lines = [f"gap {g * 1000:.1f} ms ending at {end:.3f}:"]
            if a and b:
                span = (b[0] - a[0]) * 1000
                per = {tid: (b[1].get(tid, 0) - a[1].get(tid, 0)) / 1e6 for tid in b[1]}
                busy, total = b[2][0] - a[2][0], b[2][1] - a[2][1]
                ran = sorted(((ms, tid) for tid, ms in per.items() if ms >= 0.3 and tid > 0), reverse=True)
                lines.append(f"  GUI thread runnable but not running (run-queue wait): "
                             f"{per.get(-self.gui_native, 0.0):.1f} ms")
                lines.append(f"  window {span:.1f} ms; machine busy {busy}/{total} jiffies; threads' CPU ms: " +
                             ", ".join(f"{names.get(tid, tid)}{'*' if tid == self.gui_native else ''}={ms:.1f}"
                                       for ms, tid in ran))
            news = [f"{name} ({th})" for t, name, th in self.imports.seen if start <= t <= end]
            if news:
                lines.append(f"  first imports: {', '.join(news[:12])}{' …' if len(news) > 12 else ''}")
            for g0, g1, gen, th, n in self.gcs:
                if g1 >= start and g0 <= end:
                    lines.append(f"  gc gen{gen} in {th}: {(g1 - g0) * 1000:.1f} ms, {n} collected")
            from PySide6.QtWidgets import QApplication

            lines += qt_events(QApplication.instance(), start, end)
            stacks = collections.Counter(s[3] for s in inside if s[3])
            for stack, n in stacks.most_common(3):
                lines.append(f"  [{n}/{len(inside)}] " + " <- ".join(reversed(stack)))
            out.append("\n".join(lines))
        app = __import__("PySide6.QtWidgets").QtWidgets.QApplication.instance()
        evs = getattr(type(app), "events", [])
        if evs:
            t_a, t_b = self.samples[0][0], self.samples[-1][0]
            per: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0])
            for e in evs:
                if t_a <= e[0] <= t_b and e[2] <= 1:
                    key = f"{'.' * e[2]}{e[3].split('[')[0]} {e[4]}"
                    per[key][0] += 1
                    per[key][1] += e[5]
                    per[key][2] = max(per[key][2], e[5])
            out.append("geometry events (13 move, 14 resize, 76 layout, 78 update later, 17 show, 18 hide): " +
                       ", ".join(f"{k}: {n}" for k, n in type(app).counts.most_common(25)))
            out.append("events over 0.3 ms by GUI CPU (count, total ms, longest ms):")
            for key, (n, tot, mx) in sorted(per.items(), key=lambda kv: -kv[1][1])[:20]:
                out.append(f"  {key}: {n}, {tot * 1000:.0f}, {mx * 1000:.1f}")
        t0 = self.samples[0][0] if self.samples else 0.0
        out.append("first imports during the run (s, module, thread): " + ", ".join(
            f"{t - t0:.2f} {name} {th}" for t, name, th in self.imports.seen[:40]))
        out.append("other Python threads, where sampled most (samples):")
        for (name, where), k in self.others.most_common(12):
            out.append(f"  {k} {name}: {' <- '.join(reversed(where))}")
        out.append(f"gc tracked objects at start {self.tracked[0]}, counts {self.tracked[1]}, "
                   f"frozen {self.tracked[2]}")
        big = sorted(self.gcs, key=lambda x: x[0] - x[1])[:5]
        out.append("longest collections: " + ", ".join(f"gen{gen} {th} {(b - a) * 1000:.1f} ms"
                                                       for a, b, gen, th, _ in big))
        return "\n".join(out)


def timed_application() -> Any:
    """A QApplication whose notify() times every event over 0.3 ms (receiver class, object name, event type,
    nesting depth, wall and GUI-thread CPU time; a paint's rectangle) and, while a trace runs, counts the
    geometry events (move, resize, layout request, show, hide): Qt's own work that no Python stack shows.
    Create it before qt_loop() does."""
    from PySide6.QtWidgets import QApplication

    class Timed(QApplication):
        events: ClassVar[list[tuple[float, float, int, str, str, float]]] = []
        counts: ClassVar[collections.Counter[str]] = collections.Counter()
        counting = False
        depth = 0

        def notify(self, receiver: Any, event: Any) -> bool:
            # read before delivery: a DeferredDelete destroys the receiver, and touching a destroyed
            # wrapper afterwards costs PySide's error path tens of ms (seen as a 35-70 ms "stall")
            kind = int(event.type().value)
            name = getattr(receiver, "objectName", None)  # PySide sometimes hands over a non-QObject receiver
            what = f"{type(receiver).__name__}({name() if callable(name) else ''})"
            if kind == 12:  # Paint
                r = event.rect()
                what += f"[{r.x()},{r.y()} {r.width()}x{r.height()}]"
            t0, c0 = time.perf_counter(), time.thread_time()
            Timed.depth += 1
            try:
                return super().notify(receiver, event)
            finally:
                Timed.depth -= 1
                t1, c1 = time.perf_counter(), time.thread_time()
                if kind in (13, 14, 76, 78, 17, 18) and Timed.counting:  # move resize layout update-later show hide
                    Timed.counts[f"{what} {kind}"] += 1
                if t1 - t0 > 0.0003:
                    Timed.events.append((t0, t1, Timed.depth, what, str(kind), c1 - c0))

    return Timed([])


def qt_events(app: Any, start: float, end: float, top: int = 25) -> list[str]:
    evs = [e for e in getattr(type(app), "events", []) if e[1] >= start and e[0] <= end]
    evs.sort(key=lambda e: e[0])
    return [f"  qt {'.' * e[2]}{e[3]} {e[4]} {(e[1] - e[0]) * 1000:.1f} ms (cpu {e[5] * 1000:.1f}) "
            f"at +{(e[0] - start) * 1000:.0f}"
            for e in evs[:top]]
