# 110-stream-balancing: the balancer seen from outside: round robin, weights
# (nginx's smooth order), least_conn, hash, hash consistent, random, backup,
# down, failover with a dead port and passive health (max_fails,
# fail_timeout), all peers dead, proxy_next_upstream off and _tries.
# One worker, so every sequence is deterministic.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

TC=$(helper tcpclient)
RAW=$(helper rawhttp)

# ids PORT N: N sequential sessions, each reads the backend's greeting and
# one echoed byte, then closes (no half-close, so the sequence does not
# depend on proxy_half_close); prints the ids space-separated ("-" for a
# session that got no greeting). Each waits for the previous session's
# access log line: the proxy logs after releasing the peer, so a loaded
# machine cannot let the next session see the last one still counted.
ids() {
    _i=0
    _out=
    while [ "$_i" -lt "$2" ]; do
        _logged=$(log_lines "$T/access.log")
        _id=$("$TC" -p "$1" -n 1 -E -k -T 3000 2>/dev/null | sed -n 's/^id=\([^ ]*\) .*/\1/p')
        wait_for 5 _log_ge "$T/access.log" $((_logged + 1))
        _out="$_out ${_id:--}"
        _i=$((_i + 1))
    done
    echo "${_out# }"
}

# tally "IDS": "A=n B=n C=n -=n" counts, only for ids present
tally() {
    echo "$1" | tr ' ' '\n' | sort | uniq -c | awk '{ printf "%s%s=%s", sep, $2, $1; sep = " " }'
}

_ab_ge() { [ $(($(backend_count "$PORT21") + $(backend_count "$PORT22"))) -ge "$1" ]; }

distinct() {
    echo "$1" | tr ' ' '\n' | sort -u | grep -c .
}

# refused DEADPORT: error.log lines for a refused connect to that port
refused() {
    grep -E 'connect\(\)( to [0-9.:]+)? failed \(111: Connection refused\)' "$T/error.log" |
        grep -c "upstream: \"127\.0\.0\.1:$1\""
}

log_lines() {
    if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}
_log_ge() { [ "$(log_lines "$1")" -ge "$2" ]; }

# A=21 B=22 C=23 are echo backends greeting with their letter; 31.. are
# ports where nothing listens (connection refused).
fc_conf bal.conf <<'EOF'
@PRELUDE@
stream {
    log_format bal '$server_port $status $upstream_addr';
    access_log @T@/access.log bal;

    upstream rr    { server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; server 127.0.0.1:@PORT23@; }
    upstream wrr   {
        server 127.0.0.1:@PORT21@ weight=5;
        server 127.0.0.1:@PORT22@ weight=1;
        server 127.0.0.1:@PORT23@ weight=1;
    }
    upstream lc    { least_conn; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; }
    upstream haddr { hash $remote_addr; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; server 127.0.0.1:@PORT23@; }
    upstream hport { hash $remote_port consistent; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; server 127.0.0.1:@PORT23@; }
    upstream rnd   { random; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; server 127.0.0.1:@PORT23@; }
    upstream rnd2  { random two least_conn; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; server 127.0.0.1:@PORT23@; }
    upstream bk    { server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; server 127.0.0.1:@PORT23@ backup; }
    upstream bkdead {
        server 127.0.0.1:@PORT31@;
        server 127.0.0.1:@PORT32@;
        server 127.0.0.1:@PORT23@ backup;
    }
    upstream dn    { server 127.0.0.1:@PORT21@ down; server 127.0.0.1:@PORT22@; server 127.0.0.1:@PORT23@; }
    upstream fo1   { server 127.0.0.1:@PORT33@; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; }
    upstream fo3   {
        server 127.0.0.1:@PORT34@ max_fails=3 fail_timeout=60s;
        server 127.0.0.1:@PORT21@;
        server 127.0.0.1:@PORT22@;
    }
    upstream fo0   { server 127.0.0.1:@PORT35@ max_fails=0; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; }
    upstream dead  { server 127.0.0.1:@PORT36@; server 127.0.0.1:@PORT37@; }
    upstream nx    { server 127.0.0.1:@PORT38@; server 127.0.0.1:@PORT21@; }
    upstream nt1   { server 127.0.0.1:@PORT39@; server 127.0.0.1:@PORT21@; }
    upstream nt2   {
        server 127.0.0.1:@PORT40@;
        server 127.0.0.1:@PORT41@;
        server 127.0.0.1:@PORT21@;
    }

    server { listen 127.0.0.1:@PORT1@;  proxy_pass rr; }
    server { listen 127.0.0.1:@PORT2@;  proxy_pass wrr; }
    server { listen 127.0.0.1:@PORT3@;  proxy_pass lc; }
    server { listen 127.0.0.1:@PORT4@;  proxy_pass haddr; }
    server { listen 127.0.0.1:@PORT5@;  proxy_pass hport; }
    server { listen 127.0.0.1:@PORT6@;  proxy_pass rnd; }
    server { listen 127.0.0.1:@PORT7@;  proxy_pass rnd2; }
    server { listen 127.0.0.1:@PORT8@;  proxy_pass bk; }
    server { listen 127.0.0.1:@PORT9@;  proxy_pass bkdead; }
    server { listen 127.0.0.1:@PORT10@; proxy_pass dn; }
    server { listen 127.0.0.1:@PORT11@; proxy_pass fo1; }
    server { listen 127.0.0.1:@PORT12@; proxy_pass fo3; }
    server { listen 127.0.0.1:@PORT13@; proxy_pass fo0; }
    log_format deadv '$upstream_addr|$upstream_bytes_sent|$upstream_bytes_received|$upstream_session_time|$upstream_connect_time';
    server {
        listen 127.0.0.1:@PORT14@;
        proxy_pass dead;
        access_log @T@/access.log bal;
        access_log @T@/dead.log deadv;
    }
    server { listen 127.0.0.1:@PORT15@; proxy_pass nx; proxy_next_upstream off; }
    server { listen 127.0.0.1:@PORT16@; proxy_pass nt1; proxy_next_upstream_tries 1; }
    server { listen 127.0.0.1:@PORT17@; proxy_pass nt2; proxy_next_upstream_tries 2; }
}
EOF
backend_start echo "$PORT21" -i A
backend_start echo "$PORT22" -i B
backend_start echo "$PORT23" -i C
FC_WAIT_PORTS="$PORT1 $PORT17" fc_start bal.conf
ok $? "fulcrum starts"
ALOG=$T/access.log

