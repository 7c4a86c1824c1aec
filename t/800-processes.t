# 800-processes: master and workers: the process tree, respawn after a
# crash, QUIT drains a live connection, TERM is fast, USR1 reopens logs,
# daemon on goes to the background.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

nworkers() { [ "$(fc_workers | wc -l)" -eq "$1" ]; }
now() { date +%s.%N; }
elapsed() { echo "$1 $(now)" | awk '{ printf "%.2f", $2 - $1 }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

fc_conf p.conf <<'EOF'
daemon off;
master_process on;
worker_processes 2;
pid @T@/fulcrum.pid;
error_log @T@/error.log info;
events { worker_connections 256; }
stream {
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
backend_start echo "$PORT2" -i e1

# ------------------------------------------------------- the process tree

FC_WAIT_PORTS=$PORT1 fc_start p.conf
ok $? "fulcrum starts"
is "$(cat "$T/fulcrum.pid")" "$FC_PID" "the process started is the master: the pid file names it"
wait_for 5 nworkers 2
is "$(fc_workers | wc -l | tr -d ' ')" 2 "exactly 2 workers are its direct children"
for w in $(fc_workers); do
    kids=$(_t_children "$w" | wc -l | tr -d ' ')
    is "$kids" 0 "worker $w has no children of its own"
    like "$(tr '\0' ' ' <"/proc/$w/cmdline")" '^fulcrum: worker process' \
        "worker $w is titled as nginx titles its workers"
done
like "$(tr '\0' ' ' <"/proc/$FC_PID/cmdline")" '^fulcrum: master process .*-c ' \
    "the master's title shows its command line"
out=$("$(helper tcpclient)" -p "$PORT1" -n 100000 -k -P 4)
ok $? "4 connections proxied by the workers"

# ---------------------------------------------------- kill -9 of a worker

victim=$(fc_workers | head -n 1)
others=$(fc_workers | grep -vx "$victim")
kill -9 "$victim"
wait_for 10 grep -q "worker process $victim exited on signal 9" "$T/error.log"
ok $? "error.log: worker process $victim exited on signal 9"
replaced() {
    nworkers 2 && ! fc_workers | grep -qx "$victim"
}
wait_for 10 replaced
ok $? "a new worker replaces it: 2 workers again"
ok_cmd "the other worker was left alone" _t_alive "$others"
_t_alive "$FC_PID"
ok $? "the master lives on"
is "$(cat "$T/fulcrum.pid")" "$FC_PID" "the pid file still names the master"
out=$("$(helper tcpclient)" -p "$PORT1" -n 100000 -k -P 4)
ok $? "connections are served after the respawn"

# ---------------------------------------- USR2 / WINCH (nginx's binary upgrade)
before=$(fc_workers | sort | tr '\n' ' ')
kill -USR2 "$FC_PID"
kill -WINCH "$FC_PID"
wait_for 10 grep -q 'the changing binary signal is ignored' "$T/error.log"
ok $? "USR2: logged as ignored (changing the binary is not supported)"
wait_for 10 grep -q 'signal (WINCH) is ignored' "$T/error.log"
ok $? "WINCH: logged as ignored"
_t_alive "$FC_PID"
ok $? "...the master lives on (USR2's default action would kill it)"
is "$(fc_workers | sort | tr '\n' ' ')" "$before" "...with the same workers"
kill -USR2 $(fc_workers | head -n 1)
sleep 0.3
is "$(fc_workers | sort | tr '\n' ' ')" "$before" "a worker sent USR2 lives on too"
out=$("$(helper tcpclient)" -p "$PORT1" -n 100000 -k -P 4)
ok $? "connections are served after USR2 and WINCH"

# ---------------------------------------- QUIT with a live TCP connection

# 40 lines of 20 bytes, one every 100 ms: the client keeps talking for
# ~4 s while the master is asked to quit.
i=0
while [ $i -lt 40 ]; do
    printf 'line %02d of the data\n' $i
    i=$((i + 1))
done >"$T/lines"
acc0=$(backend_count "$PORT2")
"$(helper rawhttp)" -p "$PORT1" -s 20 -d 100 -c -t 5000 "$T/lines" >"$T/quit.out" 2>&1 &
cpid=$!
t_track $cpid
backend_wait_count "$PORT2" $((acc0 + 1))
ok $? "a client is connected through the proxy"
master=$FC_PID
kill -QUIT "$master"
wait_port_closed "$PORT1" 5
ok $? "after QUIT the listening socket is closed"
_t_alive "$cpid" && _t_alive "$master"
ok $? "the master waits while the connection is open"
out=$("$(helper tcpclient)" -p "$PORT1" -n 10 -T 3000 2>&1)
like "$out" 'error=connect' "a new client is refused while the old one drains (not left in a backlog)"
wait_for 15 _t_dead "$cpid"
wait "$cpid"
is $? 0 "the client's connection ends normally (server FIN)"
{ echo e1; cat "$T/lines"; } >"$T/quit.want"
cmp -s "$T/quit.out" "$T/quit.want"
ok $? "every line sent after the QUIT came back" ||
    diff "$T/quit.want" "$T/quit.out" | head -n 10 | sed 's/^/#   /'
wait_for 10 _t_dead "$master"
ok $? "then the master exits"
wait "$master"
is $? 0 "exit status 0"
like "$(cat "$T/error.log")" "signal 3 \\(SIGQUIT\\) received from $$, shutting down" \
    "nginx's line: signal 3 (SIGQUIT) received from PID, shutting down"
FC_PID=
ok_cmd "the pid file is removed" test ! -e "$T/fulcrum.pid"
for w in $(grep -o 'start worker process [0-9]*' "$T/error.log" | awk '{ print $4 }'); do
    _t_alive "$w" && { ok 1 "worker $w outlived the master"; }
done

# ---------------------------------------------------------- TERM is fast

FC_WAIT_PORTS=$PORT1 fc_start p.conf
ok $? "started again"
wait_for 5 nworkers 2
"$(helper tcpclient)" -p "$PORT1" -H 3 >"$T/hold.out" 2>&1 &
hpid=$!
t_track $hpid
acc0=$(backend_count "$PORT2")
wait_for 10 grep -q '^held=3' "$T/hold.out"
ok $? "3 idle connections held"
workers=$(fc_workers)
t0=$(now)
kill -TERM "$FC_PID"
wait_for 10 _t_dead "$FC_PID"
ok $? "TERM stops the master"
secs=$(elapsed "$t0")
lt "$secs" 2
ok $? "TERM with idle connections open takes under 2 s (took ${secs}s)"
wait "$FC_PID"
is $? 0 "TERM: exit status 0"
# shellcheck disable=SC2086
ok_cmd "TERM: the workers are gone" _t_all_dead $workers
FC_PID=
ok_cmd "TERM: the pid file is removed" test ! -e "$T/fulcrum.pid"
kill -TERM $hpid 2>/dev/null
wait $hpid 2>/dev/null

# ------------------------------------------------------- USR1 reopens logs

FC_WAIT_PORTS=$PORT1 fc_start p.conf
ok $? "started for USR1"
wait_for 5 nworkers 2
mv "$T/error.log" "$T/error.log.old"
kill -USR1 "$FC_PID"
wait_for 10 test -f "$T/error.log"
ok $? "USR1: a new error.log appears"
wait_for 10 grep -q 'reopening logs' "$T/error.log.old" "$T/error.log"
ok $? "USR1: reopening logs is logged"
like "$(cat "$T/error.log.old" "$T/error.log")" 'signal 10 \(SIGUSR1\) received from [0-9]+, reopening' \
    "...after nginx's 'signal 10 (SIGUSR1) received from PID, reopening'"
# the workers reopen too: their connection logs go to the new file
n=0
while [ $n -lt 8 ]; do
    "$(helper tcpclient)" -p "$PORT1" -n 100 -k >/dev/null 2>&1
    n=$((n + 1))
done
wait_for 5 grep -q "connected to 127.0.0.1:$PORT1" "$T/error.log"
ok $? "USR1: the workers log into the new file"
before=$(grep -c "connected to 127.0.0.1:$PORT1" "$T/error.log.old")
"$(helper tcpclient)" -p "$PORT1" -n 100 -k >/dev/null 2>&1
is "$(grep -c "connected to 127.0.0.1:$PORT1" "$T/error.log.old")" "$before" \
    "USR1: nothing more goes to the renamed file"
fc_stop
is $? 0 "stop"

# ------------------------------------------------------------- daemon on

fc_conf d.conf <<'EOF'
daemon on;
master_process on;
worker_processes 2;
pid @T@/daemon.pid;
error_log @T@/daemon.log info;
events { worker_connections 64; }
stream {
    server { listen 127.0.0.1:@PORT3@; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
rm -f "$T/daemon.pid"
"$FC_BIN" -p "$T/" -c "$T/d.conf" >"$T/d.out" 2>&1 &
lpid=$!
wait_for 10 _t_dead $lpid
ok $? "daemon on: the launching process exits"
wait $lpid
is $? 0 "daemon on: with status 0"
wait_for 10 test -s "$T/daemon.pid"
dpid=$(cat "$T/daemon.pid" 2>/dev/null)
[ -n "$dpid" ] && t_track "$dpid"
like "$dpid" '^[0-9]+$' "daemon on: the pid file is written"
isnt "$dpid" "$lpid" "daemon on: the master is another process"
_t_alive "${dpid:-0}"
ok $? "daemon on: the master is alive"
dworkers() { [ "$(_t_children "$dpid" | wc -l)" -eq 2 ]; }
wait_for 10 dworkers
ok $? "daemon on: it has its 2 workers"
wait_port "$PORT3"
out=$("$(helper tcpclient)" -p "$PORT3" -n 10000 -k)
like "$out" '^id=e1 sent=10000 recv=10000 ' "daemon on: it serves"
ok_cmd "daemon on: nothing printed by the launcher" test ! -s "$T/d.out"
dk=$(_t_children "$dpid")
kill -QUIT "$dpid"
wait_for 10 _t_dead "$dpid"
ok $? "daemon on: QUIT stops it"
# shellcheck disable=SC2086
wait_for 5 _t_all_dead $dk
ok $? "daemon on: its workers are gone"
ok_cmd "daemon on: the pid file is removed" test ! -e "$T/daemon.pid"

# ------------------------- nginx's worker-tuning directives (stock nginx.conf lines)
mkdir -p "$T/wd"
fc_conf tune.conf <<'EOF'
load_module modules/ngx_stream_module.so;
daemon off;
master_process on;
worker_processes 2;
worker_priority 5;
worker_cpu_affinity auto;
worker_rlimit_core 1m;
working_directory @T@/wd;
env FC_TEST_KEEP=1;
timer_resolution 100ms;
lock_file @T@/fulcrum.lock;
pcre_jit on;
thread_pool default threads=2 max_queue=100;
pid @T@/fulcrum.pid;
error_log @T@/error.log info;
events { worker_connections 256; accept_mutex_delay 100ms; }
stream {
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
FC_WAIT_PORTS=$PORT1 fc_start tune.conf
ok $? "worker_priority, worker_cpu_affinity, env, load_module & co are accepted"
fc_run -t -c "$T/tune.conf"
like "$(cat "$T/fc_run.out")" 'load_module "modules/ngx_stream_module.so" ignored' \
    "load_module: noted as ignored (modules are built in)"
w1=$(fc_workers | head -n 1)
is "$(ps -o ni= -p "$w1" | tr -d ' ')" 5 "worker_priority 5: the workers' nice value"
is "$(ps -o ni= -p "$FC_PID" | tr -d ' ')" 0 "...not the master's"
is "$(awk '/^Max core file size/ {print $5}' "/proc/$w1/limits")" 1048576 "worker_rlimit_core 1m"
is "$(readlink "/proc/$w1/cwd")" "$T/wd" "working_directory: the workers' folder"
cpus=$(for w in $(fc_workers); do awk '/^Cpus_allowed_list/ {print $2}' "/proc/$w/status"; done | sort | tr '\n' ' ')
if [ "$(nproc)" -ge 2 ]; then
    is "$cpus" "0 1 " "worker_cpu_affinity auto: one CPU per worker"
else
    skip "one CPU: affinity cannot differ" 1
fi
out=$("$(helper tcpclient)" -p "$PORT1" -n 10000 -k)
like "$out" '^id=e1 sent=10000 recv=10000 ' "...and it serves"
fc_stop

done_testing
