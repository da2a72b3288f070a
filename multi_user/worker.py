"""One lane's worker process: ``python -m multi_user.worker``.

The worker owns the MetaTrader5 module (real or simulated) for one terminal, so a hung IPC call
or a crashed terminal can only ever block this process, never the GUI. It reads requests from
stdin and writes answers and pushes to stdout, one JSON object per line (see worker_protocol).

It exits when stdin closes, so a dead GUI leaves no orphan workers.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from multi_user import worker_protocol as wp
from multi_user.bots.worker_ops import BotOps
from multi_user.bridge import TRADE_RETCODE_CLIENT_DISABLES_AT, same_server
from multi_user.closing import flatten_result
from multi_user.copy_worker import CopyOps
from multi_user.errors import BadInput, DeskError, IdentityMismatch, TerminalError
from multi_user.worker_switch import SwitchOps

log = logging.getLogger("mt5desk.worker")

RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)  # bounded backoff on IPC errors


class Worker(BotOps, CopyOps, SwitchOps):  # bots' requests ([I]), the copier's ([J]), switches ([P] 3)
    def __init__(self, bridge: Any, out: BinaryIO, *, rate: float = 1.0, lane: str = "",
                 supervised: bool = False) -> None:
        self.bridge = bridge
        # A terminal the app supervises is restarted by the app, which then sends "reconnect". The
        # worker must not attach on its own meanwhile: initialize() would launch a second terminal
        # that nobody supervises (and that would outlive the app).
        self.supervised = supervised
        bridge.may_launch = not supervised
        self._lost = False
        self.out = out
        self.lane = lane
        self.rate = rate
        self.streaming = True
        self.requests: queue.Queue[bytes | None] = queue.Queue()
        self._creds: tuple[int, str, str] | None = None  # memory only, to log in again after a terminal restart
        self._mismatch: dict[str, Any] | None = None
        self._ea_note: str | None = None  # the shared lane's account has EA positions (see _warn_trading)
        self._next_push = 0.0
        self._reconnect_attempt = 0
        self._next_reconnect = 0.0
        self._last_health: dict[str, Any] | None = None
        self._after_reply: Any = None  # work a request leaves for after its answer (see op_switch)
        self._with_reply: list[dict[str, Any]] = []  # pushes written with the answer, in the same write
        self._write_lock = threading.Lock()

    # ---- output ---------------------------------------------------------------------------
    def send(self, message: dict[str, Any], *more: dict[str, Any]) -> None:
        """Write messages in one write: one pipe read on the app's side takes them all."""
        data = b"".join(wp.encode(m) for m in (message, *more))
        with self._write_lock:
            self.out.write(data)
            self.out.flush()

    def push_health(self, force: bool = False) -> None:
        try:
            health = dict(self.bridge.health())
        except Exception as exc:  # the health probe itself must never kill the worker
            health = {"initialized": False, "terminal_connected": False,
                      "last_error": {"code": getattr(exc, "code", None), "message": str(exc)}}
        if self._creds:
            health["login"], health["server"] = self._creds[0], self._creds[2]
        health["mismatch"] = self._mismatch is not None
        if self._ea_note:
            health["ea_warning"] = self._ea_note
        if force or health != self._last_health:
            self._last_health = health
            self.send({"type": "health", **health})

    # ---- requests -------------------------------------------------------------------------
    def handle(self, line: bytes) -> bool:
        """Answer one request; returns False when the worker should exit."""
        try:
            req = wp.decode(line)
        except ValueError as exc:
            self.send({"type": "error", "message": f"unreadable request: {exc}"})
            return True
        rid, op = req.get("id"), req.get("op")
        reply = self.send if "id" in req else self._unanswered
        try:
            if op == "shutdown":
                reply({"id": rid, "ok": True, "result": None})
                return False
            if op not in ("prepare", "switch"):
                self._prepared = self._seen = None  # another request came between: a switch reads afresh
            handler = getattr(self, f"op_{op}", None)
            if handler is None:
                raise BadInput(f"unknown request {op!r}")
            result = handler(req)
            with_reply, self._with_reply = self._with_reply, []
            reply({"id": rid, "ok": True, "result": result}, *with_reply)
            after, self._after_reply = self._after_reply, None
            if after is not None:
                after()
        except DeskError as exc:
            self._with_reply = []
            reply({"id": rid, "ok": False, "error": {
                "kind": wp.error_kind(exc), "code": getattr(exc, "code", None), "message": str(exc)}})
        except Exception as exc:  # a bug in one request must not take the lane down
            log.exception("request %s failed", op)
            reply({"id": rid, "ok": False, "error": {
                "kind": wp.ERR_TERMINAL, "code": None, "message": f"{type(exc).__name__}: {exc}"}})
        return True

    def _unanswered(self, answer: dict[str, Any], *pushes: dict[str, Any]) -> None:
        """No answer to a request without an id (the app's notify: prepare); its pushes go out, a failure is logged."""
        if pushes:
            self.send(*pushes)
        if answer.get("ok") is False:
            log.warning("a request sent without an id failed: %s", answer["error"]["message"])

    def op_hello(self, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("protocol") != wp.PROTOCOL_VERSION:
            raise BadInput(f"protocol {req.get('protocol')} not supported (worker speaks {wp.PROTOCOL_VERSION})")
        return {"protocol": wp.PROTOCOL_VERSION, "pid": os.getpid()}

    def op_ping(self, req: dict[str, Any]) -> None:
        """The client's watchdog: an answer is all it needs."""

    def op_connect(self, req: dict[str, Any]) -> dict[str, Any]:
        """The app's terminal is up (or, unsupervised, may be started): attach. With no account yet and
        a terminal that has none saved, the first switch attaches instead (initialize() with the login)."""
        if self._creds is not None:
            self.bridge.terminal_up = True
            self.bridge.connect(*self._creds)
        else:
            self.bridge.attach()
        self.push_health()
        return dict(self.bridge.health())

    def op_release(self, req: dict[str, Any]) -> None:
        # MT5 has no logout: the terminal stays on the account, we just stop watching it.
        self.streaming = False

    def op_stream(self, req: dict[str, Any]) -> None:
        self.streaming = bool(req.get("on", True))
        if "rate" in req:
            self.rate = max(0.1, float(req["rate"]))

    def op_snapshot(self, req: dict[str, Any]) -> dict[str, Any]:
        return self._snapshot()

    def op_positions(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        self._check_identity()
        return self.bridge.positions()

    def op_history(self, req: dict[str, Any]) -> dict[str, Any]:
        """Deals and history orders since ``since`` (UTC; absent: all), times in UTC ([E] 1)."""
        self._check_identity()
        since, offset = req.get("since"), req.get("offset")
        return self.bridge.history(float(since) if since else None, int(offset) if offset is not None else None)

    def op_close_all(self, req: dict[str, Any]) -> dict[str, Any]:
        self._check_identity()
        self._check_trading()
        # one progress push per position: the client counts any line as a sign of life
        def progress(done: int, total: int) -> None:
            self.send({"type": "progress", "op": "close_all", "done": done, "total": total})

        if req.get("orders"):  # [H] 6 flatten: largest losers first, then the pending orders go too
            result = flatten_result(self.bridge.close_losers_first(on_each=progress),
                                    self.bridge.delete_pending_orders())
        else:
            result = self.bridge.close_all_positions(on_each=progress)
        self._next_push = 0.0
        return result

    def op_close_position(self, req: dict[str, Any]) -> dict[str, Any]:
        ticket = req.get("ticket")
        if not isinstance(ticket, int) or isinstance(ticket, bool) or ticket <= 0:
            raise BadInput(f"close_position needs a position ticket, not {ticket!r}")
        self._check_identity()
        self._check_trading()
        result = self.bridge.close_position(ticket)
        self._next_push = 0.0
        return result

    def op_orders(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        self._check_identity()
        return self.bridge.orders()

    def op_order_send(self, req: dict[str, Any]) -> dict[str, Any]:
        self._check_identity()
        self._check_trading()
        result = self.bridge.order_send(dict(req.get("request") or {}))
        self._next_push = 0.0
        return result

    def op_rates(self, req: dict[str, Any]) -> dict[str, Any]:
        """Conversion rates from this terminal's own quotes (d2-truth: the portfolio in one currency):
        {"EUR/USD": {"rate", "symbol", "time"}} per requested [base, quote] pair it has a symbol for."""
        mt5, out = self.bridge.mt5, {}
        for base, quote in ((str(a).upper(), str(b).upper()) for a, b in req.get("pairs") or []):
            for name, invert in ((base + quote, False), (quote + base, True)):
                found = [name, *(s.name for s in mt5.symbols_get(f"{name}*") or () if s.name != name)][:2]
                tick = next((t for t in (mt5.symbol_select(n, True) and mt5.symbol_info_tick(n) for n in found)
                             if t and t.bid > 0 and t.ask > 0), None)  # also a broker's suffixed name
                if tick is not None:
                    mid = (tick.bid + tick.ask) / 2
                    out[f"{base}/{quote}"] = {"rate": 1 / mid if invert else mid, "symbol": name, "time": tick.time}
                    break
        return out

    def op_health(self, req: dict[str, Any]) -> dict[str, Any]:
        self.push_health(force=True)
        return dict(self._last_health or {})

    def op_reconnect(self, req: dict[str, Any]) -> dict[str, Any]:
        """The terminal was restarted: attach again and log the current account back in."""
        self._reconnect()
        return dict(self._last_health or {})

    # ---- identity, snapshots, reconnects ----------------------------------------------------
    def _check_identity(self) -> None:
        if self._mismatch is not None:
            raise IdentityMismatch("refusing to trade: the terminal shows login "
                                   f"{self._mismatch['actual_login']} on {self._mismatch['actual_server']}, "
                                   f"not {self._mismatch['login']} on {self._mismatch['server']}")
        if self._creds is None:
            raise BadInput("no account is logged in on this lane")
        self.bridge.verify(self._creds[0], self._creds[2])

    def _check_trading(self) -> None:
        """Before every trading job: refuse in plain words rather than collect one 10027 per position."""
        why = self.bridge.trading_blocked()
        if why:
            raise TerminalError(f"refusing to trade: {why}", TRADE_RETCODE_CLIENT_DISABLES_AT)

    def _snapshot(self, read: Any = None) -> dict[str, Any]:
        if self._creds is None:
            raise BadInput("no account is logged in on this lane")
        snap = dict((read or self.bridge.snapshot)())
        snap["ts"] = time.time()
        login, _, server = self._creds
        if snap.get("login") != login or not same_server(snap.get("server"), server):
            self._mismatch = {"login": login, "server": server,
                              "actual_login": snap.get("login"), "actual_server": snap.get("server")}
            self._seen = None  # the last switch's reads no longer say which account is shown
            self.send({"type": "mismatch", **self._mismatch})
            self.streaming = False
            self.push_health()
            raise IdentityMismatch(f"the terminal switched to login {snap.get('login')} on {snap.get('server')}")
        snap["terminal_server"] = snap.get("server")  # the broker's own spelling, stored at link time
        snap["server"] = server  # the lane's key spells it as the account was linked
        return snap

    def _reconnect(self) -> None:
        self._prepared = self._seen = None  # reads made before the terminal came back say nothing of it now
        try:
            self.bridge.shutdown()
        except Exception:
            log.debug("shutdown before reconnect failed", exc_info=True)
        if self._creds is not None:
            login, password, server = self._creds
            self.bridge.terminal_up = True
            self.bridge.switch(login, password, server)  # initialize() with the login, as the real one needs
        else:
            self.bridge.attach()
        self._reconnect_attempt = 0
        self._lost = False
        self._next_push = 0.0
        self.push_health()

    def tick(self) -> None:
        """Periodic work between requests: push a snapshot, or retry a lost terminal with backoff."""
        now = time.monotonic()
        if not self._reconnect_attempt and not self._lost:
            self.copy_tick(now)  # [J] a master's positions, polled faster than snapshots
        if self._reconnect_attempt and now >= self._next_reconnect:
            try:
                self._reconnect()
                self.send({"type": "reconnected"})
            except DeskError as exc:
                self._schedule_reconnect(exc)
            return
        if self._lost or not (self.streaming and self._creds and self._mismatch is None) or now < self._next_push:
            return
        self._next_push = now + self.rate
        try:
            snap = self._snapshot()
            self.send({"type": "snapshot", "data": snap})
            if self._last_health is None or snap.get("connected") != self._last_health.get("terminal_connected"):
                self.push_health()  # the broker connection came or went: say so at once
        except IdentityMismatch:
            pass
        except TerminalError as exc:
            if getattr(exc, "code", None) in wp.IPC_CODES:
                self._schedule_reconnect(exc)
            else:
                self.send({"type": "error", "code": getattr(exc, "code", None), "message": str(exc)})
            self.push_health()

    def _schedule_reconnect(self, exc: BaseException) -> None:
        if self.supervised:
            self._lost = True
            self.bridge.lost()  # attach again only when the app says its restarted terminal is up
            self.send({"type": "health", "initialized": False, "terminal_connected": False,
                       "last_error": {"code": getattr(exc, "code", None), "message": str(exc)},
                       "waiting_for": "terminal restart"})
            return
        delay = RECONNECT_DELAYS[min(self._reconnect_attempt, len(RECONNECT_DELAYS) - 1)]
        self._reconnect_attempt += 1
        self._next_reconnect = time.monotonic() + delay
        self.send({"type": "health", "initialized": False, "terminal_connected": False,
                   "last_error": {"code": getattr(exc, "code", None), "message": str(exc)},
                   "retry_in": delay, "attempt": self._reconnect_attempt})

    def wait_timeout(self) -> float:
        now = time.monotonic()
        if self._reconnect_attempt:
            return max(0.0, self._next_reconnect - now)
        copy = None if self._lost or self._mismatch is not None else self.copy_wait(now)  # [J]
        if copy is not None:
            return min(copy, max(0.0, self._next_push - now) if self.streaming and self._creds else copy)
        if self.streaming and self._creds and self._mismatch is None and not self._lost:
            return min(max(0.0, self._next_push - now), self.bot_wait())
        return min(5.0, self.bot_wait())

    def run(self) -> None:
        self.send({"type": "hello", "protocol": wp.PROTOCOL_VERSION, "pid": os.getpid(), "lane": self.lane})
        while True:
            try:
                line = self.requests.get(timeout=self.wait_timeout())
            except queue.Empty:
                self.tick()
                self.bot_step()
                continue
            if line is None or not self.handle(line):
                break
            self.tick()
            self.bot_step()


def _read_stdin(inp: BinaryIO, q: queue.Queue[bytes | None]) -> None:
    for line in inp:
        if line.strip():
            q.put(line)
    q.put(None)  # EOF: the GUI is gone


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m multi_user.worker")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--backend", default="auto", choices=["auto", "mt5", "sim"])
    p.add_argument("--terminal", help="terminal64.exe of this lane (default: the backend's default)")
    p.add_argument("--portable", action="store_true")
    p.add_argument("--rate", type=float, default=1.0, help="seconds between snapshots")
    p.add_argument("--timeout-ms", type=int, default=60000, help="MT5 IPC timeout")
    p.add_argument("--lane", default="")
    p.add_argument("--supervised", action="store_true",
                   help="the app restarts this lane's terminal and then asks the worker to reconnect")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)

    from multi_user.backend import load_backend
    from multi_user.bridge import UserMT5Bridge

    data_dir = Path(args.data_dir)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format=f"%(asctime)s %(levelname)s worker[{args.lane}] %(message)s")
    out = sys.stdout.buffer
    # Nothing else may write to the protocol stream.
    sys.stdout = sys.stderr
    try:
        mt5 = load_backend(args.backend, data_dir)
    except DeskError as exc:
        out.write(wp.encode({"type": "fatal", "message": str(exc)}))
        out.flush()
        return exc.exit_code
    bridge = UserMT5Bridge(mt5, args.terminal, portable=args.portable, timeout_ms=args.timeout_ms)
    worker = Worker(bridge, out, rate=args.rate, lane=args.lane, supervised=args.supervised)
    threading.Thread(target=_read_stdin, args=(sys.stdin.buffer, worker.requests), daemon=True,
                     name="stdin-reader").start()
    try:
        worker.run()
    finally:
        try:
            bridge.shutdown()
        except Exception:
            log.debug("bridge shutdown failed", exc_info=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
