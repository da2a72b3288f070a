"""Child process for the kill -9 test: links, updates, unlinks and rotates in a loop, printing a line
after each committed step so the parent can kill it at chosen points."""

import sys
from pathlib import Path

from multi_user.vault import Vault

data_dir = Path(sys.argv[1])
vault = Vault.open(data_dir)
step = 0
while True:
    login = 1000 + step % 7
    if step % 5 == 4:
        vault.rotate()
    elif step % 11 == 10 and vault.get(login, "Kill-Server"):
        vault.unlink(login, "Kill-Server")
    else:
        vault.link(login, "Kill-Server", f"pw-{login}-{step}", label=f"step {step}")
    print(step, flush=True)
    step += 1
