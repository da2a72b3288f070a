"""[J] 5: ``copier add|list|remove|pause|resume`` — links in copier.json; bad input stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

from multi_user.copy_store import links_path
from tests.test_accounts_cli import cli

M, F1, F2, INV, SHARED = "7@Prop", "8@Prop", "9@Other", "10@Other", "11@Prop"


def accounts(data_dir: Path) -> None:
    """Linked straight in the vault (as `accounts link --no-verify` would, without five processes)."""
    from multi_user.vault import Vault

    vault = Vault.open(data_dir)
    try:
        for key, investor, mode in ((M, False, "dedicated"), (F1, False, "dedicated"), (F2, False, "dedicated"),
                                    (INV, True, "dedicated"), (SHARED, False, "shared")):
            login, server = key.split("@")
            vault.link(int(login), server, "pw", investor=investor, mode=mode)
    finally:
        vault.close()


def test_add_list_pause_resume_remove(data_dir: Path) -> None:
    accounts(data_dir)
    r = cli(data_dir, "copier", "add", "--master", M, "--follower", F1, "--sizing", "fixed", "--volume", "0.2",
            "--map", "XAUUSD=GOLD", "--symbols", "EURUSD,XAUUSD", "--reverse", "--no-sltp", "--max-slippage", "30",
            "--json")
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)["link"]
    assert (made["sizing"], made["volume"], made["symbol_map"], made["reverse"], made["copy_sltp"]) == (
        "fixed", 0.2, {"XAUUSD": "GOLD"}, True, False)
    assert cli(data_dir, "copier", "add", "--master", INV, "--follower", F2).returncode == 0  # investor master
    listed = json.loads(cli(data_dir, "copier", "list", "--json").stdout)["links"]
    assert [(lk["master"], lk["follower"]) for lk in listed] == [(M, F1), (INV, F2)]
    assert "reversed" in cli(data_dir, "copier", "list").stdout
    r = cli(data_dir, "copier", "pause", "--follower", F1, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["link"]["paused"] is True
    assert "(paused)" in cli(data_dir, "copier", "list").stdout
    assert json.loads(cli(data_dir, "copier", "resume", "--follower", F1, "--json").stdout)["link"]["paused"] is False
    r = cli(data_dir, "copier", "remove", "--master", M, "--follower", F1, "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"removed": {"master": M, "follower": F1}}
    assert [lk["follower"] for lk in json.loads(cli(data_dir, "copier", "list", "--json").stdout)["links"]] == [F2]


def test_bad_links_exit_2_and_store_nothing(data_dir: Path) -> None:
    accounts(data_dir)
    assert cli(data_dir, "copier", "add", "--master", M, "--follower", F1).returncode == 0
    before = links_path(data_dir).read_text()
    for args, words in ((["--master", M, "--follower", INV], "read-only"),
                        (["--master", M, "--follower", SHARED], "own terminal"),
                        (["--master", F2, "--follower", F1], "one master"),
                        (["--master", F1, "--follower", F2], "cannot be a master"),
                        (["--master", M, "--follower", "12@Prop"], "not linked"),
                        (["--master", M, "--follower", M], "itself"),
                        (["--master", M, "--follower", F2, "--sizing", "fixed"], "--volume"),
                        (["--master", M, "--follower", F2, "--map", "XAUUSD"], "SRC=DST"),
                        (["--master", "nope", "--follower", F2], "LOGIN@SERVER")):
        r = cli(data_dir, "copier", "add", *args)
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)
    assert links_path(data_dir).read_text() == before
    r = cli(data_dir, "copier", "remove", "--follower", F2)
    assert r.returncode == 2 and "no copy link" in r.stderr


def test_a_netting_follower_of_a_hedging_master_is_refused_from_the_modes_last_seen(data_dir: Path) -> None:
    """The modes come from the accounts' last live snapshots (<data>/last_values.json); a mode not seen yet
    lets the link be made (the copier says why it skips once both are live)."""
    from app import last_values

    accounts(data_dir)
    last_values.save(data_dir, {M: last_values.keep({"login": 7, "server": "Prop", "margin_mode": 2, "ts": 1.0}),
                                F1: last_values.keep({"login": 8, "server": "Prop", "margin_mode": 0, "ts": 1.0})})
    r = cli(data_dir, "copier", "add", "--master", M, "--follower", F1)
    assert r.returncode == 2 and "netting account" in r.stderr, r.stderr
    assert not links_path(data_dir).exists() or "8@Prop" not in links_path(data_dir).read_text()
    assert cli(data_dir, "copier", "add", "--master", M, "--follower", F2).returncode == 0  # F2 not seen yet
