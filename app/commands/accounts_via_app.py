"""``accounts link|unlink`` while an app owns the data dir: through its control endpoint ([R] 5).

The running app links with its own lock (a short verify job on its shared terminal, so the account
being viewed gets the terminal back), stores the account and starts its lane; the command line only
prints the answer and exits 0, 2 (bad input), 3 (the terminal or broker said no) or 4 as when it does
the work itself. An app that cannot be reached (an older one) leaves the refusal (exit 5) in place.
"""

from __future__ import annotations

from typing import Any

from app.instance import DataDirBusy
from multi_user.errors import BadInput, DeskError, TerminalError, VaultError
from multi_user.validation import check_password

_ERRORS: dict[int, type[DeskError]] = {2: BadInput, 3: TerminalError, 4: VaultError}


def through_app(args: Any, cmd: str, login: int, server: str, busy: DataDirBusy) -> int:
    from app.commands.accounts_cmd import _out, read_password, report_link
    from app.control_client import ControlConnection, ControlUnavailable

    request: dict[str, Any]
    if cmd == "link":
        password = check_password(read_password(f"Password for {login} on {server}: "))
        request = {"cmd": "link", "login": login, "server": server, "password": password, "label": args.label,
                   "investor": bool(args.investor), "dedicated": bool(args.dedicated), "terminal": args.terminal,
                   "verify": not args.no_verify}
        del password
    else:
        request = {"cmd": "unlink", "account": f"{login}@{server}"}
    try:
        conn = ControlConnection(args.data_dir, f"accounts {cmd}")
    except ControlUnavailable:
        raise busy from None
    try:
        answer = conn.request(request)
    except ControlUnavailable as exc:  # it went away mid-request: whether it stored the change is unknown
        raise TerminalError(f"{exc} before answering; `accounts list` shows whether the change was made") from None
    finally:
        request.pop("password", None)
        conn.close()
    if answer.get("event") == "error":
        message = str(answer.get("message") or "failed").removeprefix(f"{cmd}: ")
        error = _ERRORS.get(int(answer.get("exit_code") or 2), DeskError)
        raise error(f"{message} (answered by the running MT5 Desk, {busy.owner.describe()})")
    if cmd == "link":
        verified = bool(answer.get("verified")) and answer.get("balance") is not None
        report_link(args, answer["account"], {k: answer.get(k) for k in ("balance", "equity", "currency")}
                    if verified else None)
    else:
        key = answer["account"]
        _out(args, {"unlinked": key}, f"Unlinked {key} in the running MT5 Desk; its password was deleted.")
    return 0
