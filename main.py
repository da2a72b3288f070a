"""MT5 Desk entry point: parses the command line, then starts the GUI, a CLI command or the headless host.

The command line is a contract that scripts and tests rely on (see docs/DESIGN.md, "Command line").
Exit codes: 0 ok, 2 bad input or usage, 3 terminal or authorization failure, 4 vault locked or damaged
(or made with another key), 5 the data dir is owned by another running MT5 Desk (app/instance.py).
"""

from __future__ import annotations

import argparse
import sys

from multi_user.errors import DeskError


def window_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1024x700") from None
    if not (200 <= width <= 10000 and 200 <= height <= 10000):
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be 200…10000 pixels")
    return width, height


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``commands=False``: only the window's options, for a plain start (each
    command's arguments come from its module, and importing those all would delay the window, [P] 2)."""
    p = argparse.ArgumentParser(prog="mt5-desk", description="One desktop for all your MetaTrader 5 accounts.")
    p.add_argument("--data-dir", help="folder for everything MT5 Desk writes (default: $MT5DESK_DATA_DIR, "
                   "else the platform's user data folder)")
    p.add_argument("--backend", choices=["auto", "mt5", "sim"], default="auto",
                   help="auto: the real MetaTrader5 package where it imports, else the simulator")
    p.add_argument("--log-level", default="INFO", type=str.upper,
                   choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
    p.add_argument("--screenshot", metavar="PNG", help="render the main window to PNG and exit")
    p.add_argument("--after", metavar="S", type=float, default=3.0,
                   help="with --screenshot: seconds to run before rendering (default 3)")
    p.add_argument("--size", metavar="WxH", type=window_size,
                   help="with --screenshot: the window's size, e.g. 1024x700")
    p.add_argument("--theme", choices=["light", "dark"], help="with --screenshot: this theme (not saved)")
    if not commands:
        return p
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    acc = sub.add_parser("accounts", help="list, link and unlink MT5 accounts")
    asub = acc.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)
    for name, helptext in (("list", "the linked accounts"), ("status", "lock holder and last known values")):
        a = asub.add_parser(name, help=helptext)
        a.add_argument("--json", action="store_true")
    link = asub.add_parser("link", help="link an account (password: first line of stdin, or a hidden prompt)")
    link.add_argument("--login", required=True)
    link.add_argument("--server", required=True)
    link.add_argument("--label")
    link.add_argument("--investor", action="store_true", help="the password is the read-only investor password")
    link.add_argument("--dedicated", action="store_true", help="give the account its own portable terminal")
    link.add_argument("--terminal", metavar="PATH", help="terminal64.exe (or its folder) to verify and run on")
    link.add_argument("--no-verify", action="store_true", help="store without checking against a terminal")
    link.add_argument("--json", action="store_true")
    unlink = asub.add_parser("unlink", help="remove an account and its secrets")
    unlink.add_argument("--login", required=True)
    unlink.add_argument("--server", required=True)
    unlink.add_argument("--json", action="store_true")
    for sp in (link, unlink):  # [K] 3: in a remote host's vault (app/remote_accounts.py)
        sp.add_argument("--host", metavar="NAME", help="on this host (`hosts add`): only the encrypted token travels")
    rot = asub.add_parser("rotate", help="re-encrypt every stored password to the current key")
    rot.add_argument("--json", action="store_true")
    from app.commands.history_cmd import add_history_arguments

    add_history_arguments(asub)  # [E] 5: history|trades|stats|report
    from app.commands.rules_cmd import add_rules_arguments

    add_rules_arguments(asub)  # [H] 7: rules set|clear|status

    key = sub.add_parser("key", help="carry the encryption key to another machine: export, import, fingerprint")
    from app.commands.key_cmd import add_key_arguments

    add_key_arguments(key)

    from app.commands.copier_cmd import add_copier_arguments

    add_copier_arguments(sub)  # [J] copier add|list|remove|pause|resume

    run = sub.add_parser("run", help="run the lanes")
    run.add_argument("--headless", action="store_true", required=True, help="without a window")
    run.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    run.add_argument("--json", action="store_true", help="one JSON event per line on stdout")

    from app.commands.alerts_cmd import add_alerts_arguments

    add_alerts_arguments(sub)  # [N]: alert channels

    att = sub.add_parser("attach", help="talk to the running MT5 Desk: its events on stdout, commands on stdin")
    att.add_argument("--duration", type=float, metavar="S", help="detach after S seconds")
    att.add_argument("--wait", type=float, metavar="S", help="wait up to S seconds for MT5 Desk to start")

    hosts = sub.add_parser("hosts", help="the owner's other machines, reached over SSH: add, trust, list, test")
    from app.commands.hosts_cmd import add_hosts_arguments

    add_hosts_arguments(hosts)
    from app.commands.bots_cmd import add_bots_arguments

    add_bots_arguments(sub)  # [I] bots list

    sim = sub.add_parser("sim", help="the simulator world: demo accounts, fault injection")
    from app.commands.sim_cmd import add_sim_arguments

    add_sim_arguments(sim)
    return p


