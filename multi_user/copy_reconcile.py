"""The copier's reconciler ([J] 2): what a follower must do to mirror its master, from state alone.

A follower's copies carry a tag: the magic number COPY_MAGIC and the comment ``cp<master ticket>x<ratio>``
(ratio: follower lots per master lot when it was opened, so partial closes follow in proportion after
any restart). The reconciler compares the master's positions and orders with the follower's tagged
ones and returns the actions that make them match; it never replays a history of orders. Hence:

- never a duplicate: an open is only proposed for a master ticket with no tagged position or order
  on the follower (a second one, should it ever exist, is closed);
- never an orphan: a tagged position whose master ticket is gone is closed;
- positions the owner opened by hand (no tag) are never touched.

A netting follower (one position per symbol) mirrors a netting master only: a hedging master's trades
are skipped with the reason (copy_model.netting_refusal); an open that would merge into a position the
follower already holds on that symbol (the owner's own, or another copy) is skipped with the reason.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from multi_user.copy_model import (
    NETTING_MODES,
    CopyLink,
    copies_symbol,
    follower_symbol,
    follower_volume,
    netting_refusal,
    round_volume,
)

COPY_MAGIC = 5_161_116  # "J #16": every position and order the copier opens carries it
BUY, SELL = 0, 1
BUY_LIMIT, SELL_LIMIT, BUY_STOP, SELL_STOP = 2, 3, 4, 5
REVERSED = {BUY: SELL, SELL: BUY, BUY_LIMIT: SELL_STOP, SELL_STOP: BUY_LIMIT, SELL_LIMIT: BUY_STOP,
            BUY_STOP: SELL_LIMIT}
_TAG = re.compile(r"^cp(\d+)x([0-9.]+)$")


def make_tag(master_ticket: int, ratio: float) -> str:
    return f"cp{int(master_ticket)}x{ratio:.6g}"[:31]


def read_tag(item: dict[str, Any]) -> tuple[int, float] | None:
    """(master ticket, ratio) of a tagged follower position or order; None for anything else."""
    if int(item.get("magic") or 0) != COPY_MAGIC:
        return None
    m = _TAG.match(str(item.get("comment") or ""))
    if m is None:
        return None
    try:
        return int(m.group(1)), float(m.group(2))
    except ValueError:
        return None


@dataclass
class Side:
    """One account's state as the reconciler needs it."""
    positions: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    equity: float = 0.0
    balance: float = 0.0
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)  # symbol -> symbol_info (+ bid/ask)
    names: list[str] = field(default_factory=list)  # every symbol the follower's broker has
    margin_mode: int | None = None  # ACCOUNT_MARGIN_MODE_*; None: not known


@dataclass
class Action:
    kind: str  # open | add (netting) | close | partial | sltp | place | modify | remove | skip
    master_ticket: int
    symbol: str = ""
    follower_ticket: int = 0
    type: int = 0
    volume: float = 0.0
    price: float = 0.0
    sl: float = 0.0
    tp: float = 0.0
    comment: str = ""
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _tagged(items: list[dict[str, Any]]) -> dict[int, list[tuple[dict[str, Any], float]]]:
    out: dict[int, list[tuple[dict[str, Any], float]]] = {}
    for item in sorted(items, key=lambda i: int(i.get("ticket") or 0)):
        tag = read_tag(item)
        if tag is not None:
            out.setdefault(tag[0], []).append((item, tag[1]))
    return out


def _stops(link: CopyLink, sl: float, tp: float) -> tuple[float, float]:
    if not link.copy_sltp:
        return 0.0, 0.0
    return (tp, sl) if link.reverse else (sl, tp)


def _differs(a: float, b: float, point: float) -> bool:
    return abs(float(a or 0.0) - float(b or 0.0)) > point / 2


