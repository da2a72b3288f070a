"""Deal and order times from the broker's server clock to UTC, for history reaching back months.

One learned offset (multi_user/servertime.py) is right for now, not for last summer: a "New York
close" server (UTC+2 in winter, UTC+3 in US summer time: the offsets almost every MT5 broker uses)
moves its clock with the US daylight-saving dates. So when the learned offset is +2 h or +3 h the
server is taken to be on New York close time and each stamp is converted with the offset of its own
date; any other offset is taken as fixed. Pure functions.
"""

from __future__ import annotations

from multi_user.mt5sim.clock import ny_close_offset  # the US daylight-saving rule (pure, no simulator state)

NY_CLOSE_OFFSETS = (2 * 3600, 3 * 3600)


def server_to_utc(server_ts: float, learned_offset: int) -> float:
    """UTC epoch seconds of a server wall-clock stamp; in autumn's repeated hour, the later instant."""
    if learned_offset in NY_CLOSE_OFFSETS:
        return float(server_ts) - ny_close_offset(float(server_ts) - 2 * 3600)
    return float(server_ts) - learned_offset


def utc_to_server(utc_ts: float, learned_offset: int) -> float:
    if learned_offset in NY_CLOSE_OFFSETS:
        return float(utc_ts) + ny_close_offset(float(utc_ts))
    return float(utc_ts) + learned_offset




def deal_to_utc(deal: dict, offset: int) -> dict:
    """A deal dict (``_asdict()``) with ``time`` as UTC epoch seconds (ms precision) and ``time_msc`` UTC ms."""
    out = dict(deal)
    t = server_to_utc(float(deal["time_msc"]) / 1000.0, offset)
    out["time"], out["time_msc"] = t, round(t * 1000)
    return out


def order_to_utc(order: dict, offset: int) -> dict:
    out = dict(order)
    for sec, ms in (("time_setup", "time_setup_msc"), ("time_done", "time_done_msc")):
        if order.get(ms):
            t = server_to_utc(float(order[ms]) / 1000.0, offset)
            out[sec], out[ms] = t, round(t * 1000)
        else:
            out[sec], out[ms] = 0.0, 0
    return out
