"""app/main_thread_gc.py: reference cycles made in another thread are freed on the main thread, by the
timer, never in the thread that happened to allocate (where freeing a Qt object can crash the app)."""

from __future__ import annotations

import gc
import threading
from typing import ClassVar

from app.main_thread_gc import MainThreadGC


class Node:
    freed_in: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it

    def __del__(self) -> None:
        Node.freed_in.append(threading.current_thread().name)


def test_cycles_made_in_a_thread_are_freed_on_the_main_thread(qtbot) -> None:
    Node.freed_in.clear()
    enabled_before = gc.isenabled()
    collector = MainThreadGC(interval_ms=20)
    collector.start()
    try:
        assert not gc.isenabled()

        def make() -> None:
            for _ in range(5 * gc.get_threshold()[0]):  # enough to start several automatic collections
                Node()

        maker = threading.Thread(target=make, name="maker")
        maker.start()
        maker.join()
        assert "maker" not in Node.freed_in, "no collection ran in the allocating thread"
        qtbot.waitUntil(lambda: len(Node.freed_in) >= 5 * gc.get_threshold()[0], timeout=10_000)
        assert set(Node.freed_in) == {threading.main_thread().name} and collector.collections[0] >= 1
    finally:
        collector.stop()
    assert gc.isenabled() == enabled_before, "stop puts collection back as it was"


def test_freeze_keeps_start_up_objects_out_of_full_collections(qtbot) -> None:
    """[P] 1: after start-up, a full collection walks only what came later; stop() undoes the freeze."""
    collector = MainThreadGC(interval_ms=20)
    collector.start()
    try:
        start_up = [Node() for _ in range(1000)]  # alive: start-up's long-lived objects
        collector.freeze()
        assert gc.get_freeze_count() >= 1000
        walked = {id(o) for o in gc.get_objects()}
        assert not any(id(n) in walked for n in start_up), "frozen objects are not walked"
        Node.freed_in.clear()
        Node()  # a cycle made after start-up is still collected
        gc.collect()
        assert Node.freed_in
    finally:
        collector.stop()
    assert gc.get_freeze_count() == 0
