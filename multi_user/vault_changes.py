"""Changes of the stored passwords made in this process, counted ([P] 3): the lanes' password reader
(app/lane_password.py) keeps the encrypted tokens it read and decrypts a switch's password from them while
``TOKEN_CHANGES.stamp()`` is what it was when it read them. multi_user/vault.py counts every transaction that
may change a token (link, unlink, rotate, a cloud pull). Only this process writes passwords while an app owns
the data dir: the command line links and unlinks through the running app."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class TokenChanges:
    """A generation, moved on at the start and the end of each change, and the changes under way."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._busy = 0

    @contextlib.contextmanager
    def changing(self) -> Iterator[None]:
        with self._lock:
            self._generation += 1
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._generation += 1
                self._busy -= 1

    def stamp(self) -> int | None:
        """None while a change is under way (nothing cached is good then)."""
        with self._lock:
            return None if self._busy else self._generation


TOKEN_CHANGES = TokenChanges()
