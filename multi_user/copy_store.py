"""Copy links on disk: <data>/copier.json, written atomically (a crash leaves the old file or the new).

The command line writes it whether or not an app runs; a running app re-reads it within seconds
(as it does rules.json). Every change is a read-modify-write under a lock on copier.json.lock
(``update_links``): the app and the command line writing at once never lose each other's change.

The rules a set of links must keep are checked here, before anything is
written: a follower follows one master, an account is never both master and follower (no chains,
no loops), masters and followers are linked accounts with their own terminal, and a read-only
(investor) account can be a master but never a follower.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from multi_user.copy_model import CopyLink
from multi_user.errors import BadInput
from multi_user.file_lock import locked
from multi_user.json_file import write_atomic

log = logging.getLogger("mt5desk.copy")

LINKS_FILE = "copier.json"
LOCK_FILE = "copier.json.lock"


def links_path(data_dir: Path) -> Path:
    return Path(data_dir) / LINKS_FILE


def load_links(data_dir: Path) -> list[CopyLink]:
    path = links_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); no copy link is active", path, exc)
        return []
    out = []
    for item in data.get("links") or [] if isinstance(data, dict) else []:
        try:
            out.append(CopyLink.from_json(item))
        except (BadInput, TypeError) as exc:
            log.warning("a copy link in %s is skipped: %s", path, exc)
    return out


def save_links(data_dir: Path, links: Iterable[CopyLink]) -> None:
    write_atomic(links_path(data_dir), {"links": [lk.to_json() for lk in links]})


def update_links(data_dir: Path, change: Callable[[list[CopyLink]], list[CopyLink]]) -> list[CopyLink]:
    """Apply ``change`` to the links as stored now and store the result, under the file lock; the links
    stored. ``change`` raising (bad input) stores nothing."""
    with locked(Path(data_dir) / LOCK_FILE):
        links = change(load_links(data_dir))
        save_links(data_dir, links)
        return links


def check_accounts(link: CopyLink, accounts: list[dict[str, Any]], *, own_terminal: bool = True) -> None:
    """The link's accounts as the vault lists them ({key, mode, investor}): refuse what cannot copy.
    ``own_terminal`` False: an account on the shared terminal passes (the window offers it one, and
    says the copier skips until it has one)."""
    by_key = {a["key"]: a for a in accounts}
    for role in ("master", "follower"):
        key = getattr(link, role)
        a = by_key.get(key)
        if a is None:
            raise BadInput(f"{key} is not linked (accounts link first); no copy link was stored", field=role)
        if own_terminal and a.get("mode") != "dedicated":
            raise BadInput(f"the {role} {key} must run on its own terminal so that it is live all the time: "
                           "give it one first (Accounts → Own terminal, or accounts link --dedicated again)",
                           field=role)
    if by_key[link.follower].get("investor"):
        raise BadInput(f"{link.follower} is linked read-only (investor password): it can be a master, never a "
                       "follower", field="follower")


def add_link(links: list[CopyLink], link: CopyLink) -> list[CopyLink]:
    """The links with ``link`` added (or, for the same master and follower, replaced)."""
    link.validate()
    others = [lk for lk in links if lk.key != link.key]
    for lk in others:
        if lk.follower == link.follower:
            raise BadInput(f"{link.follower} already follows {lk.master}; a follower follows one master "
                           "(copier remove it first)", field="follower")
        if lk.follower == link.master:
            raise BadInput(f"{link.master} follows {lk.master}: a follower cannot be a master too", field="master")
        if lk.master == link.follower:
            raise BadInput(f"{link.follower} is the master of {lk.follower}: a master cannot follow", field="follower")
    return [*others, link]


def find_link(links: list[CopyLink], master: str | None, follower: str) -> CopyLink:
    for lk in links:
        if lk.follower == follower and (master is None or lk.master == master):
            return lk
    raise BadInput(f"no copy link to {follower}" + (f" from {master}" if master else ""), field="follower")