def run_child(argv: list[str]) -> int:
    """``--child MODULE ARGS``: the frozen app starting one of its own modules (worker, simulated
    terminal) where a source checkout would run ``python -m MODULE``."""
    import runpy

    module, sys.argv = argv[1], [argv[1], *argv[2:]]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _show_error_window(message: str) -> None:
    """A GUI start that fails before the window exists still tells the trader why."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    _app = QApplication.instance() or QApplication([])
    QMessageBox.critical(None, "MT5 Desk cannot start", message)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The window's start parses with the small parser; anything it does not take whole (a command, help,
    a mistake) goes to the whole one, which also words every error. A command always leaves its name
    over, as the small parser takes no positional argument."""
    if not any(a in ("-h", "--help") for a in argv):
        import contextlib
        import io

        try:
            with contextlib.redirect_stderr(io.StringIO()):
                args, rest = build_parser(commands=False).parse_known_args(argv)
            if not rest:
                args.command = None
                return args
        except SystemExit:
            pass
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"] and len(argv) >= 2:
        return run_child(argv)
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    from app.logging_setup import setup_logging
    from multi_user.paths import resolve_data_dir

    try:
        args.data_dir = resolve_data_dir(args.data_dir)
        if args.command is not None:  # the window sets it up once its shell has painted (ui/launch.py)
            setup_logging(args.data_dir, args.log_level, console=True)
        if args.command in (None, "run"):  # the long-running processes: the window and the headless host
            from app.logging_setup import enable_crash_dumps

            enable_crash_dumps(args.data_dir)
        if args.command == "accounts" and args.accounts_command in ("history", "trades", "stats", "report"):
            from app.commands.history_cmd import run_history

            return run_history(args)
        if args.command == "accounts" and args.accounts_command == "rules":
            from app.commands.rules_cmd import run_rules

            return run_rules(args)
        if args.command == "accounts" and getattr(args, "host", None):
            from app.remote_accounts import run_on_host

            return run_on_host(args)
        if args.command == "accounts":
            from app.commands.accounts_cmd import run_accounts

            return run_accounts(args)
        if args.command == "copier":
            from app.commands.copier_cmd import run_copier

            return run_copier(args)
        if args.command == "sim":
            from app.commands.sim_cmd import run_sim

            return run_sim(args)
        if args.command == "key":
            from app.commands.key_cmd import run_key

            return run_key(args)
        if args.command == "hosts":
            from app.commands.hosts_cmd import run_hosts

            return run_hosts(args)
        if args.command == "alerts":
            from app.commands.alerts_cmd import run_alerts

            return run_alerts(args)
        if args.command == "bots":
            from app.commands.bots_cmd import run_bots

            return run_bots(args)
        if args.command == "attach":
            from app.control_client import run_attach

            return run_attach(args)
        if args.command == "run":
            from app.commands.run_cmd import run_headless

            return run_headless(args)
        from ui.launch import run_gui

        return run_gui(args)
    except DeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.command is None and sys.platform == "win32" and not args.screenshot:
            _show_error_window(str(exc))  # the windowed exe has no console to print to
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
