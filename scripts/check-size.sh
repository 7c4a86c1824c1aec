#!/bin/sh
# check-size.sh: the size rules of DESIGN.md that a machine can see: no .c
# over 1500 lines, no header over 400, no function over 80 lines in src/ and
# modules/. Prints each breach; exits 1 if there is any.
set -u
cd "$(dirname "$0")/.." || exit 2
rc=0
for f in $(git ls-files '*.c' '*.h'); do
    n=$(wc -l <"$f")
    case "$f" in *.h) lim=400 ;; *) lim=1500 ;; esac
    if [ "$n" -gt "$lim" ]; then
        echo "$f: $n lines (limit $lim)"
        rc=1
    fi
done
long=$(git ls-files 'src/*.c' 'modules/*.c' | xargs awk '
    /^[a-z_][a-z0-9_]*\(/ { name = $0; start = FNR; infn = 1 }
    infn && /^}/ {
        if (FNR - start > 80)
            printf "%s:%d %s (%d lines, limit 80)\n", FILENAME, start, substr(name, 1, 40), FNR - start
        infn = 0
    }')
if [ -n "$long" ]; then
    echo "$long"
    rc=1
fi
[ "$rc" -eq 0 ] && echo "sizes ok"
exit "$rc"
