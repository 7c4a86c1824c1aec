# 140-stream-unix: unix-socket listeners and upstreams. SO_REUSEPORT does not
# apply to unix sockets, so every worker slot shares one socket; the master
# removes the socket file when it exits, so a restart can bind it again.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

SOCK=$T/fc.sock
fc_conf unix.conf <<'EOF2'
daemon off;
master_process on;
worker_processes 2;
pid @T@/fulcrum.pid;
error_log @T@/error.log info;
events { }
stream {
    server { listen unix:@T@/fc.sock; return "via unix\n"; }
    server { listen 127.0.0.1:@PORT1@; proxy_pass unix:@T@/fc.sock; }
}
EOF2

for round in 1 2; do
    FC_WAIT_PORTS="$PORT1" fc_start unix.conf
    ok $? "round $round: fulcrum starts with a unix listener and 2 workers"
    is "$(fc_workers | wc -l | tr -d ' ')" 2 "round $round: 2 workers"
    got=""
    for i in 1 2 3 4; do
        got="$got$(curl -s --max-time 3 "telnet://127.0.0.1:$PORT1" </dev/null)"
    done
    is "$got" "via unixvia unixvia unixvia unix" "round $round: TCP -> unix upstream, 4 of 4"
    fc_stop
    is $? 0 "round $round: graceful stop exits 0"
    [ ! -e "$SOCK" ]
    ok $? "round $round: the socket file is removed at exit"
done

unlike "$(cat "$T/error.log")" '\[(emerg|alert|crit)\]' "no emerg/alert/crit in error.log"
done_testing
