"""Cloud sync merge rules, pure: local vault state + remote rows + what was agreed last time -> actions.

Change detection. For each account (login, server) the vault remembers, from the last sync, the remote
row's updated_at and the local stamp (the account's updated_at, or its tombstone's deleted_at). A side
whose value differs from that has changed since. The remote updated_at is stamped by the SERVER (a
trigger sets it to the database's now() on every write, never earlier than the row's previous value),
so "the cloud changed" never depends on any desktop's clock; the local stamp is only compared for
equality, so this machine's clock does not matter for it either.

Ordering a conflict. One side changed: its change goes to the other. Both changed: a conflict, won by
the change made LATER, judged on the server's clock: the cloud row carries `changed_at`, when its change
was made in server time; a change made here is put on the server's clock by `offset` = server time minus
this machine's time, measured during this sync. A desktop whose clock is hours slow or fast therefore
still orders its changes correctly; what remains of its clock is only its rate between the change and
the sync (a clock set again in between moves that change by the amount it was set). A tie goes to the
cloud, so every machine decides alike. Conflicts are reported.

Unlinks travel as tombstones; a row deleted outright in the cloud (as the web dashboard may do) counts
as an unlink there, unless this side changed the account since, which brings it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from multi_user.cloud_store import RemoteRow, parse_time

Key = tuple[int, str]


@dataclass(frozen=True)
class LocalState:
    """An account in the vault (deleted=False, stamp=updated_at) or its tombstone (deleted=True, stamp=deleted_at)."""

    login: int
    server: str
    stamp: str
    deleted: bool


@dataclass(frozen=True)
class Push:
    """Send the local account (or its tombstone) to the cloud."""

    key: Key
    deleted: bool


@dataclass(frozen=True)
class Pull:
    """Store the remote row here (its token as-is)."""

    row: RemoteRow


@dataclass(frozen=True)
class RemoveHere:
    """The account was unlinked in the cloud: unlink it here. `row` is None when the cloud row is gone entirely."""

    key: Key
    row: RemoteRow | None


@dataclass(frozen=True)
class Agree:
    """Both sides already say the same thing: just remember it (or forget the key when remote_updated_at is None)."""

    key: Key
    remote_updated_at: str | None
    local_stamp: str | None


Action = Push | Pull | RemoveHere | Agree


@dataclass(frozen=True)
class Conflict:
    """Both sides changed one account since the last sync; `winner` ('here' or 'cloud') is the newer change."""

    login: int
    server: str
    winner: str
    local_stamp: str
    remote_stamp: str | None

    def describe(self) -> str:
        side = "this computer's" if self.winner == "here" else "the cloud's"
        return (f"Account {self.login} on {self.server} was changed both here and in the cloud; "
                f"kept {side} newer change.")


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def change_time(row: RemoteRow) -> datetime:
    """When the cloud row's change was made, in server time (rows written without changed_at: when stored)."""
    return parse_time(row.changed_at or row.updated_at)


def server_time(stamp: str, offset: timedelta) -> datetime:
    """A local stamp placed on the server's clock."""
    return parse_time(stamp) + offset


def _take_remote(key: Key, local: LocalState | None, remote: RemoteRow | None) -> Action | None:
    if remote is None:
        return RemoveHere(key, None) if local is not None and not local.deleted else Agree(key, None, None)
    if remote.deleted_at is None:
        return Pull(remote)
    if local is not None and not local.deleted:
        return RemoveHere(key, remote)
    return Agree(key, remote.updated_at, local.stamp if local else remote.deleted_at)


def _take_local(key: Key, local: LocalState, remote: RemoteRow | None) -> Action | None:
    if not local.deleted:
        return Push(key, deleted=False)
    if remote is None:
        return Agree(key, None, None)  # never reached the cloud, or gone there too: nothing to send
    if remote.deleted_at is None:
        return Push(key, deleted=True)
    return Agree(key, remote.updated_at, local.stamp)


def plan_sync(local: dict[Key, LocalState], remote: dict[Key, RemoteRow],
              agreed: dict[Key, tuple[str, str]], offset: timedelta = timedelta(0)) -> Plan:
    """The actions that make both sides equal, and the conflicts met on the way (pure, deterministic).

    `offset` is the server's clock minus this machine's clock, as measured during this sync."""
    plan = Plan()
    for key in sorted(set(local) | set(remote) | set(agreed)):
        mine, theirs, last = local.get(key), remote.get(key), agreed.get(key)
        local_changed = mine is not None and (last is None or mine.stamp != last[1])
        # a row gone from the cloud since the last sync was deleted there outright
        remote_changed = (last is not None) if theirs is None else (last is None or theirs.updated_at != last[0])
        if mine is not None and mine.deleted and last is None:
            # unlinked here before it ever synced: nothing of it to send
            local_changed = False
        action: Action | None
        if not local_changed and not remote_changed:
            action = None
        elif local_changed and not remote_changed:
            action = _take_local(key, mine, theirs)  # type: ignore[arg-type]
        elif remote_changed and not local_changed:
            action = _take_remote(key, mine, theirs)
        else:
            assert mine is not None
            both_deleted = mine.deleted and (theirs is None or theirs.deleted_at is not None)
            here_newer = theirs is None or server_time(mine.stamp, offset) > change_time(theirs)
            action = _take_local(key, mine, theirs) if here_newer else _take_remote(key, mine, theirs)
            if not both_deleted:
                plan.conflicts.append(Conflict(key[0], key[1], "here" if here_newer else "cloud", mine.stamp,
                                               theirs.updated_at if theirs else None))
        if action is not None:
            plan.actions.append(action)
    return plan
