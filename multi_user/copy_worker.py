"""The copier's requests in a lane's worker ([J] 3), mixed into multi_user.worker.Worker.

- ``copy_watch`` (a master's lane): poll positions and orders every ``interval`` s between requests and
  push a ``copy_state`` line when they change (and once a second, for the equity the sizing uses);
- ``copy_sync`` (a follower's lane): read the follower's tagged positions, reconcile them with the
  master state the app sends (copy_reconcile.py) and carry the actions out, one ``copy_sending`` push
  before each order so the app knows which order is in flight should the answer never come.

An order whose answer never came is "in doubt": the app passes those tickets back; they are looked
up by their tag (positions, orders, then the history) before an order for them is ever sent again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from multi_user.bridge import same_server
from multi_user.closing import INVALID_FILL, filling_modes
from multi_user.copy_model import CopyLink, follower_symbol
from multi_user.copy_reconcile import COPY_MAGIC, Action, Side, read_tag, reconcile

log = logging.getLogger("mt5desk.copy")

HEARTBEAT = 1.0  # s: a master state goes out at least this often while watched
SPEC_FIELDS = ("volume_min", "volume_max", "volume_step", "trade_contract_size", "point", "digits")
HISTORY_DAYS = 7
RATE_KEEP = 60.0  # s a conversion rate for the equity ratio is reused


def _slim(items: Any, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{f: getattr(i, f, None) for f in fields} for i in items or ()]


POS_FIELDS = ("ticket", "symbol", "type", "volume", "price_open", "sl", "tp", "magic", "comment", "time_msc")
ORD_FIELDS = ("ticket", "symbol", "type", "volume_current", "price_open", "sl", "tp", "magic", "comment")


class CopyOps:
    """Copier requests; expects the Worker's bridge, send, _check_identity and _check_trading."""

    bridge: Any
    _creds: tuple[int, str, str] | None
    _copy_interval: float = 0.0
    _copy_next: float = 0.0
    _copy_sig: Any = None
    _copy_sent_at: float = 0.0
    _copy_names: tuple[Any, list[str]] | None = None
    _copy_contracts: dict[str, dict[str, Any]]
    _copy_infos: dict[str, Any]
    _copy_term_blocked: bool = False
    _copy_info_at: float = 0.0
    _copy_ccy: str = ""

    def op_rates(self, req: dict[str, Any]) -> dict[str, Any]: ...  # the Worker's

    def send(self, message: dict[str, Any]) -> None: ...  # the Worker's
    def _check_identity(self) -> None: ...
    def _check_trading(self) -> None: ...

    # ---- master side ------------------------------------------------------------------------------
    def op_copy_watch(self, req: dict[str, Any]) -> dict[str, Any]:
        self._copy_info = None  # the account may have changed since
        self._copy_interval = max(0.005, float(req.get("interval") or 0.02)) if req.get("on", True) else 0.0
        self._copy_next, self._copy_sig = 0.0, None  # the first state goes out at once
        return {"interval": self._copy_interval}

    def copy_wait(self, now: float) -> float | None:
        if not self._copy_interval or self._creds is None:
            return None
        return max(0.0, self._copy_next - now)

    def copy_tick(self, now: float) -> None:
        if not self._copy_interval or self._creds is None or now < self._copy_next:
            return
        self._copy_next = now + self._copy_interval
        try:
            state = self._master_state()
        except Exception as exc:  # a lost terminal is the snapshot's business; the copier just waits
            log.debug("copy watch read failed: %s", exc)
            return
        sig = (tuple((p["ticket"], p["volume"], p["sl"], p["tp"]) for p in state["positions"]),
               tuple((o["ticket"], o["volume_current"], o["price_open"], o["sl"], o["tp"]) for o in state["orders"]))
        if sig != self._copy_sig or now - self._copy_sent_at >= HEARTBEAT:
            state["changed"] = sig != self._copy_sig
            self._copy_sig, self._copy_sent_at = sig, now
            self.send({"type": "copy_state", "data": state})

    def _master_state(self) -> dict[str, Any]:
        mt5 = self.bridge.mt5
        positions, orders = mt5.positions_get(), mt5.orders_get()
        taken = time.time()
        info = getattr(self, "_copy_info", None)
        if info is None or taken - self._copy_info_at >= HEARTBEAT:  # equity for the sizing: once a second
            info, self._copy_info_at = mt5.account_info(), taken
            self._copy_info = info
        if positions is None or orders is None or info is None:
            raise RuntimeError("no answer")
        pos, ords = _slim(positions, POS_FIELDS), _slim(orders, ORD_FIELDS)
        contracts = getattr(self, "_copy_contracts", None)
        if contracts is None:
            contracts = self._copy_contracts = {}
        for sym in {p["symbol"] for p in pos + ords} - set(contracts):
            si = mt5.symbol_info(sym)
            contracts[sym] = {"trade_contract_size": getattr(si, "trade_contract_size", 0.0),
                              "point": getattr(si, "point", 0.0)}
        return {"login": int(info.login), "server": self._creds[2] if self._creds else str(info.server),
                "currency": str(info.currency), "equity": float(info.equity), "balance": float(info.balance),
                "margin_mode": int(getattr(info, "margin_mode", 2)), "positions": pos, "orders": ords,
                "specs": {s: contracts[s] for s in {p["symbol"] for p in pos + ords}}, "taken_at": taken}

    # ---- follower side ----------------------------------------------------------------------------
    def op_copy_sync(self, req: dict[str, Any]) -> dict[str, Any]:
        link = CopyLink.from_json(dict(req.get("link") or {}))
        m = dict(req.get("master") or {})
        master = Side(list(m.get("positions") or []), list(m.get("orders") or []), float(m.get("equity") or 0.0),
                      float(m.get("balance") or 0.0), dict(m.get("specs") or {}),
                      margin_mode=None if m.get("margin_mode") is None else int(m["margin_mode"]))
        follower = self._follower_state(link, master)
        doubts = {int(t): bool(settled) for t, settled in dict(req.get("in_doubt") or {}).items()}
        resolved = self._resolve_doubts(doubts, follower)
        waiting = {t for t, how in resolved.items() if how in ("absent", "filled")}
        why = self._convert_equity(link, str(m.get("currency") or ""), follower)
        actions = reconcile(link, master, follower, waiting)
        if why is not None:  # sized on unconverted money would be wrong: say so instead
            actions = [a if a.kind not in ("open", "place") else Action("skip", a.master_ticket, a.symbol, reason=why)
                       for a in actions]
        results = []
        if any(a.kind not in ("skip",) for a in actions) and self._copy_term_blocked:
            self._check_trading()  # says why in the owner's words
        for a in actions:
            results.append(self._carry_out(a, link))
        # the copies as they were before the actions (the follower's own copy_state shows them after)
        tagged = [p for p in follower.positions if read_tag(p) is not None]
        return {"results": results, "resolved": {str(k): v for k, v in resolved.items()}, "positions": tagged,
                "equity": follower.equity}

    def _follower_state(self, link: CopyLink, master: Side) -> Side:
        mt5 = self.bridge.mt5
        # one account_info and one terminal_info serve the identity and the trading checks: each call to
        # the terminal is latency on the way to the follower's order
        info, term = mt5.account_info(), mt5.terminal_info()
        login, _, server = self._creds or (None, "", "")
        if (getattr(self, "_mismatch", None) is not None or info is None or term is None
                or int(info.login) != login or not same_server(str(info.server), server)):
            self._check_identity()  # the full check, which raises the error in plain words
        self._copy_term_blocked = bool(getattr(term, "tradeapi_disabled", False)
                                       or not getattr(term, "trade_allowed", True))
        positions, orders = mt5.positions_get(), mt5.orders_get()
        if info is None or positions is None or orders is None:
            raise self.bridge._error("Could not read the follower's account")
        if self._copy_names is None or self._copy_names[0] != self._creds:
            self._copy_names = (self._creds, [s.name for s in mt5.symbols_get() or ()])
        names = self._copy_names[1]
        self._copy_ccy = str(getattr(info, "currency", "") or "")
        side = Side(_slim(positions, POS_FIELDS), _slim(orders, ORD_FIELDS), float(info.equity),
                    float(info.balance), {}, names, int(getattr(info, "margin_mode", 2)))
        wanted = {follower_symbol(link, str(i["symbol"]), names) for i in master.positions + master.orders}
        wanted |= {str(i["symbol"]) for i in side.positions + side.orders if read_tag(i) is not None}
        self._copy_infos = {}
        for sym in wanted - {None}:
            assert sym is not None
            tick = mt5.symbol_info_tick(sym)
            if tick is None:  # not in Market Watch (after a restart too): select it once
                mt5.symbol_select(sym, True)
                tick = mt5.symbol_info_tick(sym)
            si = mt5.symbol_info(sym)
            if si is None:
                continue
            self._copy_infos[sym] = si
            spec = {f: getattr(si, f, None) for f in SPEC_FIELDS}
            spec.update(bid=getattr(tick, "bid", 0.0), ask=getattr(tick, "ask", 0.0))
            side.specs[sym] = spec
        return side

    def _convert_equity(self, link: CopyLink, master_ccy: str, follower: Side) -> str | None:
        """Equity and balance ratios compare money: the follower's in the master's currency, at the
        follower terminal's own quote (kept RATE_KEEP s). Returns why not, when there is no quote."""
        ccy = self._copy_ccy
        if link.sizing not in ("equity", "balance") or not master_ccy or not ccy or ccy == master_ccy:
            return None
        cache = self.__dict__.setdefault("_copy_rates", {})
        pair = f"{ccy}/{master_ccy}"
        rate, at = cache.get(pair, (None, 0.0))
        if rate is None or time.time() - at > RATE_KEEP:
            got = self.op_rates({"pairs": [[ccy, master_ccy]]}).get(pair) or {}
            rate = float(got.get("rate") or 0.0) or None
            cache[pair] = (rate, time.time())
        if not rate:
            return f"no quote on the follower to convert {ccy} to {master_ccy} for the {link.sizing} ratio"
        follower.equity *= rate
        follower.balance *= rate
        return None

    def _resolve_doubts(self, doubts: dict[int, bool], follower: Side) -> dict[int, str]:
        """Each in-doubt master ticket (True: the app waited long enough since it was last absent):
        "found" (its copy is there), "filled" (filled and closed since: never again), "absent" (no
        trace yet: wait) or "retry" (no trace after the wait: it was never filled)."""
        out: dict[int, str] = {}
        if not doubts:
            return out
        there = {t[0] for t in (read_tag(i) for i in follower.positions + follower.orders) if t}
        history: set[int] | None = None
        for ticket, settled in doubts.items():
            if ticket in there:
                out[ticket] = "found"
                continue
            if history is None:
                history = self._history_tags()
            out[ticket] = "filled" if ticket in history else "retry" if settled else "absent"
        return out

    def _history_tags(self) -> set[int]:
        now = time.time()
        orders = self.bridge.mt5.history_orders_get(int(now - HISTORY_DAYS * 86400), int(now + 2 * 86400)) or ()
        return {t[0] for t in (read_tag({"magic": o.magic, "comment": o.comment}) for o in orders
                               if getattr(o, "magic", 0) == COPY_MAGIC) if t}

    def _carry_out(self, a: Action, link: CopyLink) -> dict[str, Any]:
        out = {**a.to_json(), "retcode": None, "ok": a.kind == "skip", "message": a.reason}
        if a.kind == "skip":
            return out
        mt5 = self.bridge.mt5
        started = time.perf_counter()
        info = None
        request: dict[str, Any]
        if a.kind in ("open", "add", "close", "partial", "place"):
            info = self._copy_infos.get(a.symbol) or mt5.symbol_info(a.symbol)
        if a.kind == "open":
            request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": a.symbol, "volume": a.volume, "type": a.type,
                       "price": a.price, "sl": a.sl, "tp": a.tp, "deviation": link.max_slippage or 20,
                       "magic": COPY_MAGIC, "comment": a.comment, "type_time": mt5.ORDER_TIME_GTC}
        elif a.kind == "add":  # a netting follower: the deal merges into the copy, which keeps its tag
            request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": a.symbol, "volume": a.volume, "type": a.type,
                       "price": a.price, "deviation": link.max_slippage or 20, "magic": COPY_MAGIC,
                       "comment": "copy add", "type_time": mt5.ORDER_TIME_GTC}
        elif a.kind in ("close", "partial"):
            tick = mt5.symbol_info_tick(a.symbol)
            buy = a.type == mt5.POSITION_TYPE_BUY
            request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": a.symbol, "volume": a.volume,
                       "type": mt5.ORDER_TYPE_SELL if buy else mt5.ORDER_TYPE_BUY, "position": a.follower_ticket,
                       "price": (tick.bid if buy else tick.ask) if tick else 0.0, "deviation": 50,
                       "magic": COPY_MAGIC, "comment": "copy close", "type_time": mt5.ORDER_TIME_GTC}
        elif a.kind == "sltp":
            request = {"action": mt5.TRADE_ACTION_SLTP, "symbol": a.symbol, "position": a.follower_ticket,
                       "sl": a.sl, "tp": a.tp, "magic": COPY_MAGIC}
        elif a.kind == "place":
            request = {"action": mt5.TRADE_ACTION_PENDING, "symbol": a.symbol, "volume": a.volume, "type": a.type,
                       "price": a.price, "sl": a.sl, "tp": a.tp, "magic": COPY_MAGIC, "comment": a.comment,
                       "type_time": mt5.ORDER_TIME_GTC}
        elif a.kind == "modify":
            request = {"action": mt5.TRADE_ACTION_MODIFY, "order": a.follower_ticket, "symbol": a.symbol,
                       "price": a.price, "sl": a.sl, "tp": a.tp}
        else:  # remove
            request = {"action": mt5.TRADE_ACTION_REMOVE, "order": a.follower_ticket}
        if a.kind in ("open", "place"):
            self.send({"type": "copy_sending", "master_ticket": a.master_ticket, "kind": a.kind})
        modes = filling_modes(mt5, info) if info is not None else [None]
        result = None
        for mode in modes:
            req = dict(request) if mode is None else {**request, "type_filling": mode}
            result = mt5.order_send(req)
            if result is None or int(result.retcode) != INVALID_FILL:
                break
        out["ms"] = round((time.perf_counter() - started) * 1000, 2)
        if result is None:
            code, message = mt5.last_error()
            out.update(retcode=None, ok=False, message=f"no answer from the terminal ({message}, {code})",
                       in_doubt=a.kind in ("open", "place"))
            return out
        code = int(result.retcode)
        out.update(retcode=code, ok=code in (10008, 10009, 10010), message=str(result.comment or ""),
                   follower_ticket=int(getattr(result, "order", 0) or a.follower_ticket) if a.kind in (
                       "open", "place") else a.follower_ticket)
        return out
