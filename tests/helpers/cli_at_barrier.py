"""Child for the set-up race test: imports everything, says "ready", waits for "go" on stdin, then runs
`main.py ARGS` (the rest of stdin is what the command reads, e.g. a password)."""

import sys

import main

print("ready", flush=True)
if sys.stdin.readline().strip() == "go":
    sys.exit(main.main(sys.argv[1:]))
sys.exit(99)