def reconcile(link: CopyLink, master: Side, follower: Side, in_doubt: set[int] | frozenset[int] = frozenset()
              ) -> list[Action]:
    """The actions that make ``follower`` mirror ``master`` (skips say why a trade is not copied)."""
    if link.paused:
        return []
    actions: list[Action] = []
    mpos = {int(p["ticket"]): p for p in master.positions}
    mord = {int(o["ticket"]): o for o in master.orders} if link.copy_pending else {}
    fpos, ford = _tagged(follower.positions), _tagged(follower.orders)
    for mt, copies in fpos.items():
        for i, (p, _) in enumerate(copies):
            if mt not in mpos or i > 0:
                why = "the master closed it" if mt not in mpos else "a second copy of one master position"
                actions.append(Action("close", mt, str(p["symbol"]), int(p["ticket"]), int(p["type"]),
                                      float(p["volume"]), reason=why))
    for mt, copies in ford.items():
        for i, (o, _) in enumerate(copies):
            if mt not in mord or i > 0:
                why = ("the master's order was filled or removed" if mt not in mord
                       else "a second copy of one master order")
                actions.append(Action("remove", mt, str(o["symbol"]), int(o["ticket"]), int(o["type"]),
                                      float(o.get("volume_current") or 0.0), reason=why))
    for mt, p in sorted(mpos.items()):
        if mt in fpos:
            actions.extend(_follow_position(link, p, *fpos[mt][0], follower))
        else:
            actions.append(_open(link, mt, p, master, follower, in_doubt, pending=False))
    for mt, o in sorted(mord.items()):
        if mt in ford:
            actions.extend(_follow_order(link, o, ford[mt][0][0], follower))
        else:
            actions.append(_open(link, mt, o, master, follower, in_doubt, pending=True))
    if follower.margin_mode in NETTING_MODES:
        actions = [_netting_check(a, master, follower) for a in actions]
    return [a for a in actions if a.kind != "none"]


def _netting_check(a: Action, master: Side, follower: Side) -> Action:
    """On a netting follower an open merges into the symbol's position: refuse what cannot be mirrored."""
    if a.kind not in ("open", "place"):
        return a
    why = netting_refusal(master.margin_mode, follower.margin_mode)
    if why is None and a.kind == "open":
        held = next((p for p in follower.positions if p["symbol"] == a.symbol), None)
        if held is not None:
            tag = read_tag(held)
            whose = "your own position" if tag is None else f"the copy of #{tag[0]}"
            why = (f"the follower is a netting account and already holds {whose} on {a.symbol}: a copy would "
                   "merge into it")
    return a if why is None else Action("skip", a.master_ticket, a.symbol, reason=why)


def _follow_position(link: CopyLink, p: dict[str, Any], fp: dict[str, Any], ratio: float,
                     follower: Side) -> list[Action]:
    out: list[Action] = []
    mt, sym, ft = int(p["ticket"]), str(fp["symbol"]), int(fp["ticket"])
    spec = follower.specs.get(sym) or {}
    step = float(spec.get("volume_step") or 0.01)
    have = float(fp["volume"])
    mtype = int(p["type"])
    if int(fp["type"]) != (REVERSED.get(mtype, mtype) if link.reverse else mtype):
        # a netting master turned the position around: close this copy; the next pass opens the new side
        return [Action("close", mt, sym, ft, int(fp["type"]), have, reason="the master reversed the position")]
    target = round(float(p["volume"]) * ratio / step) * step
    if target > have + step / 2 and follower.margin_mode in NETTING_MODES:  # a netting master added to it
        price = float((spec.get("ask") if int(fp["type"]) == BUY else spec.get("bid")) or 0.0)
        out.append(Action("add", mt, sym, ft, int(fp["type"]), round_volume(target - have, spec) if spec else
                          round(target - have, 8), price, reason=f"the master added ({float(p['volume']):g} now)"))
    elif target > have + step / 2 and follower.margin_mode is not None:  # a hedging follower: one copy a ticket
        now = float(p["volume"])
        out.append(Action("skip", mt, sym, ft, reason=f"the master added to its netting position ({now:g} now); a "
                          "hedging follower's copy keeps its size"))
    elif target < have - step / 2:  # the master closed part of it: the same share here
        vmin = float(spec.get("volume_min") or step)
        if target < vmin - 1e-9:
            out.append(Action("close", mt, sym, ft, int(fp["type"]), have, reason="the master closed most of it"))
            return out
        part = round_volume(have - target, spec) if spec else round(have - target, 8)
        out.append(Action("partial", mt, sym, ft, int(fp["type"]), min(part, have),
                          reason=f"the master closed part ({float(p['volume']):g} left)"))
    sl, tp = _stops(link, float(p.get("sl") or 0.0), float(p.get("tp") or 0.0))
    point = float(spec.get("point") or 1e-5)
    if link.copy_sltp and (_differs(sl, fp.get("sl"), point) or _differs(tp, fp.get("tp"), point)):
        out.append(Action("sltp", mt, sym, ft, int(fp["type"]), float(fp["volume"]), sl=sl, tp=tp,
                          reason="the master's SL/TP changed"))
    return out


