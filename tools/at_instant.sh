#!/bin/bash
# Run a command with the wall clock moved to a given UTC instant, for the tests that depend on the time of day:
#   tools/at_instant.sh "2026-12-31 23:59:30" .venv/bin/python -m pytest -q tests/test_sim_trading.py
# Needs libfaketime (Debian: apt-get install faketime) and a C compiler.
# - The offset form (FAKETIME="+Ns"), not the start-at form ("@..."): with "@" every child process (the
#   simulator's terminals, the workers) starts its clock at the instant again, so each runs behind the parent.
# - The monotonic clock stays real (FAKETIME_DONT_FAKE_MONOTONIC=1): faked, every timed wait (Event.wait,
#   Lock.acquire(timeout), faulthandler's watchdog) hangs. libfaketime 0.9.10 then fails an absolute monotonic
#   clock_nanosleep (time.sleep: EINVAL), so a small preload passes those straight to the kernel.
set -euo pipefail
at="$1"; shift
lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
[ -n "$lib" ] || { echo "libfaketime not found (apt-get install faketime)" >&2; exit 2; }
shim="${TMPDIR:-/tmp}/at_instant_sleep.so"
if [ ! -f "$shim" ]; then
    cat > "$shim.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem) {
    if (clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME || clk == CLOCK_MONOTONIC_RAW)
        return syscall(SYS_clock_nanosleep, clk, flags, req, rem) == 0 ? 0 : errno;
    static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);
    if (!next) next = dlsym(RTLD_NEXT, "clock_nanosleep");
    return next(clk, flags, req, rem);
}
EOF
    cc -shared -fPIC -O2 -o "$shim" "$shim.c" -ldl
fi
offset=$(( $(date -u -d "$at UTC" +%s) - $(date -u +%s) )); [ "$offset" -lt 0 ] || offset="+$offset"
FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME="${offset}s" LD_PRELOAD="$shim $lib" exec "$@"
