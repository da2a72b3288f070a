"""The worker's bot requests (``bot_check``, ``bot_start``, ``bot_stop``, ``bot_status``), kept apart from
the worker's own requests: ``Worker`` inherits them, and its loop calls ``bot_step`` between requests.

A lane's worker runs at most one bot: the one of the account its terminal shows, started by the app only
while that account holds the lane's lock (a ``bot`` job), so a bot never trades while another account is
logged in. Its state changes, log lines and orders are pushed as ``{"type": "bot", ...}`` lines.
"""

from __future__ import annotations

import time
from typing import Any

from multi_user.bots.base import AccountIdentity
from multi_user.bots.loader import available, describe, load_bot
from multi_user.bots.params import validate
from multi_user.bots.runner import PAUSED, RUNNING, STOPPED, BotRunner
from multi_user.errors import BadInput

DEFAULT_MAX_PER_MINUTE = 30


class BotOps:
    bot: BotRunner | None = None
    # provided by Worker
    bridge: Any
    _creds: tuple[int, str, str] | None

    def send(self, message: dict[str, Any]) -> None:  # pragma: no cover - Worker's
        raise NotImplementedError

    def _check_identity(self) -> None:  # pragma: no cover - Worker's
        raise NotImplementedError

    def _check_trading(self) -> None:  # pragma: no cover - Worker's
        raise NotImplementedError

    def op_bot_list(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        """The bots there are and their parameters (for the window, which never loads a bot itself)."""
        return available(req.get("data_dir"))

    def op_bot_check(self, req: dict[str, Any]) -> dict[str, Any]:
        """Load the bot and validate its parameters, without starting it (nothing touches the terminal)."""
        name, cls = load_bot(req.get("bot"), req.get("data_dir"))  # type: ignore[arg-type]
        return {**describe(name, cls, str(req.get("bot"))), "values": validate(cls.params, req.get("params"))}

    def op_bot_start(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.bot is not None and self.bot.state == RUNNING:
            raise BadInput(f"{self.bot.name} already runs on {self.bot.account.key}; stop it first")
        name, cls = load_bot(req.get("bot"), req.get("data_dir"))  # type: ignore[arg-type]
        params = validate(cls.params, req.get("params"))
        self._check_identity()
        assert self._creds is not None
        login, _, server = self._creds
        want = f"{req.get('login')}@{req.get('server')}"
        if (req.get("login"), req.get("server")) != (login, server):
            raise BadInput(f"this lane shows {login}@{server}, not {want}: the bot was not started")
        info = self.bridge.mt5.account_info()
        if info is None or not bool(info.trade_allowed):
            raise BadInput(f"{want} is read-only (investor login) or unreadable: a bot cannot trade it")

        def check() -> None:
            self._check_identity()
            self._check_trading()

        self.bot = BotRunner(cls, name, params, AccountIdentity(login, server), mt5=self.bridge.mt5,
                             check_account=check, emit=self.send,
                             max_per_minute=int(req.get("max_orders_per_minute") or DEFAULT_MAX_PER_MINUTE))
        self.bot.emit({"kind": "state", "state": RUNNING, "message": None, "params": params})
        return {"bot": name, "params": params, "state": RUNNING}

    def op_bot_stop(self, req: dict[str, Any]) -> dict[str, Any]:
        bot = self.bot
        if bot is None:
            return {"state": None}
        bot.stop(str(req.get("message") or "stopped by the owner"), PAUSED if req.get("pause") else STOPPED)
        return self._bot_status(bot)

    def op_bot_status(self, req: dict[str, Any]) -> dict[str, Any] | None:
        return self._bot_status(self.bot) if self.bot is not None else None

    @staticmethod
    def _bot_status(bot: BotRunner) -> dict[str, Any]:
        return {"bot": bot.name, "account": bot.account.key, "state": bot.state, "message": bot.message,
                "orders": bot.orders, "retcodes": list(bot.retcodes)}

    # ---- the worker's loop -------------------------------------------------------------------
    def bot_step(self) -> None:
        if self.bot is not None and self.bot.active:
            self.bot.step()

    def bot_wait(self) -> float:
        return self.bot.due_in(time.monotonic()) if self.bot is not None else 60.0

    def bot_account_changes(self, login: int, server: str) -> None:
        """The lane logs another account in: a bot of the one before stops first (between its calls)."""
        if self.bot is not None and self.bot.active and (login, server) != (self.bot.account.login,
                                                                             self.bot.account.server):
            self.bot.stop(f"the terminal is being switched to {login}@{server}", PAUSED)
