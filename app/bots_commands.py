"""The headless host's and the control endpoint's bot commands ([I] 2), mixed into HeadlessCommands:

    {"cmd": "bot_start", "account": KEY, "bot": NAME, "params": {...}, "restart": false, "turns": null}
    {"cmd": "bot_stop", "account": KEY}

A bot that starts is answered by its ``bot`` events (``waiting``, then ``running``); a refusal (unknown
bot, bad parameter, read-only or blocked account) by an ``error`` event naming the command.
"""

from __future__ import annotations

from typing import Any

from multi_user.errors import DeskError

BOT_COMMANDS = ("bot_start", "bot_stop")


class BotCommands:
    desk: Any

    def emit(self, ev: dict[str, Any]) -> None:  # pragma: no cover - HeadlessCommands'
        raise NotImplementedError

    def _account(self, cmd: dict[str, Any], name: str) -> str:  # pragma: no cover - HeadlessCommands'
        raise NotImplementedError

    def _do_bot_start(self, cmd: dict[str, Any]) -> None:
        from app.commands.headless_commands import CommandError, clip  # it imports this module

        account = self._account(cmd, "bot_start")
        bot, params = cmd.get("bot"), cmd.get("params", {})
        if not isinstance(bot, str) or not bot.strip():
            raise CommandError('needs a bot: {"cmd": "bot_start", "account": KEY, "bot": NAME, "params": {...}}',
                               account=account)
        if not isinstance(params, dict):
            raise CommandError(f'"params" must be an object like {{"fast": 5}}, not {clip(params)}', account=account)
        self.desk.bots._spawn(self._bot_start(account, bot, params, cmd))

    async def _bot_start(self, account: str, bot: str, params: dict[str, Any], cmd: dict[str, Any]) -> None:
        try:
            await self.desk.bots.start(account, bot, params, restart=cmd.get("restart") is True,
                                       turns=cmd.get("turns"))
        except DeskError as exc:
            from app.commands.headless_commands import answer

            self.emit(answer({"event": "error", "command": "bot_start", "account": account,
                              "message": f"bot_start: {exc}"}, cmd.get("id")))

    def _do_bot_stop(self, cmd: dict[str, Any]) -> None:
        from app.commands.headless_commands import CommandError

        account = self._account(cmd, "bot_stop")
        if not self.desk.bots.stop(account, pause=cmd.get("pause") is True):
            raise CommandError(f"no bot runs or waits on {account}; nothing to stop", account=account)
