"""[J] copier.json written by the app and the command line at once: no change is ever lost (each write is
a read-modify-write under the file's lock, multi_user/copy_store.update_links)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.copier import Copier
from multi_user.copy_model import CopyLink
from multi_user.copy_store import load_links, save_links, update_links
from tests.test_accounts_cli import ROOT
from tests.test_copier_app import Desk

M, F = "7@Prop", "8@Prop"
CLI_FOLLOWERS = ("21@Prop", "22@Prop", "23@Prop", "24@Prop")


class ThreadDesk(Desk):
    async def io(self, fn: Any, *args: Any) -> Any:  # off the loop's thread, as the real Desk does
        return await asyncio.to_thread(fn, *args)


def link_accounts(data_dir: Path) -> None:
    from multi_user.vault import Vault

    vault = Vault.open(data_dir)
    try:
        for key in (M, F, *CLI_FOLLOWERS):
            login, server = key.split("@")
            vault.link(int(login), server, "pw", mode="dedicated")
    finally:
        vault.close()


def test_an_app_change_keeps_what_the_command_line_stored_since_the_app_read(tmp_path: Path, qapp: Any) -> None:
    save_links(tmp_path, [CopyLink(M, F)])

    async def run() -> None:
        copier = Copier(ThreadDesk(tmp_path))
        await copier.load()
        update_links(tmp_path, lambda links: [*links, CopyLink(M, "9@Other")])  # the CLI, before the re-read
        await copier.set_paused(F, True)
        assert [(lk.follower, lk.paused) for lk in copier.links] == [(F, True), ("9@Other", False)]
        copier.stop()

    asyncio.run(run())
    assert [(lk.follower, lk.paused) for lk in load_links(tmp_path)] == [(F, True), ("9@Other", False)]


def test_app_and_command_line_writing_at_once_lose_nothing(data_dir: Path, qapp: Any) -> None:
    link_accounts(data_dir)
    save_links(data_dir, [CopyLink(M, F)])
    procs = [subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend", "sim",
                               "copier", "add", "--master", M, "--follower", f], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in CLI_FOLLOWERS]
    toggles = 0

    async def app_writes() -> bool:
        nonlocal toggles
        copier = Copier(ThreadDesk(data_dir))
        await copier.load()
        paused = False
        while any(p.poll() is None for p in procs) or toggles < 3:
            paused = not paused
            await copier.set_paused(F, paused)
            toggles += 1
        copier.stop()
        return paused

    try:
        last = asyncio.run(app_writes())
    finally:
        outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    stored = {lk.follower: lk for lk in load_links(data_dir)}
    assert set(stored) == {F, *CLI_FOLLOWERS}
    assert stored[F].paused is last and toggles >= 3


def test_a_lock_held_too_long_is_said(tmp_path: Path) -> None:
    import pytest

    from multi_user.copy_store import LOCK_FILE
    from multi_user.file_lock import LockBusy, locked

    with (locked(tmp_path / LOCK_FILE), pytest.raises(LockBusy, match="stayed locked"),  # a hung writer holds it
          locked(tmp_path / LOCK_FILE, timeout=0.2)):
        pass
    with locked(tmp_path / LOCK_FILE, timeout=0.2):  # let go: free again
        pass
