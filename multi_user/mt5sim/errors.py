"""last_error() codes and messages, spelled exactly as the real package's _core module spells them."""

from __future__ import annotations

SUCCESS = (1, "Success")
CALL_FAILED = (-1, "Terminal: Call failed")
INVALID_PARAMS = (-2, "Terminal: Invalid params")
NOT_FOUND = (-4, "Terminal: Not found")
AUTH_FAILED = (-6, "Terminal: Authorization failed")
UNSUPPORTED = (-7, "Terminal: Unsupported function")
AUTO_TRADING_DISABLED = (-8, "Auto-Trading using Python API disabled in Terminal")
IPC_CALL_FAILED = (-10000, "IPC call failed")
IPC_SEND_FAILED = (-10001, "IPC send failed")
IPC_RECV_FAILED = (-10002, "IPC recv failed")
NO_IPC = (-10004, "No IPC connection")
IPC_TIMEOUT = (-10005, "IPC timeout")
INVALID_ARGUMENTS = (-2, "Invalid arguments")
UNNAMED_NOT_ALLOWED = (-2, "Unnamed arguments not allowed")


# the argument names the real package names in its messages; any other argument gets "Invalid arguments"
NAMED_ARGUMENTS = frozenset({
    "action", "comment", "deviation", "expiration", "group", "login", "magic", "order", "password", "path",
    "position", "position_by", "price", "server", "sl", "stoplimit", "symbol", "ticket", "timeout", "tp", "type",
    "type_filling", "type_time", "volume"})


def invalid_argument(name: str) -> tuple[int, str]:
    return (-2, f'Invalid "{name}" argument') if name in NAMED_ARGUMENTS else INVALID_ARGUMENTS


def ipc_init_failed(detail: str) -> tuple[int, str]:
    """-10003 with the real wording, e.g. "IPC initialize failed, Process create failed 'C:\\...'"."""
    return (-10003, f"IPC initialize failed, {detail}")


def process_create_failed(path: str) -> tuple[int, str]:
    return ipc_init_failed(f"Process create failed '{path}'")


TERMINAL_NOT_FOUND = ipc_init_failed("MetaTrader 5 x64 not found")

# order_send / order_check result comments for the retcodes the simulator produces
RETCODE_COMMENTS: dict[int, str] = {
    10004: "Requote",
    10008: "Order placed",
    10009: "Request executed",
    10013: "Invalid request",
    10014: "Invalid volume",
    10015: "Invalid price",
    10016: "Invalid stops",
    10017: "Trade disabled",
    10018: "Market closed",
    10019: "No money",
    10027: "AutoTrading disabled by client",
    10030: "Unsupported filling mode",
    10031: "No connection",
    10035: "Invalid order",
    10036: "Position already closed",
    10045: "Position close only by FIFO rule",
    0: "Done",
}
