"""[P] 3: a lane's switch path, from the lock's grant to the login's answer: the password (decrypted on the spot, or
read on its reader thread while the worker reads what the login needs), then the login in the worker. ``Lane``
inherits it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.jobs import Job
from multi_user.errors import AuthorizationError, DeskError, IdentityMismatch

if TYPE_CHECKING:
    from app.lane_password import PasswordPrefetch
    from app.lock import ActiveAccountLock
    from app.supervisor import Supervised
    from app.worker_client import Sent, WorkerClient

log = logging.getLogger("mt5desk.lanes")


class SwitchPath:
    # provided by Lane
    name: str
    accounts: dict[str, Any]
    lock: ActiveAccountLock
    worker: WorkerClient
    terminal_sup: Supervised | None
    _emit: Callable[[dict[str, Any]], None]
    _prefetch: PasswordPrefetch
    _verify_jobs: dict[str, Job]
    _verify_errors: dict[str, Exception]
    _worker_up: bool
    _stopping: bool
    _busy: bool
    _checked: str | None
    _swept: str | None

    def _pump(self) -> None:  # pragma: no cover - Lane's
        raise NotImplementedError

    def _read_ahead(self, holder: Any) -> None:
        """As the lock grants the terminal: read the password, and have the worker read what the login needs
        (not for a login that waits for a check of the same account: that check has a password of its own)."""
        if (holder is None or holder.phase != "switching" or holder.account not in self.accounts
                or (holder.job is None and any(f.account == holder.account for f in self._verify_jobs.values()))
                or self._prefetch.started(holder)):
            return
        # decrypted on the spot while the reader's cached tokens are good: then the switch itself goes at once
        # (_send_switch_now) and a prepare would only stand in its way; else read on the reader's thread while
        # the worker reads what the login needs
        self._prefetch.start(holder)
        if self._prefetch.ready(holder):
            return
        sup = self.terminal_sup
        if self._worker_up and not self._stopping and (sup is None or sup.state == "running"):
            acct = self.accounts[holder.account]
            self.worker.notify("prepare", login=acct.login, server=acct.server)

    def _send_switch_now(self, key: str, job: Job | None) -> Sent | None:
        """[P] 3: when the lock grants and the password is already at hand (app/lane_password.py decrypts it from
        the cached tokens), the switch goes down the pipe at once, not on the login task's first turn."""
        acct = self.accounts.get(key)
        password = None if acct is None else self._prefetch.take_ready(self.lock.holder, key)
        if acct is None or password is None:
            return None
        try:
            return self._send_switch(acct, password, job)
        except Exception:  # the task sends it again and reports what goes wrong
            self._prefetch.start(self.lock.holder)
            return None
        finally:
            del password

    def _send_switch(self, acct: Any, password: str, job: Job | None) -> Sent:
        check = job is not None and job.kind == "verify"
        return self.worker.send("switch", login=acct.login, password=password, server=acct.server,
                                **({"check_password": True} if check else {}))

    async def _switch(self, key: str, job: Job | None, sent: Sent | None = None) -> None:
        acct = self.accounts.get(key)
        check = job is not None and job.kind == "verify"
        try:
            if acct is None:
                self.lock.switch_failed(key, "offline", "this account is no longer linked")
                return
            if sent is None:
                password = await self._prefetch.take(self.lock.holder, key)
                sent = self._send_switch(acct, password, job)
                del password
            await self.worker.answer(sent)
            if check and job is not None:
                self._checked = job.id
            if self._still_switching(key):
                self.lock.switch_succeeded(key)
                if self._swept == key:
                    self.lock.release(key)  # the sweep visit's one snapshot came with the login's answer
        except DeskError as exc:
            kind = ("auth" if isinstance(exc, AuthorizationError)
                    else "mismatch" if isinstance(exc, IdentityMismatch) else "offline")
            if check and job is not None:
                self._verify_errors[job.id] = exc
            if self._still_switching(key):
                self.lock.switch_failed(key, kind, str(exc))
        except Exception as exc:  # a bug must end the switch, never retry it in a loop
            log.exception("switch to %s failed", key)
            message = f"unexpected error while logging in: {type(exc).__name__}: {exc}"
            self._emit({"event": "error", "lane": self.name, "account": key, "message": message})
            if self._still_switching(key):
                self.lock.switch_failed(key, "offline", message)
        finally:
            self._swept = None
            self._busy = False
            self._pump()

    def _still_switching(self, key: str) -> bool:
        h = self.lock.holder
        return h is not None and h.account == key and h.phase == "switching"
