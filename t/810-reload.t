# 810-reload: HUP re-reads the config: same master, new workers follow the
# new config, open connections survive, old workers drain and exit, an
# invalid config changes nothing, the listening socket is never closed, and
# worker_processes can change.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

nworkers() { [ "$(fc_workers | wc -l)" -eq "$1" ]; }
greeting() { # PORT: the id the echo backend behind PORT greets with
    "$(helper tcpclient)" -p "$1" -n 10 -k -E -T 3000 | sed -n 's/^id=\([^ ]*\) .*/\1/p'
}

# conf UPSTREAM_PORT WORKERS: the config, pointing at one echo backend
conf() {
    PORT9=$1 PORT8=$2
    fc_conf r.conf <<'EOF'
daemon off;
master_process on;
worker_processes @PORT8@;
pid @T@/fulcrum.pid;
error_log @T@/error.log info;
events { worker_connections 256; }
stream {
    upstream u { server 127.0.0.1:@PORT9@; }
    server { listen 127.0.0.1:@PORT1@; proxy_pass u; }
}
EOF
    unset PORT8 PORT9
}

A=$(free_port)
B=$(free_port)
backend_start echo "$A" -i A
backend_start echo "$B" -i B

conf "$A" 1
FC_WAIT_PORTS=$PORT1 fc_start r.conf
ok $? "fulcrum starts with upstream A"
master=$FC_PID
is "$(greeting "$PORT1")" A "connections reach A"

# -------------------------------- reload A -> B with a connection open

i=0
while [ $i -lt 40 ]; do
    printf 'line %02d of the data\n' $i
    i=$((i + 1))
done >"$T/lines"
acc0=$(backend_count "$A")
"$(helper rawhttp)" -p "$PORT1" -s 20 -d 100 -c -t 5000 "$T/lines" >"$T/open.out" 2>&1 &
cpid=$!
t_track $cpid
backend_wait_count "$A" $((acc0 + 1))
ok $? "a long connection is open through A"

conf "$B" 1
fc_reload
ok $? "reload to upstream B"
old=$FC_OLD_WORKERS
_t_alive "$cpid"
ok $? "(the long connection is still sending after the reload)"
is "$(cat "$T/fulcrum.pid")" "$master" "the pid file still names the same master"
_t_alive "$master"
ok $? "the master is the same process"
is "$(greeting "$PORT1")" B "new connections reach B"
is "$(greeting "$PORT1")" B "new connections keep reaching B"
# shellcheck disable=SC2086
_t_alive $old && _t_alive "$cpid"
ok $? "the old worker stays while its connection is open"
wait_for 15 _t_dead "$cpid"
wait "$cpid"
is $? 0 "the connection opened before the reload ends normally"
{ echo A; cat "$T/lines"; } >"$T/open.want"
cmp -s "$T/open.out" "$T/open.want"
ok $? "it kept relaying through A after the reload: every line came back" ||
    diff "$T/open.want" "$T/open.out" | head -n 10 | sed 's/^/#   /'
fc_wait_drained 10
ok $? "the old worker exits once its connection closed"
grep -q 'reconfiguring' "$T/error.log"
ok $? "error.log: reconfiguring"

# --------------------------------------- a reload with an invalid config

workers=$(fc_workers | sort | tr '\n' ' ')
cp "$T/r.conf" "$T/r.conf.good"
{
    cat "$T/r.conf.good"
    echo 'stream_no_such_directive on;'
} >"$T/r.conf"
bad_line=$(wc -l <"$T/r.conf" | tr -d ' ')
size=$(_t_size "$T/error.log")
kill -HUP "$master"
emerg() { tail -c +$((size + 1)) "$T/error.log" | grep -q '\[emerg\]'; }
wait_for 10 emerg
ok $? "an invalid reload is logged as [emerg]"
like "$(tail -c +$((size + 1)) "$T/error.log")" \
    "\[emerg\] .*unknown directive \"stream_no_such_directive\" in $T/r.conf:$bad_line" \
    "the error names the directive and file:line"
is "$(greeting "$PORT1")" B "the old config keeps serving"
# a negative check: give a (wrong) new generation a second to appear
changed() { [ "$(fc_workers | sort | tr '\n' ' ')" != "$workers" ]; }
! wait_for 1 changed
ok $? "the workers are unchanged"
_t_alive "$master"
ok $? "the master lives on"
cp "$T/r.conf.good" "$T/r.conf"

# --------------------------- the listening socket is kept across reloads

rm -f "$T/stop" "$T/loop.out"
(
    n=0
    while [ ! -e "$T/stop" ] && [ $n -lt 5000 ]; do
        "$(helper tcpclient)" -p "$PORT1" -n 10 -k -E -T 3000 >>"$T/loop.out" 2>&1 ||
            echo "exit=$?" >>"$T/loop.out"
        n=$((n + 1))
    done
) &
lpid=$!
t_track $lpid
wait_for 5 test -s "$T/loop.out"
r=0 fails=0
while [ $r -lt 10 ]; do
    if [ $((r % 2)) -eq 0 ]; then conf "$A" 1; else conf "$B" 1; fi
    fc_reload || fails=$((fails + 1))
    r=$((r + 1))
done
is "$fails" 0 "10 reloads while a client connects continuously"
touch "$T/stop"
wait_for 10 _t_dead $lpid
wait $lpid
total=$(grep -c '^id=' "$T/loop.out")
refused=$(grep -c 'error=connect' "$T/loop.out")
bad=$(grep -c 'error=\|exit=' "$T/loop.out")
diag "$total connections during the reloads"
ok $((total < 20)) "the loop made enough connections ($total)"
is "$refused" 0 "no connection refused during 10 reloads"
is "$bad" 0 "no connection failed during 10 reloads" ||
    grep 'error=\|exit=' "$T/loop.out" | sort | uniq -c | head -n 5 | sed 's/^/#   /'
is "$(grep -c '^id=[AB] sent=10 recv=10 ' "$T/loop.out")" "$total" "every one reached A or B intact"
fc_wait_drained 10
ok $? "the old generations exit"

# ------------------------------------------ worker_processes 1 -> 3 -> 1

conf "$A" 3
fc_reload
ok $? "reload to worker_processes 3"
wait_for 10 nworkers 3
ok $? "3 workers"
fc_wait_drained 10
ok $? "the single old worker exits"
is "$(fc_workers | wc -l | tr -d ' ')" 3 "still 3 workers after the drain"
out=$("$(helper tcpclient)" -p "$PORT1" -n 10000 -k -P 6)
ok $? "6 connections served by 3 workers"
is "$(echo "$out" | grep -c 'id=A sent=10000 recv=10000 ')" 6 "all reached A intact"

conf "$A" 1
fc_reload
ok $? "reload to worker_processes 1"
fc_wait_drained 10
ok $? "the 3 old workers exit"
is "$(fc_workers | wc -l | tr -d ' ')" 1 "1 worker"
# one after another, so that each can land on any reuseport socket
n=0 good=0
while [ $n -lt 12 ]; do
    [ "$(greeting "$PORT1")" = A ] && good=$((good + 1))
    n=$((n + 1))
done
is "$good" 12 "12 connections in a row served by the single worker (no orphaned socket)"
is "$(cat "$T/fulcrum.pid")" "$master" "the master never changed"

fc_stop
is $? 0 "graceful stop exits 0"
done_testing
