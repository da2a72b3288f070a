"""[P] 3: after its first read, the lanes' password reader decrypts a switch's password on the spot from the
encrypted tokens it read, while no password stored in this process has changed since; a change (a re-link, an
unlink, a rotation, a cloud pull), or one under way, sends the read back to the reader's thread."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from app.lane_password import PasswordReader
from multi_user.errors import BadInput
from multi_user.vault import Vault
from multi_user.vault_changes import TOKEN_CHANGES


@pytest.fixture
def vault_and_reader(data_dir: Path):
    vault = Vault.open(data_dir)
    vault.link(111, "Prop-Demo", "first-pw")
    reader = PasswordReader(data_dir)
    yield vault, reader
    reader.close()
    vault.close()


def reads_on_the_thread(reader: PasswordReader) -> list[tuple[int, str]]:
    seen: list[tuple[int, str]] = []
    inner = reader._read

    def counted(login: int, server: str) -> str:
        seen.append((login, server))
        return inner(login, server)

    reader._read = counted  # type: ignore[method-assign]
    return seen


def test_a_second_read_decrypts_at_once_and_a_change_is_read_again(qloop, vault_and_reader) -> None:
    vault, reader = vault_and_reader
    vault.link(222, "Prop-Demo", "other-pw")
    thread = reads_on_the_thread(reader)

    async def scenario() -> None:
        assert await asyncio.wait_for(reader.password(111, "Prop-Demo"), 10) == "first-pw"
        at_once = reader.password(222, "Prop-Demo")
        assert at_once.done() and at_once.result() == "other-pw"  # no thread, no loop turn
        assert thread == [(111, "Prop-Demo")]

        vault.link(111, "Prop-Demo", "changed-pw")  # the owner changed it (the Desk's own vault connection)
        assert await asyncio.wait_for(reader.password(111, "Prop-Demo"), 10) == "changed-pw"
        assert thread == [(111, "Prop-Demo")] * 2

        vault.unlink(222, "Prop-Demo")
        with pytest.raises(BadInput, match="No linked account 222"):
            await asyncio.wait_for(reader.password(222, "Prop-Demo"), 10)

        with TOKEN_CHANGES.changing():  # a change under way on another thread: nothing cached is trusted
            pending = reader.password(111, "Prop-Demo")
            assert not pending.done()
        assert await asyncio.wait_for(pending, 10) == "changed-pw"

    qloop.run_until_complete(scenario())


def test_a_change_that_commits_while_the_tokens_are_read_is_not_missed(data_dir: Path, vault_and_reader,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The stamp is taken before the tokens are read: a change that lands in between leaves the cache old."""
    _vault, reader = vault_and_reader
    original = Vault.tokens

    def change() -> None:
        other = Vault.open(data_dir)
        try:
            other.link(111, "Prop-Demo", "second-pw")
        finally:
            other.close()

    def tokens_then_a_change(self: Vault) -> dict[tuple[int, str], str]:
        got = original(self)
        t = threading.Thread(target=change)
        t.start()
        t.join(10)
        return got

    monkeypatch.setattr(Vault, "tokens", tokens_then_a_change)
    assert reader._pool.submit(reader._read, 111, "Prop-Demo").result(10) in ("first-pw", "second-pw")
    assert reader._cached(111, "Prop-Demo") is None  # the tokens read before the change are not used


def test_the_cache_holds_tokens_never_a_password(vault_and_reader) -> None:
    _vault, reader = vault_and_reader
    reader._pool.submit(reader._read, 111, "Prop-Demo").result(10)
    assert reader._tokens is not None
    assert "first-pw" not in repr(reader._tokens[1]) and "first-pw" not in repr(vars(reader))
