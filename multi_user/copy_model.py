"""Copy links ([J] 1): which follower copies which master, and how — sizing and symbol names.

Pure (no Qt, no terminal): a link is plain data, validated once when made; ``follower_volume`` and
``follower_symbol`` are the decisions the reconciler (copy_reconcile.py) needs per master trade.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from multi_user.errors import BadInput

SIZINGS = ("equity", "balance", "fixed", "multiplier")
NETTING_MODES = (0, 1)  # ACCOUNT_MARGIN_MODE_RETAIL_NETTING, _EXCHANGE: one position per symbol
_CORE = re.compile(r"[A-Z0-9]{3,}")


@dataclass
class CopyLink:
    master: str  # "LOGIN@SERVER"
    follower: str
    sizing: str = "equity"
    multiplier: float = 1.0  # a factor on the master's volume (also applied on top of a ratio)
    volume: float = 0.0  # fixed sizing: this many lots per trade
    max_volume: float = 0.0  # 0: no per-link maximum
    symbol_map: dict[str, str] = field(default_factory=dict)  # master name -> follower name
    symbols: list[str] = field(default_factory=list)  # only these master symbols ("!X": all but X); []: all
    reverse: bool = False
    copy_sltp: bool = True
    copy_pending: bool = True
    max_slippage: int = 0  # points on the follower's symbol; 0: any price
    copy_open: bool = False  # also copy what the master already had open when the link was made
    paused: bool = False
    created_at: float = field(default_factory=time.time)
    started: bool = False  # the app has seen the master since the link was made (baseline taken)
    baseline: list[int] = field(default_factory=list)  # master tickets open then (not copied unless copy_open)

    @property
    def key(self) -> str:
        return f"{self.master}>{self.follower}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CopyLink:
        known = {f.name for f in fields(cls)}
        link = cls(**{k: v for k, v in data.items() if k in known})
        link.validate()
        return link

    def validate(self) -> None:
        for name in ("master", "follower"):
            value = getattr(self, name)
            login, _, server = str(value).partition("@")
            if not login.isdigit() or not server.strip():
                raise BadInput(f"--{name} must be LOGIN@SERVER, not {value!r}", field=name)
        if self.master == self.follower:
            raise BadInput("an account cannot copy itself", field="follower")
        if self.sizing not in SIZINGS:
            raise BadInput(f"--sizing must be one of {', '.join(SIZINGS)}", field="sizing")
        if not (math.isfinite(self.multiplier) and self.multiplier > 0):
            raise BadInput("--multiplier must be a positive number", field="multiplier")
        if self.sizing == "fixed" and not (math.isfinite(self.volume) and self.volume > 0):
            raise BadInput("--sizing fixed needs --volume V (lots, positive)", field="volume")
        if not (math.isfinite(self.max_volume) and self.max_volume >= 0):
            raise BadInput("--max-volume must be zero (none) or positive", field="max_volume")
        if self.max_slippage < 0:
            raise BadInput("--max-slippage must be zero (any price) or positive points", field="max_slippage")
        for src, dst in self.symbol_map.items():
            if not src.strip() or not dst.strip():
                raise BadInput(f"--map needs SRC=DST, not {src}={dst}", field="map")


def parse_maps(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise BadInput(f"--map needs SRC=DST (e.g. XAUUSD=GOLD), not {item!r}", field="map")
        out[src.strip()] = dst.strip()
    return out


def parse_symbols(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def netting_refusal(master_mode: int | None, follower_mode: int | None, follower: str = "the follower") -> str | None:
    """Why a follower cannot mirror its master for their accounts' margin modes (None: it can, or a mode
    is not known yet). A netting account holds one position per symbol: a hedging master's separate
    positions (a buy and a sell of one symbol, or two buys opened apart) would merge into one there, and
    closing one of them on the master could not be followed exactly. Commercial copiers either net
    (and lose the per-trade mirror) or refuse; this copier refuses, with this reason."""
    if follower_mode in NETTING_MODES and master_mode is not None and master_mode not in NETTING_MODES:
        return (f"{follower} is a netting account (one position per symbol) and its master hedges (separate "
                "positions per trade): copies would merge, so this link copies nothing; make the follower a "
                "hedging account or follow a netting master")
    return None


# ---- symbols ------------------------------------------------------------------------------------
def core_name(symbol: str) -> str:
    """The instrument without a broker's suffix or prefix: EURUSD.r, EURUSDm, m.EURUSD -> EURUSD."""
    runs = _CORE.findall(symbol)
    return max(runs, key=len) if runs else symbol


def copies_symbol(link: CopyLink, symbol: str) -> bool:
    """The link's filter: a list of names to copy, or "!NAME" entries to skip."""
    if not link.symbols:
        return True
    names = {core_name(s) for s in link.symbols if not s.startswith("!")}
    skipped = {core_name(s[1:]) for s in link.symbols if s.startswith("!")}
    core = core_name(symbol)
    if core in skipped or symbol in {s[1:] for s in link.symbols if s.startswith("!")}:
        return False
    return not names or core in names or symbol in link.symbols


def follower_symbol(link: CopyLink, symbol: str, available: list[str] | set[str]) -> str | None:
    """The follower broker's name for the master's ``symbol``: an explicit map first, then the same
    name, then the one name on the follower with the same core (its suffix or prefix); else None."""
    names = set(available)
    mapped = link.symbol_map.get(symbol) or link.symbol_map.get(core_name(symbol))
    if mapped:
        return mapped if mapped in names or not names else None
    if symbol in names:
        return symbol
    core = core_name(symbol)
    found = sorted((n for n in names if core_name(n) == core), key=lambda n: (len(n), n))
    return found[0] if found else None


# ---- sizing -------------------------------------------------------------------------------------
def round_volume(raw: float, spec: dict[str, Any], max_volume: float = 0.0) -> float:
    """``raw`` lots rounded to the symbol's step, kept within its minimum and maximum and the link's."""
    step = float(spec.get("volume_step") or 0.01)
    vmin = float(spec.get("volume_min") or step)
    vmax = float(spec.get("volume_max") or 0.0)
    if max_volume > 0:
        vmax = min(vmax, max_volume) if vmax > 0 else max_volume
    vol = round(raw / step) * step
    if vmax > 0 and vol > vmax:
        vol = math.floor(vmax / step + 1e-9) * step
    vol = max(vol, vmin)  # a small account still follows, with the smallest volume its broker takes
    if vmax > 0 and vol > vmax + 1e-9:
        return 0.0  # the link's maximum is below the broker's minimum: nothing can be opened
    digits = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return round(vol, digits + 2)


def follower_volume(link: CopyLink, master_volume: float, *, master_equity: float, master_balance: float,
                    follower_equity: float, follower_balance: float, master_contract: float,
                    follower_spec: dict[str, Any]) -> float:
    """Lots to open on the follower for ``master_volume`` lots on the master (0.0: nothing to open)."""
    if link.sizing == "fixed":
        return round_volume(link.volume, follower_spec, link.max_volume)
    raw = master_volume * link.multiplier
    if link.sizing == "equity":
        raw *= follower_equity / master_equity if master_equity > 0 else 0.0
    elif link.sizing == "balance":
        raw *= follower_balance / master_balance if master_balance > 0 else 0.0
    contract = float(follower_spec.get("trade_contract_size") or 0.0)
    if master_contract > 0 and contract > 0:
        raw *= master_contract / contract  # the same exposure where a lot is another size
    if raw <= 0:
        return 0.0
    return round_volume(raw, follower_spec, link.max_volume)
