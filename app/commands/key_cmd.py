"""``key export|import|fingerprint``: carry the encryption key to another machine.

- ``key export --file F``: the key wrapped with a passphrase (multi_user/keys.py); asked twice on a
  terminal, else the first line of stdin. F is created with mode 0600 and never overwritten.
- ``key import --file F``: the passphrase as above; the previous key stays as an old key.
- ``key import --raw``: a plain Fernet key on the first line of stdin (hidden prompt on a terminal).
- ``key fingerprint``: the current key's short fingerprint, to compare machines.

A wrong passphrase or a damaged file is BadInput (exit 2) and nothing is changed.
JSON (``--json``): export {"exported": path, "fingerprint"}; import {"fingerprint", "previous",
"stored_in", "changed"}; fingerprint {"fingerprint", "source", "old_keys"}.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Any

from app.instance import current_owner
from multi_user.errors import BadInput


def _secret_line(prompt: str, *, confirm: bool = False) -> str:
    """A hidden prompt on a terminal (twice when ``confirm``), else the first line of stdin."""
    if sys.stdin is None:
        raise BadInput("Nothing on stdin: pipe it in or run in a terminal")
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("Again: ") != first:
            raise BadInput("The two entries differ. Nothing was written.", field="passphrase")
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def _out(args: Any, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload) if getattr(args, "json", False) else text)


def run_key(args: Any) -> int:
    from multi_user import keys

    data_dir: Path = args.data_dir
    cmd = args.key_command
    if cmd == "fingerprint":
        from multi_user.credentials import load_current_key, stored_old_keys

        raw, source = load_current_key(data_dir)
        old = len(stored_old_keys(data_dir))
        _out(args, {"fingerprint": keys.fingerprint(raw), "source": source, "old_keys": old},
             f"{keys.fingerprint(raw)}  (kept in: {source}; {old} old key(s) kept for reading)")
        return 0
    if cmd == "export":
        from multi_user.key_store import export_key_file

        target = Path(args.file)
        if target.exists():  # before the passphrase is asked: say it at once
            raise BadInput(f"{target} already exists: choose another name or delete it first", field="file")
        fp = export_key_file(data_dir, target, _secret_line("Passphrase for the key file: ", confirm=True))
        _out(args, {"exported": str(target), "fingerprint": fp},
             f"Wrote the key (fingerprint {fp}) to {target}, protected by the passphrase. "
             "Import it on the other machine with `key import --file`.")
        return 0
    # import
    from multi_user.key_store import import_key, read_key_file

    if args.raw:
        new = keys.check_fernet_key(_secret_line("Fernet key: "))
    else:
        new = read_key_file(Path(args.file), _secret_line("Passphrase of the key file: "))
    result = import_key(data_dir, new)
    if not result["changed"]:
        text = f"That key ({result['fingerprint']}) is already the current key; nothing was changed."
    else:
        text = (f"The current key is now {result['fingerprint']} (in the {result['stored_in']}); the previous "
                f"key {result['previous']} is kept for reading. `accounts rotate` re-encrypts the passwords "
                "to the new key.")
        if current_owner(data_dir) is not None:
            text += " Restart the running MT5 Desk to use the new key."
    _out(args, result, text)
    return 0


def add_key_arguments(p: Any) -> None:
    ksub = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    exp = ksub.add_parser("export", help="write the key wrapped with a passphrase (asked twice, or stdin)")
    exp.add_argument("--file", required=True, metavar="F")
    imp = ksub.add_parser("import", help="make a key from another machine the current key (the old one is kept)")
    src = imp.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", metavar="F", help="a file written by `key export` (passphrase: prompt or stdin)")
    src.add_argument("--raw", action="store_true", help="a plain Fernet key on stdin (MT5_ENCRYPTION_KEY)")
    ksub.add_parser("fingerprint", help="the current key's short fingerprint, to compare machines")
    for sp in ksub.choices.values():
        sp.add_argument("--json", action="store_true")