# ---------------------------------------------------------------- round robin
is "$(ids "$PORT1" 6)" "A B C A B C" "round robin: A B C A B C"

# ---------------------------------------------------------------- weights
seq=$(ids "$PORT2" 70)
is "$(echo "$seq" | cut -d' ' -f1-7)" "A A B A C A A" "weight=5/1/1: nginx's smooth order a a b a c a a"
is "$(tally "$seq")" "A=50 B=10 C=10" "weight=5/1/1 over 70 sessions: exactly 50:10:10"
is "$(echo "$seq" | cut -d' ' -f8-14)" "A A B A C A A" "the smooth order repeats every 7"

# ---------------------------------------------------------------- least_conn
a0=$(backend_count "$PORT21")
b0=$(backend_count "$PORT22")
mkfifo "$T/hold.in"
"$TC" -p "$PORT3" -H 1 -S <"$T/hold.in" >"$T/hold.out" 2>&1 &
hpid=$!
t_track "$hpid"
exec 3>"$T/hold.in"
wait_for 5 _ab_ge $((a0 + b0 + 1))
ok $? "least_conn: the held session reached a backend"
if [ "$(backend_count "$PORT21")" -gt "$a0" ]; then held=A free=B; else held=B free=A; fi
seq=$(ids "$PORT3" 6)
is "$seq" "$free $free $free $free $free $free" "least_conn: with one session held on $held, new ones go to $free"
"$TC" -p "$PORT3" -H 2 -S <"$T/hold.in" >"$T/hold2.out" 2>&1 3>&- &
h2pid=$!
t_track "$h2pid"
wait_for 5 grep -q '^held=2' "$T/hold2.out"
# now $held has 1 + x and $free has 2 - x held: together 3 held sessions,
# spread 2/1 or 1/2 by least_conn (never 3/0)
seq=$(ids "$PORT3" 4)
is "$(distinct "$seq")" 1 "least_conn: with 2 vs 1 held, short sessions all go to the less loaded one"
exec 3>&-
wait "$hpid" "$h2pid"

# ---------------------------------------------------------------- hash
seq=$(ids "$PORT4" 12)
is "$(distinct "$seq")" 1 "hash \$remote_addr: every session from 127.0.0.1 on one backend ($(tally "$seq"))"
unlike "$seq" '-' "hash \$remote_addr: every session served"

seq=$(ids "$PORT5" 40)
unlike "$seq" '-' "hash \$remote_port consistent: every session served"
ok "$([ "$(distinct "$seq")" -ge 2 ] && echo 0 || echo 1)" "hash \$remote_port consistent: client ports spread ($(tally "$seq"))"

# ---------------------------------------------------------------- random
seq=$(ids "$PORT6" 40)
is "$(distinct "$seq")" 3 "random: 40 sessions hit all 3 backends ($(tally "$seq"))"
seq=$(ids "$PORT7" 40)
ok "$([ "$(distinct "$seq")" -ge 2 ] && echo 0 || echo 1)" "random two least_conn: spreads ($(tally "$seq"))"
unlike "$seq" '-' "random two least_conn: every session served"

# ---------------------------------------------------------------- backup, down
seq=$(ids "$PORT8" 8)
unlike "$seq" 'C' "backup: not used while the primaries are up ($(tally "$seq"))"
is "$(distinct "$seq")" 2 "backup: both primaries used"
seq=$(ids "$PORT9" 4)
is "$seq" "C C C C" "backup: used when every primary is down (dead ports)"

