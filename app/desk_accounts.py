"""The Desk's account operations: link (verified through the shared lane's lock), edit, give an
account its own terminal or take it back, unlink, reorder, and the simulator's demo start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from multi_user.errors import BadInput, TerminalError
from multi_user.paths import sim_world_dir, terminals_dir
from multi_user.terminals import dedicated_folder, is_portable_install, provision_portable, same_folder, terminal_exe
from multi_user.validation import check_password, parse_login, parse_server

if TYPE_CHECKING:
    from app.desk import Desk

log = logging.getLogger("mt5desk.accounts")

DEMO_DEDICATED = 2  # the demo start gives this many accounts their own terminal, to show both lane kinds


def account_dict(a: Any) -> dict[str, Any]:
    return {"key": a.key, "login": a.login, "server": a.server, "label": a.label or "", "investor": bool(a.investor),
            "mode": a.mode, "order": a.order, "terminal": a.terminal_path}


class AccountOps:
    _temp_passwords: dict[str, str]

    async def reload_accounts(self: Desk) -> None:
        rows = await self.io(self._vault.list_accounts)
        self._accounts = [account_dict(a) for a in rows]
        self.emit({"event": "accounts", "accounts": list(self._accounts)})

    def known_servers(self: Desk) -> list[str]:
        servers = {a["server"] for a in self._accounts}
        if self.simulator:
            from multi_user.mt5sim import control

            with contextlib.suppress(Exception):
                servers |= {d["server"] for d in control.demo_accounts(sim_world_dir(self.data_dir))}
        return sorted(servers)

    async def link_demo_accounts(self: Desk) -> None:
        """First start on the simulator with an empty vault: link the demo world's accounts."""
        from multi_user.mt5sim import control

        existing = await self.io(self._vault.list_accounts)
        if not existing:
            world = sim_world_dir(self.data_dir)
            await self.io(control.ensure_world, world)
            demo = await self.io(control.demo_accounts, world)
            dedicated_servers: set[str] = set()
            for i, d in enumerate(demo):
                # one read-only (investor) account and a couple of dedicated ones show every kind of row
                investor = i == len(demo) - 1
                dedicated = len(dedicated_servers) < DEMO_DEDICATED and i > 0 and d["server"] not in dedicated_servers
                if dedicated:
                    dedicated_servers.add(d["server"])
                password = d["investor_password"] if investor else d["password"]
                await self.io(lambda d=d, p=password, inv=investor, ded=dedicated: self._vault.link(
                    d["login"], d["server"], p, label=d.get("name"), investor=inv,
                    mode="dedicated" if ded else "shared"))
        # the simulator has no broker to flag a login storm: visit idle demo accounts for fresh values
        demo_settings = {"demo_linked": True, "sweep_enabled": True, "sweep_min_minutes": 5}
        self.settings.update(demo_settings)
        from app.settings import save_settings

        await self.io(save_settings, self.data_dir, demo_settings)

    async def link_account(self: Desk, login: str, server: str, password: str, *, label: str | None = None,
                           investor: bool = False, dedicated: bool = False, terminal: str | None = None,
                           verify: bool = True) -> dict:
        """Verify the credentials on a terminal (in a worker process), then store them.

        Re-linking an account (to change its password) keeps its mode, investor flag, terminal, name
        and place: a tick or a value given here changes it, an unticked box or empty field keeps it."""
        login_n, server_s = parse_login(login), parse_server(server)
        check_password(password)
        if terminal and not terminal_exe(terminal).exists():
            raise BadInput(f"No terminal64.exe in {terminal}", field="terminal")
        key = f"{login_n}@{server_s}"
        self._check_folder_free(terminal, key)
        snapshot = await self.verify_credentials(login_n, server_s, password) if verify else None
        spelled = str((snapshot or {}).get("terminal_server") or (snapshot or {}).get("server") or "")
        if spelled != server_s and spelled.casefold() == server_s.casefold():
            server_s, key = spelled, f"{login_n}@{spelled}"  # [W] 7: stored as the terminal spells it
            snapshot = {**snapshot, "server": spelled}
        await self.io(lambda: self._vault.link(login_n, server_s, password, label=label,
                                               investor=True if investor else None,
                                               mode="dedicated" if dedicated else None, terminal_path=terminal))
        if snapshot:
            self._on_snapshot(key, snapshot)
        await self._apply_accounts()
        return next(a for a in self._accounts if a["key"] == key)

    async def verify_credentials(self: Desk, login: int, server: str, password: str) -> dict[str, Any]:
        """Log in once through the shared lane's lock (a short job), so the account being viewed
        gets the terminal back afterwards; raises AuthorizationError / TerminalError."""
        from app.lanes import LaneAccount

        lane = self.shared
        if lane is None:
            raise TerminalError("MT5 Desk is not running its terminal yet")
        key = f"{login}@{server}"
        temp = key not in lane.accounts
        self._temp_passwords[key] = password
        if temp:
            lane.accounts[key] = LaneAccount(key, login, server)
        try:
            return await lane.verify(key)
        finally:
            self._temp_passwords.pop(key, None)
            if temp and key not in {a["key"] for a in self._accounts if a["mode"] == "shared"}:
                lane.accounts.pop(key, None)
                lane.lock.forget(key)

    async def update_account(self: Desk, key: str, *, label: str | None = None, mode: str | None = None,
                             terminal: str | None = None) -> None:
        login, server = self._split(key)
        fields: dict[str, Any] = {}
        if label is not None:
            fields["label"] = label
        if mode is not None:
            if mode not in ("shared", "dedicated"):
                raise BadInput("mode must be shared or dedicated", field="mode")
            fields["mode"] = mode
        if terminal is not None:
            if terminal and not terminal_exe(terminal).exists():
                raise BadInput(f"No terminal64.exe in {terminal}", field="terminal")
            self._check_folder_free(terminal, key)
            fields["terminal_path"] = terminal or None
        if fields:
            await self.io(lambda: self._vault.update(login, server, **fields))
        await self._apply_accounts()

    async def unlink_account(self: Desk, key: str) -> None:
        login, server = self._split(key)
        await self.io(self._vault.unlink, login, server)
        self._snapshots.pop(key, None)
        self._states.pop(key, None)
        await self._apply_accounts()

    def reorder(self: Desk, keys: list[str]) -> None:
        async def run() -> None:
            await self.io(self._vault.reorder, keys)
            await self.reload_accounts()

        task = asyncio.ensure_future(run())
        task.add_done_callback(_log_failure)

    # ---- lanes follow the vault -----------------------------------------------------------------
    async def reload_from_vault(self: Desk) -> None:
        """Another writer (cloud sync, the CLI) changed the vault: follow it."""
        if self._vault is not None:
            await self._apply_accounts()

    async def _apply_accounts(self: Desk) -> None:
        """Reload the vault and make the lanes match it (new, removed, shared ↔ dedicated)."""
        await self.reload_accounts()
        if self.shared is None:
            return
        by_key = {a["key"]: a for a in self._accounts}
        for key in [k for k in self.dedicated if by_key.get(k, {}).get("mode") != "dedicated"]:
            lane = self.dedicated.pop(key)
            await lane.stop()
            self._lane_events.pop(lane.name, None)
            if key in by_key:  # back on the shared terminal: not live until it is logged in there
                self._set_idle(key, "back on the shared terminal")
        for key, a in by_key.items():
            state = (self._states.get(key) or {}).get("state")
            if a["mode"] == "shared" and key not in self.shared.accounts and state in ("offline", "live", "stale",
                                                                                        "disconnected", "connecting"):
                self._set_idle(key, "back on the shared terminal")  # e.g. a failed own-terminal attempt
        shared = [self._lane_account(a) for a in self._accounts if a["mode"] == "shared"]
        holder = self.shared.lock.holder
        if holder is not None and holder.account not in {a.key for a in shared}:
            self.shared.lock.release(holder.account)
        self.shared.set_accounts(shared)
        for a in self._accounts:
            self._states.setdefault(a["key"], {"event": "account_state", "account": a["key"], "state": "idle"})
            if a["mode"] == "dedicated" and a["key"] not in self.dedicated:
                await self._start_dedicated(a)

    def _set_idle(self: Desk, key: str, message: str) -> None:
        self.emit({"event": "account_state", "account": key, "state": "idle", "place": None, "message": message})

    async def _start_dedicated(self: Desk, a: dict[str, Any]) -> None:
        key = a["key"]
        try:
            exe = await self._provision(a)
        except TerminalError as exc:
            self.emit({"event": "error", "account": key, "code": exc.code, "message": str(exc)})
            self.emit({"event": "account_state", "account": key, "state": "offline", "message": str(exc)})
            return
        user = self._folder_user(exe, key, stored=False)  # the first started keeps the folder
        if user is not None:
            message = _folder_taken(exe, user)
            self.emit({"event": "error", "account": key, "code": None, "message": message})
            self.emit({"event": "account_state", "account": key, "state": "offline", "message": message})
            return
        # /portable only where the data lives in the folder: a folder the app made, or a portable install.
        # A standard install started so would come up with empty data (no saved accounts, no EAs).
        ours = terminals_dir(self.data_dir).resolve() in exe.resolve().parents
        portable = not a.get("terminal") or ours or await self.io(is_portable_install, exe.parent)
        lane = self._make_lane(f"dedicated {key}", exe, portable=portable)
        lane.set_accounts([self._lane_account(a)])
        lane.pinned = key
        self.dedicated[key] = lane
        await lane.start()
        lane.lock.activate(key)

    async def _provision(self: Desk, a: dict[str, Any]) -> Path:
        """The portable terminal folder of a dedicated account (copied from the base install once)."""
        from multi_user.terminals import default_shared_terminal

        if a.get("terminal"):
            return terminal_exe(a["terminal"])
        base = self.settings.get("base_install")
        base_exe = terminal_exe(base) if base else await self.io(
            default_shared_terminal, self.backend, self.data_dir, None)
        if base_exe is None:
            raise TerminalError("Set Settings → base MetaTrader 5 install to give accounts their own terminal")
        target = dedicated_folder(self.data_dir, int(a["login"]), a["server"])

        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:  # runs on the I/O thread
            loop.call_soon_threadsafe(self.emit, {"event": "provision", "account": a["key"],
                                                  "done": done, "total": total})

        return await self.io(provision_portable, base_exe, target, progress)

    def _folder_user(self: Desk, terminal: str | Path, key: str, *, stored: bool = True) -> str | None:
        """Who else runs a terminal from this folder (two copies cannot run from one folder); with
        ``stored``, also the accounts whose dedicated terminal is set to it but not started."""
        shared = self.shared.config.terminal if self.shared is not None else None
        if same_folder(terminal, shared or self.settings.get("shared_terminal")):
            return "the shared terminal"
        for other, lane in self.dedicated.items():
            if other != key and same_folder(terminal, lane.config.terminal):
                return other
        return next((a["key"] for a in self._accounts if stored and a["key"] != key and a.get("mode") == "dedicated"
                     and same_folder(terminal, a.get("terminal"))), None)

    def _check_folder_free(self: Desk, terminal: str | None, key: str) -> None:
        user = self._folder_user(terminal, key) if terminal else None
        if user is not None:
            raise BadInput(_folder_taken(terminal_exe(terminal), user), field="terminal")

    @staticmethod
    def _split(key: str) -> tuple[int, str]:
        login, _, server = key.partition("@")
        if not server:
            raise BadInput(f"not an account key: {key!r}")
        return int(login), server


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("account operation failed: %s", task.exception())


def _folder_taken(exe: Path, user: str) -> str:
    return (f"The terminal folder {exe.parent} is already used by {user}: two terminals cannot run from one "
            "folder. Choose another folder, or leave it empty to get a copy of the base install.")
