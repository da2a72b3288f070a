"""``accounts stats --refresh``: fetch new deals through the terminal before computing ([E] 5).

While no MT5 Desk runs on the data dir, this command owns it (as a verifying ``accounts link`` does) and
logs each asked account into the shared terminal in turn, through UserMT5Bridge, to fetch its deals
incrementally. While an app runs, the terminal is the app's: the command refuses (exit 5) rather than
switch it behind the app's lock; the app itself fetches a live account's deals every few minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.deals_store import DealsStore, account_key
from app.instance import DataDirBusy, acquire


def refresh_deals(args: Any, data_dir: Path, keys: list[str] | None) -> list[str]:
    """Fetch the deals of ``keys`` (None: every linked account); returns the keys refreshed."""
    from multi_user.backend import load_backend
    from multi_user.bridge import UserMT5Bridge
    from multi_user.terminals import default_shared_terminal, resolve_backend_name
    from multi_user.vault import Vault

    try:
        owner = acquire(data_dir, "cli", "accounts stats --refresh")
    except DataDirBusy as exc:
        raise DataDirBusy(f"{exc}: --refresh would switch its terminal behind its back; the running app fetches "
                          "a live account's deals every 5 minutes, so run without --refresh", exc.owner) from None
    vault = bridge = None
    try:
        vault = Vault.open(data_dir)
        linked = {a.key: a for a in vault.list_accounts()}
        wanted = keys if keys is not None else sorted(linked)
        backend = resolve_backend_name(args.backend)
        exe = default_shared_terminal(backend, data_dir)
        bridge = UserMT5Bridge(load_backend(backend, data_dir), str(exe) if exe else None, timeout_ms=60000)
        store = DealsStore(data_dir)
        done = []
        for key in wanted:
            a = linked.get(key)
            if a is None:
                continue  # stored history of an account no longer linked: its deals stay as they are
            bridge.switch(a.login, vault.password(a.login, a.server), a.server)
            fetched = bridge.history(**store.fetch_args(account_key(a.login, a.server)))
            store.save(fetched)
            done.append(key)
        return done
    finally:
        if bridge is not None:
            bridge.shutdown()
        if vault is not None:
            vault.close()
        owner.release()