seq=$(ids "$PORT10" 8)
unlike "$seq" 'A' "down: a server marked down is never used"
is "$seq" "B C B C B C B C" "down: the others take turns"

# ---------------------------------------------------------------- failover
seq=$(ids "$PORT11" 9)
unlike "$seq" '-' "failover: a dead first server does not fail any client ($seq)"
like "$(cat "$T/error.log")" 'connect\(\)( to [0-9.:]+)? failed \(111: Connection refused\)' \
    "failover: error.log has connect() failed (111: Connection refused)"
is "$(refused "$PORT33")" 1 "failover: default max_fails=1 fail_timeout=10s: the dead peer is tried once, then skipped"
like "$(cat "$ALOG")" "^$PORT11 200 127\.0\.0\.1:$PORT33, 127\.0\.0\.1:$PORT21\$" \
    "failover: access log shows the refused peer, then the next one"

seq=$(ids "$PORT12" 24)
unlike "$seq" '-' "max_fails=3: every client served"
is "$(refused "$PORT34")" 3 "max_fails=3: the dead peer is tried 3 times, then skipped for fail_timeout"

seq=$(ids "$PORT13" 12)
unlike "$seq" '-' "max_fails=0: every client served"
ok "$([ "$(refused "$PORT35")" -ge 3 ] && echo 0 || echo 1)" \
    "max_fails=0: the dead peer is never marked down ($(refused "$PORT35") refusals in 12 sessions)"

# ---------------------------------------------------------------- all dead
n0=$(log_lines "$ALOG")
out=$("$RAW" -p "$PORT14" -t 3000 </dev/null)
is "$?" 0 "all peers dead: client connection closed (no hang)"
is "$out" "" "all peers dead: nothing sent to the client"
out=$("$RAW" -p "$PORT14" -t 3000 </dev/null)
is "$?" 0 "all peers dead and marked down: client connection closed"
wait_for 5 _log_ge "$ALOG" $((n0 + 2))
is "$(grep -c "^$PORT14 502 " "$ALOG")" 2 "all peers dead: status 502 in the access log"
like "$(grep "^$PORT14 502 " "$ALOG" | head -n 1)" "127\.0\.0\.1:$PORT36, 127\.0\.0\.1:$PORT37" \
    "all peers dead: both peers tried"
like "$(cat "$T/error.log")" 'no live upstreams' "all peers marked down: error.log says no live upstreams"
is "$(grep "^$PORT14 502 " "$ALOG" | sed -n 2p)" "$PORT14 502 dead" \
    "no live upstreams: \$upstream_addr is the group's name (nginx)"
is "$(sed -n 2p "$T/dead.log")" "dead|0|0|0.000|-" \
    "no live upstreams: byte counts 0 and session time 0.000, not '-' (nginx)"
is "$(grep -c "connect() failed (111: Connection refused) .*upstream: \"127\.0\.0\.1:$PORT37\"," "$T/error.log")" 1 \
    "the second try's error names its own peer only, as nginx"

# ---------------------------------------------------------------- next upstream
a0=$(backend_count "$PORT21")
n0=$(log_lines "$ALOG")
out=$("$TC" -p "$PORT15" -n 0 -k -T 3000)
like "$out" '^id= ' "proxy_next_upstream off: no greeting (no retry)"
wait_for 5 _log_ge "$ALOG" $((n0 + 1))
like "$(grep "^$PORT15 " "$ALOG" | head -n 1)" "^$PORT15 502 127\.0\.0\.1:$PORT38\$" \
    "proxy_next_upstream off: 502 after the one refused peer"
is "$(backend_count "$PORT21")" "$a0" "proxy_next_upstream off: the live peer was not tried"
is "$(ids "$PORT15" 1)" "A" "proxy_next_upstream off: the next session goes to the live peer"

n0=$(log_lines "$ALOG")
out=$("$TC" -p "$PORT16" -n 0 -k -T 3000)
like "$out" '^id= ' "proxy_next_upstream_tries 1: no retry"
wait_for 5 _log_ge "$ALOG" $((n0 + 1))
like "$(grep "^$PORT16 " "$ALOG" | head -n 1)" "^$PORT16 502 127\.0\.0\.1:$PORT39\$" \
    "proxy_next_upstream_tries 1: 502 after one try"

n0=$(log_lines "$ALOG")
out=$("$TC" -p "$PORT17" -n 0 -k -T 3000)
like "$out" '^id= ' "proxy_next_upstream_tries 2: two dead peers exhaust the tries"
wait_for 5 _log_ge "$ALOG" $((n0 + 1))
like "$(grep "^$PORT17 " "$ALOG" | head -n 1)" "^$PORT17 502 127\.0\.0\.1:$PORT40, 127\.0\.0\.1:$PORT41\$" \
    "proxy_next_upstream_tries 2: 502 after exactly two tries"
is "$(ids "$PORT17" 1)" "A" "proxy_next_upstream_tries 2: the live peer serves the next session"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing
