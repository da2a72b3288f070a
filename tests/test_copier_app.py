"""The Desk's copier without processes ([J] 3): a follower blocked by the risk guard, a follower without
its own terminal and an investor follower are skipped with their reason, said once; a link that starts
leaves the master's open trades alone."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.copier import Copier
from multi_user.copy_model import CopyLink
from multi_user.copy_store import load_links, save_links

M, F = "1@M", "2@F"


class Lock:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, str]] = []

    def run_job(self, account: str, kind: str) -> Any:
        self.jobs.append((account, kind))
        return SimpleNamespace(ended=False)


class Desk(QObject):
    event = Signal(dict)

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.emitted: list[dict] = []
        self.blocked: set[str] = set()
        self.investor = False
        self.follower_state = "live"
        def lane(key: str) -> Any:
            return SimpleNamespace(lock=Lock(), push_hooks={}, job_runners={}, name=f"dedicated {key}", pinned=key,
                                   worker=SimpleNamespace(running=False, pid=None))

        self.dedicated: dict[str, Any] = {M: lane(M), F: lane(F)}
        self.guard = SimpleNamespace(is_blocked=lambda key: key in self.blocked)
        self.spawned: list[Any] = []

    def account_states(self) -> dict[str, dict]:
        return {M: {"state": "live"}, F: {"state": self.follower_state}}

    def accounts(self) -> list[dict]:
        return [{"key": M, "investor": False}, {"key": F, "investor": self.investor}]

    def emit(self, ev: dict) -> None:
        self.emitted.append(ev)

    async def io(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def _spawn(self, coro: Any) -> None:
        try:
            coro.send(None)  # io() above never suspends: the coroutine runs to its end here
        except StopIteration:
            pass


def copier_with_master(data_dir: Path) -> tuple[Copier, Desk]:
    desk = Desk(data_dir)
    copier = Copier(desk)
    save_links(data_dir, [CopyLink(M, F)])
    desk._spawn(copier.load())
    copier._on_state(f"dedicated {M}", {"data": {"login": 1, "server": "M", "positions": [
        {"ticket": 5, "symbol": "EURUSD", "type": 0, "volume": 1.0, "sl": 0, "tp": 0}], "orders": [],
        "equity": 1000.0, "balance": 1000.0, "changed": True, "taken_at": 1.0}})
    return copier, desk


def test_a_starting_link_leaves_open_trades_and_syncs_the_follower(tmp_path: Path) -> None:
    copier, desk = copier_with_master(tmp_path)
    assert copier.links[0].started and copier.links[0].baseline == [5]
    assert load_links(tmp_path)[0].baseline == [5]  # kept across a restart of the app
    assert desk.dedicated[F].lock.jobs == [(F, "copy")]
    copier.stop()


def test_blocked_or_unfit_followers_are_skipped_with_a_reason_once(tmp_path: Path) -> None:
    copier, desk = copier_with_master(tmp_path)
    desk.dedicated[F].lock.jobs.clear()
    copier._running.clear()
    desk.blocked.add(F)
    copier.request_sync(F)
    copier.request_sync(F)
    skips = [e for e in desk.emitted if e["event"] == "copy" and e["action"] == "skip"]
    assert len(skips) == 1 and "risk guard" in skips[0]["reason"] and skips[0]["follower"] == F
    assert desk.dedicated[F].lock.jobs == []
    desk.blocked.clear()
    desk.investor = True
    copier.request_sync(F)
    assert "investor" in desk.emitted[-1]["reason"]
    desk.investor = False
    desk.follower_state = "auth_error"  # a wrong password: no copy job, so no login per master trade
    copier.request_sync(F)
    assert "not live (auth_error)" in desk.emitted[-1]["reason"] and desk.dedicated[F].lock.jobs == []
    desk.follower_state = "live"
    del desk.dedicated[F]
    copier.request_sync(F)
    assert "no terminal of its own" in desk.emitted[-1]["reason"]
    copier.stop()


def test_links_file_round_trip_keeps_pause_and_baseline(tmp_path: Path) -> None:
    save_links(tmp_path, [CopyLink(M, F, paused=True, started=True, baseline=[5, 6])])
    (lk,) = load_links(tmp_path)
    assert lk.paused and lk.baseline == [5, 6] and lk.started
    (tmp_path / "copier.json").write_text("{not json")
    assert load_links(tmp_path) == []