def _follow_order(link: CopyLink, o: dict[str, Any], fo: dict[str, Any], follower: Side) -> list[Action]:
    sl, tp = _stops(link, float(o.get("sl") or 0.0), float(o.get("tp") or 0.0))
    point = float((follower.specs.get(str(fo["symbol"])) or {}).get("point") or 1e-5)
    price = float(o.get("price_open") or 0.0)
    if _differs(price, fo.get("price_open"), point) or _differs(sl, fo.get("sl"), point) or _differs(
            tp, fo.get("tp"), point):
        return [Action("modify", int(o["ticket"]), str(fo["symbol"]), int(fo["ticket"]), int(fo["type"]),
                       float(fo.get("volume_current") or 0.0), price, sl, tp, reason="the master's order changed")]
    return []


def _open(link: CopyLink, mt: int, item: dict[str, Any], master: Side, follower: Side, in_doubt: Any, *,
          pending: bool) -> Action:
    msym = str(item["symbol"])

    def skip(why: str) -> Action:
        return Action("skip", mt, msym, reason=why)

    if mt in link.baseline and not link.copy_open:
        return Action("none", mt)  # open before the link was made, and only new trades are copied
    if mt in in_doubt:
        return skip("an earlier order for it got no answer; waiting to see whether it was filled")
    if not copies_symbol(link, msym):
        return skip(f"{msym} is not in the link's symbol filter")
    sym = follower_symbol(link, msym, follower.names or list(follower.specs))
    spec = follower.specs.get(sym or "")
    if sym is None or spec is None:
        return skip(f"the follower's broker has no symbol for {msym} (add --map {msym}=NAME)")
    mtype = int(item["type"])
    ftype = REVERSED.get(mtype, mtype) if link.reverse else mtype
    volume = float(item.get("volume_current") if pending else item["volume"])
    lots = follower_volume(link, volume, master_equity=master.equity, master_balance=master.balance,
                           follower_equity=follower.equity, follower_balance=follower.balance,
                           master_contract=float((master.specs.get(msym) or {}).get("trade_contract_size") or 0.0),
                           follower_spec=spec)
    if lots <= 0:
        return skip("the sized volume is zero (check the link's maximum volume and the follower's equity)")
    sl, tp = _stops(link, float(item.get("sl") or 0.0), float(item.get("tp") or 0.0))
    ratio = lots / volume if volume > 0 else 1.0
    if pending:
        return Action("place", mt, sym, 0, ftype, lots, float(item.get("price_open") or 0.0), sl, tp,
                      make_tag(mt, ratio))
    price = float((spec.get("ask") if ftype == BUY else spec.get("bid")) or 0.0)
    if price <= 0:
        return skip(f"no price for {sym} on the follower")
    point = float(spec.get("point") or 1e-5)
    moved = abs(price - float(item.get("price_open") or price)) / point
    if link.max_slippage and moved > link.max_slippage:
        return skip(f"the follower's price is {moved:.0f} points from the master's (max {link.max_slippage})")
    return Action("open", mt, sym, 0, ftype, lots, price, sl, tp, make_tag(mt, ratio))
