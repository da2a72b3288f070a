"""Bots per account ([I] 2): the app side. Starts and stops the owner's bots in the lanes' workers
(multi_user/bots/), as ``bot`` jobs through each lane's lock, so the lock's rules hold for them:

- On the shared terminal a bot needs the lock: its job waits in the queue (shown as ``waiting``) and
  starts when the lock comes to it; it holds the terminal until it stops (a started job is never cut
  short), and the accounts queued behind it wait, visibly. On a dedicated lane the account already
  holds its own lock: the bot starts at once.
- ``turns`` (minutes, shared lane): when another job waits and the bot has run that long, it is
  paused at a safe point (between its calls) and queued again behind the others.
- Stopping is asked of the worker, which stops the bot between calls; the job ends when the worker
  says the bot has stopped (or the worker is gone).
- A bot stops when the risk guard blocks its account or a close-all is asked for it (the close-all
  runs next, as a job, once the bot has let go of the account).
- Chosen bots (``restart``) are kept in <data>/bots.json and started again at the next launch.

Events: ``bot`` (docs/ARCHITECTURE.md): the worker's state, order and log pushes, plus ``waiting`` and
the ends the worker cannot tell (refused before starting, worker gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from multi_user.errors import BadInput, DeskError
from multi_user.json_file import read_dict_of_dicts, write_atomic

if TYPE_CHECKING:
    from app.desk import Desk
    from app.jobs import Job
    from app.lanes import Lane

log = logging.getLogger("mt5desk.bots")

BOTS_FILE = "bots.json"
JOB_KIND = "bot"
END_STATES = frozenset({"stopped", "failed", "paused"})
DEFAULT_MAX_PER_MINUTE = 30


@dataclass
class BotRun:
    account: str
    bot: str
    params: dict[str, Any]
    lane: str
    restart: bool = False
    turns: float | None = None  # minutes per turn on the shared lane; None: hold until stopped
    state: str = "waiting"
    message: str | None = None
    job_id: str | None = None
    started_at: float | None = None
    orders: int = 0
    end: asyncio.Future[dict[str, Any]] | None = field(default=None, repr=False)
    stopping: str | None = None  # why the owner or the app asked it to stop

    def view(self) -> dict[str, Any]:
        return {"account": self.account, "bot": self.bot, "params": dict(self.params), "lane": self.lane,
                "state": self.state, "message": self.message, "orders": self.orders, "restart": self.restart,
                "turns": self.turns}


class BotManager:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.runs: dict[str, BotRun] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        desk.event.connect(self._on_event)

    # ---- the owner's commands --------------------------------------------------------------
    async def start(self, key: str, bot: str, params: dict[str, Any] | None = None, *, restart: bool = False,
                    turns: float | None = None) -> dict[str, Any]:
        """Check the bot and its parameters in the account's worker, then queue it (BadInput: nothing starts)."""
        lane = self._lane(key)
        account = next((a for a in self.desk.accounts() if a["key"] == key), None)
        if account is not None and account.get("investor"):
            raise BadInput(f"{key} is linked with its investor (read-only) password: a bot cannot trade it")
        if self.desk.guard.is_blocked(key):
            raise BadInput(f"the risk guard blocks {key} until its next reset: no bot starts on it")
        current = self.runs.get(key)
        if current is not None and current.state not in END_STATES:
            raise BadInput(f"{current.bot} is already {current.state} on {key}; stop it first")
        if turns is not None and (not isinstance(turns, (int, float)) or isinstance(turns, bool) or turns <= 0):
            raise BadInput(f"turns is a number of minutes above 0, not {turns!r}")
        checked = await lane.worker.request("bot_check", bot=bot, params=params or {}, data_dir=str(self.desk.data_dir))
        run = BotRun(key, str(bot), dict(checked.get("values") or {}), lane.name, restart=restart,
                     turns=float(turns) if turns else None)
        self.runs[key] = run
        lane.job_runners[JOB_KIND] = self._run_job
        lane.push_hooks["bot"] = self._on_push
        await self._remember(run)
        self._queue(lane, run)
        return run.view()

    def stop(self, key: str, message: str = "stopped by the owner", *, pause: bool = False) -> bool:
        """Stop (or pause) the account's bot: a waiting one leaves the queue, a running one stops between calls."""
        run = self.runs.get(key)
        if run is None or run.state in END_STATES:
            return False
        if not pause and run.restart:
            run.restart = False
            self._spawn(self._remember(run))
        lane = self._lane(key)
        if run.state == "waiting" and run.job_id is not None and lane.lock.cancel_job(run.job_id):
            return True  # the job event ends it ("cancelled")
        run.stopping = message
        if lane.worker.running:
            self._spawn(self._ask_stop(lane, message, pause))
        return True

    async def available(self) -> list[dict[str, Any]]:
        """The bots there are, with their parameter schema, as a lane's worker finds them."""
        lanes = [ln for ln in (self.desk.shared, *self.desk.dedicated.values()) if ln is not None and ln.worker.running]
        if not lanes:
            raise BadInput("no terminal lane runs yet: the bots are listed once one has started")
        return list(await lanes[0].worker.request("bot_list", data_dir=str(self.desk.data_dir)))

    def yield_terminal(self, key: str) -> None:
        """The owner confirmed switching the shared terminal to ``key``: a bot holding it pauses at a safe
        point (between its calls), and the switch follows once it has let go (its job ends)."""
        lane = self.desk.shared
        holder = lane.lock.holder if lane is not None else None
        if holder is not None and holder.account != key and holder.job is not None and holder.job.kind == JOB_KIND:
            self.stop(holder.account, f"paused: the owner switched the terminal to {key}", pause=True)

    def states(self) -> list[dict[str, Any]]:
        return [r.view() for r in self.runs.values()]

    async def restore(self) -> None:
        """Start again the bots the owner chose to keep running across restarts."""
        stored = await self.desk.io(read_dict_of_dicts, self.desk.data_dir / BOTS_FILE)
        for key, spec in stored.items():
            try:
                await self.start(key, str(spec.get("bot")), spec.get("params") or {}, restart=True,
                                 turns=spec.get("turns"))
            except DeskError as exc:
                self.desk.emit({"event": "bot", "kind": "state", "account": key, "bot": spec.get("bot"),
                                "state": "failed", "message": f"not restarted: {exc}"})

    # ---- lanes ---------------------------------------------------------------------------------
    def _lane(self, key: str) -> Lane:
        lane = self.desk.lane_of(key)
        if lane is None or key not in lane.accounts:
            raise BadInput(f"{key} is not a linked account with a running terminal lane")
        return lane

    def _queue(self, lane: Lane, run: BotRun) -> None:
        run.state, run.message, run.stopping = "waiting", None, None
        job = lane.lock.run_job(run.account, JOB_KIND)
        run.job_id = job.id
        if job.state == "queued":
            self._emit(run, state="waiting", message="waiting for the terminal" if lane.lock.holder is not None
                       and lane.lock.holder.account != run.account else "logging in")

    async def _run_job(self, lane: Lane, job: Job) -> tuple[bool, str, dict[str, Any], list[int]]:
        """The lock gave the bot's account the terminal: run the bot until it stops."""
        run = self.runs.get(job.account)
        if run is None or run.job_id != job.id or run.stopping:
            if run is not None and run.job_id == job.id and run.state not in END_STATES:
                run.state = "stopped"
                self._emit(run, state="stopped", message=run.stopping)
            return True, "the bot was stopped before it started", {"orders": 0, "state": "stopped"}, []
        acct = lane.accounts[job.account]
        run.end = asyncio.get_running_loop().create_future()
        try:
            await lane.worker.request("bot_start", bot=run.bot, params=run.params, login=acct.login,
                                      server=acct.server, data_dir=str(self.desk.data_dir),
                                      max_orders_per_minute=int(self.desk.settings.get("bot_max_orders_per_minute")
                                                                or DEFAULT_MAX_PER_MINUTE))
            run.started_at = time.monotonic()
            final = await run.end
        except asyncio.CancelledError:  # the lane stops (the app quits): the job ends with the worker
            run.state, run.message = "stopped", "the app stopped"  # not a failure: a chosen restart stays
            return False, "the app stopped while the bot ran", {"orders": run.orders, "state": "stopped"}, []
        state = str(final.get("state"))
        result = {"orders": int(final.get("orders") or 0), "state": state}
        return state != "failed", str(final.get("message") or state), result, list(final.get("retcodes") or [])

    async def _ask_stop(self, lane: Lane, message: str, pause: bool) -> None:
        try:
            await lane.worker.request("bot_stop", message=message, pause=pause)
        except DeskError as exc:
            log.warning("stopping the bot on %s: %s", lane.name, exc)

    # ---- events --------------------------------------------------------------------------------
    def _on_push(self, lane: Lane, msg: dict[str, Any]) -> None:
        fields = {k: v for k, v in msg.items() if k != "type"}
        run = self.runs.get(str(msg.get("account")))
        if run is not None and msg.get("kind") == "order" and not msg.get("refused"):
            run.orders += 1
        if run is not None and msg.get("kind") == "state":
            run.state, run.message = str(msg.get("state")), msg.get("message")
            if run.state in END_STATES and run.end is not None and not run.end.done():
                run.end.set_result(fields)
        self.desk.emit({"event": "bot", "lane": lane.name, **fields})
        if run is not None and run.state == "running" and run.turns:
            asyncio.get_running_loop().call_later(run.turns * 60 + 0.05, self._check_turns)

    def _on_event(self, ev: dict[str, Any]) -> None:
        if self.runs and ev.get("event") in ("job", "guard", "lock"):
            # after the lock's own change is complete: what this does may change the lock again
            asyncio.get_event_loop().call_soon(self._handle, ev)

    def _handle(self, ev: dict[str, Any]) -> None:
        kind, key = ev.get("event"), ev.get("account")
        run = self.runs.get(str(key)) if key is not None else None
        if run is None:
            if kind == "lock":
                self._check_turns()
            return
        if kind == "job" and ev.get("job") == JOB_KIND and ev.get("id") == run.job_id:
            if ev.get("state") in ("failed", "cancelled") and run.state not in END_STATES:
                # refused before starting, or the worker is gone: the worker could not say it
                run.state = "stopped" if ev.get("state") == "cancelled" else "failed"
                self._emit(run, state=run.state, message=ev.get("message"))
                if run.end is not None and not run.end.done():
                    run.end.set_result({"state": run.state, "message": ev.get("message")})
            if (ev.get("state") == "done" and run.state == "paused" and run.stopping is None and run.turns
                    and not self.desk.guard.is_blocked(run.account)):
                self._queue(self._lane(run.account), run)  # its turn ended: queue again behind the others
            if ev.get("state") in ("done", "failed", "cancelled") and run.state == "failed" and run.restart:
                run.restart = False  # a failed bot is not restarted at the next launch
                self._spawn(self._remember(run))
        elif kind == "job" and ev.get("job") == "close_all" and ev.get("state") == "queued":
            self.stop(str(key), "a close-all was asked for the account: the bot stops so it can run")
        elif kind == "guard" and (ev.get("blocked") or (ev.get("act") and ev.get("hard_stop"))):
            self.stop(str(key), "the risk guard blocks the account")
        elif kind == "lock":
            self._check_turns()

    def _check_turns(self) -> None:
        """Shared lane: a bot whose turn is over pauses when another job waits for the terminal."""
        lane = self.desk.shared
        holder = lane.lock.holder if lane is not None else None
        if lane is None or holder is None or holder.job is None or holder.job.kind != JOB_KIND:
            return
        run = self.runs.get(holder.account)
        waiting = any(r.job is not None for r in lane.lock.queue)
        if (run is not None and run.turns and run.state == "running" and run.started_at is not None and waiting
                and time.monotonic() - run.started_at >= run.turns * 60 and lane.worker.running):
            run.started_at = None  # ask once
            self._spawn(self._ask_stop(lane, "its turn is over: another account waits for the terminal", True))

    def _emit(self, run: BotRun, **fields: Any) -> None:
        self.desk.emit({"event": "bot", "kind": "state", "lane": run.lane, "account": run.account, "bot": run.bot,
                        **fields})

    async def _remember(self, run: BotRun) -> None:
        path = self.desk.data_dir / BOTS_FILE

        def update() -> None:
            stored = read_dict_of_dicts(path)
            if run.restart:
                stored[run.account] = {"bot": run.bot, "params": run.params, "turns": run.turns}
            elif run.account not in stored:
                return
            else:
                stored.pop(run.account)
            write_atomic(path, stored)

        await self.desk.io(update)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
