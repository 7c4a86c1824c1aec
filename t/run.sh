#!/bin/sh
# t/run.sh - run the shell test suite.
#
#   sh t/run.sh [-v] [FILE...]
#
# Runs every t/[0-9][0-9][0-9]-*.t (or the FILEs given) with sh from the
# repository top, each under `timeout` (T_TIMEOUT seconds, default 120).
# Prints one status line per file, the output of failing files (all output
# with -v or T_VERBOSE=1), and ends with "N passed, N failed, N skipped"
# counting assertions; a file that dies, times out or fails without a
# failing assertion counts as one failure, a skipped file as one skip.
# Exits non-zero on any failure.

cd "$(dirname "$0")/.." || exit 2
verbose=${T_VERBOSE:-0}
if [ "$1" = -v ]; then
    verbose=1
    shift
fi
limit=${T_TIMEOUT:-120}
if [ $# -eq 0 ]; then
    set -- t/[0-9][0-9][0-9]-*.t
    [ -f "$1" ] || { echo "no tests found in t/"; exit 2; }
fi

out=$(mktemp "${TMPDIR:-/tmp}/fulcrum-run.XXXXXX") || exit 2
pid=
stop=0
# timeout puts each test in its own process group, so Ctrl-C does not reach
# it: forward INT/TERM to timeout, which passes them to the whole group.
trap 'stop=1; [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null' INT TERM
trap 'rm -f "$out"' EXIT

now() { date +%s.%N; }
if command -v timeout >/dev/null 2>&1; then
    with_timeout="timeout -k 10 $limit"
else
    with_timeout=
fi

total_p=0 total_f=0 total_s=0
for f in "$@"; do
    [ "$stop" = 1 ] && break
    start=$(now)
    $with_timeout sh "$f" >"$out" 2>&1 &
    pid=$!
    wait "$pid"
    rc=$?
    # a trapped signal interrupts wait before the test is gone: wait again
    while [ "$stop" = 1 ] && kill -0 "$pid" 2>/dev/null; do
        wait "$pid"
        rc=$?
    done
    pid=
    secs=$(echo "$start $(now)" | awk '{ printf "%.1f", $2 - $1 }')

    s=$(grep -Ec '^ok [0-9]+ # skip' "$out")
    p=$(($(grep -c '^ok ' "$out") - s))
    n=$(grep -c '^not ok ' "$out")
    why=
    if grep -q '^1\.\.0 # skip' "$out"; then
        s=$((s + 1))
        why=" ($(sed -n 's/^1\.\.0 # skip //p' "$out"))"
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        n=$((n + 1))
        why=" (timed out after ${limit}s)"
    elif ! grep -Eq '^1\.\.[0-9]+' "$out"; then
        n=$((n + 1))
        why=" (died: no plan, exit $rc)"
    elif [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
        n=$((n + 1))
        why=" (exit $rc)"
    fi
    if [ "$n" -gt 0 ]; then status=FAIL; else status=ok; fi
    printf '%-40s %-4s %3d passed, %d failed, %d skipped  %ss%s\n' \
        "$f" "$status" "$p" "$n" "$s" "$secs" "$why"
    if [ "$n" -gt 0 ] || [ "$verbose" = 1 ]; then
        sed 's/^/    /' "$out"
    fi
    total_p=$((total_p + p))
    total_f=$((total_f + n))
    total_s=$((total_s + s))
done

[ "$stop" = 1 ] && total_f=$((total_f + 1)) && echo "interrupted"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
