# 820-limits: worker_connections bounds a worker (listeners and upstream
# connections count, as in nginx) without crashing it; worker_shutdown_timeout
# bounds a graceful stop held up by a stuck connection.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

now() { date +%s.%N; }
elapsed() { echo "$1 $(now)" | awk '{ printf "%.2f", $2 - $1 }'; }
between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x < hi) }'; }

fc_conf lim.conf <<'EOF'
daemon off;
master_process on;
worker_processes 1;
pid @T@/fulcrum.pid;
error_log @T@/error.log info;
events { worker_connections 8; }
stream {
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
backend_start echo "$PORT2" -i e1

FC_WAIT_PORTS=$PORT1 fc_start lim.conf
ok $? "fulcrum starts with worker_connections 8"
worker=$(fc_workers)
out=$("$(helper tcpclient)" -p "$PORT1" -n 10000 -k -P 3)
ok $? "3 sessions at once fit (1 listener + 3 x 2 connections)"

# ----------------------------------------------- more than fit, held idle

"$(helper tcpclient)" -p "$PORT1" -H 12 -T 2000 >"$T/hold.out" 2>&1 &
hpid=$!
t_track $hpid
wait_for 10 grep -q '^held=' "$T/hold.out" 2>/dev/null
ok $? "the client opened its 12 connections"
wait_for 10 grep -q 'worker_connections are not enough' "$T/error.log"
ok $? "error.log: worker_connections are not enough"
_t_alive "$worker"
ok $? "the worker did not crash"
is "$(fc_workers)" "$worker" "it is still the same worker"
unlike "$(cat "$T/error.log")" 'exited on signal' "no worker died"
# established connections towards the backend port, seen from /proc
upstream_conns() {
    _hex=$(printf '%04X' "$PORT2")
    awk -v p=":$_hex" '$4 == "01" && substr($3, length($3) - 4) == p' /proc/net/tcp | wc -l
}
n=$(upstream_conns)
ok $((n > 3)) "at most 3 upstream connections open at once (1 listener + 3 x 2 = 7 of 8 slots): $n"

kill -TERM $hpid
wait_for 10 _t_dead $hpid
wait $hpid 2>/dev/null
served() {
    "$(helper tcpclient)" -p "$PORT1" -n 10000 -k -T 2000 >"$T/after.out" 2>&1 &&
        grep -q '^id=e1 sent=10000 recv=10000 ' "$T/after.out"
}
wait_for 10 served
ok $? "once the connections close, it serves again"
out=$("$(helper tcpclient)" -p "$PORT1" -n 10000 -k -P 3)
ok $? "and 3 sessions at once fit again (every slot was given back)"
is "$(fc_workers)" "$worker" "the same worker all along"
fc_stop
is $? 0 "graceful stop"

# ------------------------------------------------ worker_shutdown_timeout

# stuck_conf NAME EXTRA: a one-worker proxy config to the echo backend.
stuck_conf() {
    fc_conf "$1" <<EOF
daemon off;
master_process on;
worker_processes 1;
$2
pid @T@/fulcrum.pid;
error_log @T@/error.log info;
events { worker_connections 64; }
stream {
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
}

# open_stuck OUT: holds one idle connection through the proxy; its PID in $spid.
open_stuck() {
    _acc0=$(backend_count "$PORT2")
    "$(helper tcpclient)" -p "$PORT1" -H 1 >"$1" 2>&1 &
    spid=$!
    t_track $spid
    backend_wait_count "$PORT2" $((_acc0 + 1))
}

stuck_conf wst.conf 'worker_shutdown_timeout 1s;'
FC_WAIT_PORTS=$PORT1 fc_start wst.conf
ok $? "fulcrum starts with worker_shutdown_timeout 1s"
open_stuck "$T/stuck.out"
ok $? "a stuck (idle) connection is open through the proxy"
master=$FC_PID
t0=$(now)
kill -QUIT "$master"
wait_for 10 _t_dead "$master"
ok $? "QUIT finishes despite the stuck connection"
secs=$(elapsed "$t0")
between "$secs" 0.9 3
ok $? "it took about the timeout: 1-3 s (took ${secs}s)"
wait "$master"
is $? 0 "exit status 0"
FC_PID=
kill -TERM $spid
wait_for 5 _t_dead $spid
wait $spid 2>/dev/null
like "$(cat "$T/stuck.out")" '^closed=1' "the stuck connection was closed by the server"

# the same stuck connection without the timeout: QUIT waits for it
stuck_conf nowst.conf ''
FC_WAIT_PORTS=$PORT1 fc_start nowst.conf
ok $? "fulcrum starts without worker_shutdown_timeout"
open_stuck "$T/stuck2.out"
master=$FC_PID
kill -QUIT "$master"
! wait_for 3 _t_dead "$master"
ok $? "without the timeout QUIT still waits for the connection after 3 s"
kill -TERM $spid
wait_for 10 _t_dead "$master"
ok $? "and exits once the client leaves"
wait "$master"
is $? 0 "exit status 0"
FC_PID=

done_testing
