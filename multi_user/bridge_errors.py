"""What the terminal's last_error() codes mean for the owner: typed errors with plain messages, the words
for a terminal that refuses the API or orders, and the codes the bridge and the worker act on. A password
never appears in one."""

from __future__ import annotations

from types import ModuleType

from multi_user.errors import AuthorizationError, TerminalError

RES_E_AUTH_FAILED = -6
RES_E_UNSUPPORTED = -7  # also what a login gets when the broker asks for a one-time password or a certificate
RES_E_AUTO_TRADING_DISABLED = -8  # "Auto-Trading using Python API disabled in Terminal"
TRADE_RETCODE_CLIENT_DISABLES_AT = 10027
API_OFF = ("the terminal shuts out the Python API: in MetaTrader 5, Tools → Options → Expert Advisors, untick "
           "\"Disable algorithmic trading via external Python API\"")
ALGO_OFF = ("Algo Trading is off in the terminal, so it refuses orders from MT5 Desk (10027): press the "
            "Algo Trading button in its toolbar; to keep it on after an account switch, untick Tools → Options → "
            "Expert Advisors → \"Disable algorithmic trading when the account has been changed\"")
RES_E_INTERNAL_FAIL_INIT = -10003
RES_E_INTERNAL_FAIL_CONNECT = -10004
RES_E_INTERNAL_FAIL_TIMEOUT = -10005


def terminal_error(mt5: ModuleType, context: str, terminal_path: str | None = None, login: int | None = None,
                   server: str | None = None) -> TerminalError:
    """The terminal's last error as a typed error: ``context`` says what failed; ``login``/``server`` name the
    account a login was for."""
    try:
        code, message = mt5.last_error()
    except Exception:
        code, message = None, "unknown error"
    if code == RES_E_AUTH_FAILED:
        who = f"login {login} on {server}" if login is not None else "the account"
        return AuthorizationError(f"Authorization failed: the broker rejected {who} — check the password "
                                  f"and the server name ({message})", code)
    if code == RES_E_AUTO_TRADING_DISABLED:
        return TerminalError(f"{context}: {API_OFF}", code)
    if code == RES_E_UNSUPPORTED and login is not None:
        return TerminalError(f"{context}: the broker asks for a one-time password (OTP) or a certificate for "
                             "this account, which the MetaTrader5 Python API cannot give. Log the account in "
                             "once in the terminal itself (File → Login to Trade Account), or use an account "
                             f"without OTP/certificate ({message})", code)
    where = f" ({terminal_path})" if terminal_path else ""
    if code == RES_E_INTERNAL_FAIL_INIT:
        return TerminalError(f"{context}: the MetaTrader 5 terminal{where} could not be found or started "
                             f"({message})", code)
    if code == RES_E_INTERNAL_FAIL_CONNECT:
        return TerminalError(f"{context}: no connection to the terminal{where}; it is not running or has "
                             f"stopped ({message})", code)
    if code == RES_E_INTERNAL_FAIL_TIMEOUT:
        return TerminalError(f"{context}: the terminal{where} did not answer in time ({message})", code)
    return TerminalError(f"{context}: {message} (MT5 error {code})", code)
