"""The pure merge rules of cloud sync: single cases, then a property — any interleaving of links, edits,
unlinks, cloud-side deletes and syncs on two desktops ends with both desktops and the cloud equal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from multi_user.cloud_store import RemoteRow, format_time, parse_time
from multi_user.sync_engine import Agree, LocalState, Pull, Push, RemoveHere, plan_sync

BASE = datetime(2026, 1, 1, tzinfo=UTC)
K = (1001, "Demo")


def t(ms: int) -> str:
    return format_time(BASE + timedelta(milliseconds=ms))


def remote_t(ms: int) -> str:  # PostgREST's form: microseconds, +00:00
    return (BASE + timedelta(milliseconds=ms)).isoformat()


def rrow(ms: int, *, deleted: bool = False, label: str | None = None, key=K, changed: int | None = None) -> RemoteRow:
    """A cloud row stored at server time `ms`; its change made at server time `changed` (default: when stored)."""
    return RemoteRow("id", key[0], key[1], None if deleted else "tok", label, False, "shared", None, 0,
                     remote_t(ms) if deleted else None, remote_t(0), remote_t(ms),
                     None if changed is None else remote_t(changed))


def live(ms: int, key=K) -> LocalState:
    return LocalState(key[0], key[1], t(ms), False)


def gone(ms: int, key=K) -> LocalState:
    return LocalState(key[0], key[1], t(ms), True)


def test_new_local_account_is_pushed_and_new_remote_is_pulled():
    assert plan_sync({K: live(5)}, {}, {}).actions == [Push(K, deleted=False)]
    row = rrow(5)
    assert plan_sync({}, {K: row}, {}).actions == [Pull(row)]


def test_nothing_changed_means_nothing_to_do():
    plan = plan_sync({K: live(5)}, {K: rrow(7)}, {K: (remote_t(7), t(5))})
    assert plan.actions == [] and plan.conflicts == []


def test_local_edit_pushed_remote_edit_pulled():
    assert plan_sync({K: live(9)}, {K: rrow(7)}, {K: (remote_t(7), t(5))}).actions == [Push(K, deleted=False)]
    row = rrow(9)
    assert plan_sync({K: live(5)}, {K: row}, {K: (remote_t(7), t(5))}).actions == [Pull(row)]


def test_unlinks_travel_as_tombstones_both_ways():
    assert plan_sync({K: gone(9)}, {K: rrow(7)}, {K: (remote_t(7), t(5))}).actions == [Push(K, deleted=True)]
    row = rrow(9, deleted=True)
    assert plan_sync({K: live(5)}, {K: row}, {K: (remote_t(7), t(5))}).actions == [RemoveHere(K, row)]


def test_unlinked_before_first_sync_sends_nothing():
    assert plan_sync({K: gone(3)}, {}, {}).actions == []


def test_row_deleted_outright_in_cloud_unlinks_here_unless_changed_here():
    assert plan_sync({K: live(5)}, {}, {K: (remote_t(7), t(5))}).actions == [RemoveHere(K, None)]
    plan = plan_sync({K: live(9)}, {}, {K: (remote_t(7), t(5))})
    assert plan.actions == [Push(K, deleted=False)] and plan.conflicts[0].winner == "here"


def test_conflict_newer_change_wins_and_is_reported():
    row = rrow(20)
    plan = plan_sync({K: live(30)}, {K: row}, {K: (remote_t(7), t(5))})
    assert plan.actions == [Push(K, deleted=False)]
    assert [(c.login, c.winner) for c in plan.conflicts] == [(1001, "here")]
    assert "both here and in the cloud" in plan.conflicts[0].describe()
    plan = plan_sync({K: live(10)}, {K: row}, {K: (remote_t(7), t(5))})
    assert plan.actions == [Pull(row)] and plan.conflicts[0].winner == "cloud"


def test_conflicts_are_ordered_on_the_servers_clock():
    hour = 3_600_000
    row = rrow(20, changed=15)  # stored at 20, made at 15 (server time)
    agreed = {K: (remote_t(7), t(5))}
    # this machine's clock is 3 h slow: its change stamped "10 - 3 h" was made at 10 on the server's clock
    plan = plan_sync({K: live(10 - 3 * hour)}, {K: row}, agreed, offset=timedelta(hours=3))
    assert plan.actions == [Pull(row)] and plan.conflicts[0].winner == "cloud"
    plan = plan_sync({K: live(17 - 3 * hour)}, {K: row}, agreed, offset=timedelta(hours=3))
    assert plan.actions == [Push(K, deleted=False)] and plan.conflicts[0].winner == "here"  # after 15, before 20
    # 9 h fast: without the offset its older change would look hours newer
    plan = plan_sync({K: live(12 + 9 * hour)}, {K: row}, agreed, offset=timedelta(hours=-9))
    assert plan.conflicts[0].winner == "cloud"
    assert plan_sync({K: live(12 + 9 * hour)}, {K: row}, agreed).conflicts[0].winner == "here"  # (offset 0)


def test_tie_goes_to_the_cloud_and_both_deleted_is_no_conflict():
    row = rrow(20)
    assert plan_sync({K: live(20)}, {K: row}, {}).actions == [Pull(row)]
    row = rrow(20, deleted=True)
    plan = plan_sync({K: gone(25)}, {K: row}, {K: (remote_t(7), t(5))})
    assert plan.actions == [Agree(K, row.updated_at, t(25))] and plan.conflicts == []


# ---- property: two desktops and a cloud, any interleaving, converge -------------------------------------
HOUR = 3_600_000


class Desk:
    def __init__(self, skew_ms: int = 0) -> None:
        self.skew = skew_ms  # this desktop's clock minus the true time
        self.accounts: dict = {}  # key -> (label, stamp)
        self.tombs: dict = {}  # key -> deleted_at
        self.agreed: dict = {}


class World:
    """True time is `clock` (the server's clock); each desktop stamps its changes with its own, skewed clock."""

    def __init__(self, skews: tuple[int, int] = (0, 0)) -> None:
        self.clock = 0
        self.cloud: dict = {}  # key -> (label, updated_at ms, deleted, changed_at ms)
        self.desks = [Desk(skews[0]), Desk(skews[1])]
        self.conflicts: list = []

    def tick(self) -> int:
        self.clock += 3
        return self.clock

    def local_now(self, d: Desk) -> str:
        return t(self.tick() + d.skew)

    def link(self, d: Desk, key, label: str) -> None:
        d.accounts[key] = (label, self.local_now(d))
        d.tombs.pop(key, None)

    def unlink(self, d: Desk, key) -> None:
        if key in d.accounts:
            del d.accounts[key]
            d.tombs[key] = self.local_now(d)

    def _store(self, key, label, changed_ms: int, deleted: bool) -> int:
        """The table's trigger: updated_at is the server's now (never backwards); changed_at no later than it."""
        old = self.cloud.get(key)
        ms = self.clock if old is None or self.clock > old[1] else old[1] + 1
        self.cloud[key] = (None if deleted else label, ms, deleted, min(changed_ms, ms))
        return ms

    def sync(self, d: Desk) -> None:
        self.tick()
        offset = timedelta(milliseconds=-d.skew)  # measured exactly here; the app's error is under a second
        local = {k: LocalState(k[0], k[1], s, False) for k, (_, s) in d.accounts.items()}
        for k, s in d.tombs.items():
            local.setdefault(k, LocalState(k[0], k[1], s, True))
        plan = plan_sync(local, self.remote(), d.agreed, offset)
        self.conflicts += [(c.login, c.server, c.winner) for c in plan.conflicts]
        for a in plan.actions:
            if isinstance(a, Push):
                changed = int((parse_time(local[a.key].stamp) + offset - BASE) / timedelta(milliseconds=1))
                label = None if a.deleted else d.accounts[a.key][0]
                stored = self._store(a.key, label, changed, a.deleted)
                d.agreed[a.key] = (remote_t(stored), local[a.key].stamp)
            elif isinstance(a, Pull):
                stamp = format_time(parse_time(a.row.updated_at))
                d.accounts[(a.row.login, a.row.server)] = (a.row.label, stamp)
                d.tombs.pop((a.row.login, a.row.server), None)
                d.agreed[(a.row.login, a.row.server)] = (a.row.updated_at, stamp)
            elif isinstance(a, RemoveHere):
                d.accounts.pop(a.key, None)
                stamp = format_time(parse_time(a.row.updated_at)) if a.row else self.local_now(d)
                d.tombs[a.key] = stamp
                if a.row:
                    d.agreed[a.key] = (a.row.updated_at, stamp)
                else:
                    d.agreed.pop(a.key, None)
            elif isinstance(a, Agree):
                if a.remote_updated_at is None:
                    d.agreed.pop(a.key, None)
                else:
                    d.agreed[a.key] = (a.remote_updated_at, a.local_stamp)

    def remote(self) -> dict:
        return {k: rrow(ms, deleted=dl, label=lb, key=k, changed=ch) for k, (lb, ms, dl, ch) in self.cloud.items()}

    def run(self, ops) -> None:
        for name, who, key, label in ops:
            if name == "link":
                self.link(self.desks[who], key, label)
            elif name == "unlink":
                self.unlink(self.desks[who], key)
            elif name == "sync":
                self.sync(self.desks[who])
            else:
                self.cloud.pop(key, None)
        a, b = self.desks
        self.sync(a)
        self.sync(b)
        self.sync(a)


KEYS = [(1, "A"), (2, "A"), (1, "B")]
op = st.one_of(
    st.tuples(st.just("link"), st.integers(0, 1), st.sampled_from(KEYS), st.sampled_from(["x", "y", "z"])),
    st.tuples(st.just("unlink"), st.integers(0, 1), st.sampled_from(KEYS), st.none()),
    st.tuples(st.just("sync"), st.integers(0, 1), st.none(), st.none()),
    st.tuples(st.just("web_delete"), st.none(), st.sampled_from(KEYS), st.none()),
)
skew = st.sampled_from([0, -3 * HOUR, 9 * HOUR, -7, 5])  # hours off, and a few milliseconds off


def labels(d: Desk) -> dict:
    return {k: v[0] for k, v in d.accounts.items()}


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=25), skew, skew)
def test_any_interleaving_converges(ops, skew_a, skew_b):
    w = World((skew_a, skew_b))
    w.run(ops)
    a, b = w.desks
    cloud_live = {k: v[0] for k, v in w.cloud.items() if not v[2]}
    assert labels(a) == labels(b) == cloud_live
    # and it stays settled: another round plans nothing
    for d in (a, b):
        local = {k: LocalState(k[0], k[1], s, False) for k, (_, s) in d.accounts.items()}
        for k, s in d.tombs.items():
            local.setdefault(k, LocalState(k[0], k[1], s, True))
        assert [x for x in plan_sync(local, w.remote(), d.agreed, timedelta(milliseconds=-d.skew)).actions
                if not isinstance(x, Agree)] == []


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=25), skew, skew)
def test_the_desktops_clocks_never_change_the_outcome(ops, skew_a, skew_b):
    """[R] 10: the same changes at the same true times end the same, and conflicts go the same way, however
    far off each desktop's clock is."""
    right, off = World(), World((skew_a, skew_b))
    right.run(ops)
    off.run(ops)
    assert [labels(d) for d in off.desks] == [labels(d) for d in right.desks]
    assert off.conflicts == right.conflicts
