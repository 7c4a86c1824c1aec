# 120-stream-udp: the UDP proxy: replies reach the client, a client's
# datagrams stick to one upstream, clients are balanced, proxy_responses
# ends a session after N replies (0: none expected), proxy_timeout ends idle
# sessions, all visible in the access log ($status, $bytes_received, ...).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

UC=$(helper udpclient)

log_lines() {
    if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}
_log_ge() { [ "$(log_lines "$1")" -ge "$2" ]; }
_log_has() { grep -Eq -- "$2" "$1" 2>/dev/null; }

# reply_id "A:x": the backend id of a reply
first_ids() {
    printf '%s\n' "$1" | sed -n 's/^\([^:]*\):.*/\1/p' | tr '\n' ' ' | sed 's/ $//'
}

# A B C answer once; D answers twice; E never answers; F answers once.
fc_conf udp.conf <<'EOF'
@PRELUDE@
stream {
    log_format u '$server_port $protocol $status $bytes_received $bytes_sent $session_time $upstream_addr';
    access_log @T@/access.log u;

    upstream u3 {
        server 127.0.0.1:@PORT21@;
        server 127.0.0.1:@PORT22@;
        server 127.0.0.1:@PORT23@;
    }
    server { listen 127.0.0.1:@PORT1@ udp; proxy_pass u3; proxy_timeout 1s; }
    server { listen 127.0.0.1:@PORT2@ udp; proxy_pass 127.0.0.1:@PORT24@; proxy_responses 1; }
    server {
        listen 127.0.0.1:@PORT3@ udp;
        proxy_pass 127.0.0.1:@PORT25@;
        proxy_responses 1;
        proxy_timeout 1s;
    }
    server { listen 127.0.0.1:@PORT4@ udp; proxy_pass 127.0.0.1:@PORT26@; proxy_responses 0; }
    server { listen 127.0.0.1:@PORT5@ udp; proxy_pass 127.0.0.1:@PORT26@; proxy_timeout 1s; }
    server { listen 127.0.0.1:@PORT6@ udp; proxy_pass 127.0.0.1:@PORT26@; proxy_responses 1; }
    # proxy_requests 1: each datagram of one client is a session of its own
    server {
        listen 127.0.0.1:@PORT8@ udp;
        proxy_pass 127.0.0.1:@PORT26@;
        proxy_requests 1;
        proxy_responses 1;
    }
    # a dead UDP peer (nothing on PORT27: ICMP refused) before a live one
    upstream udead {
        server 127.0.0.1:@PORT27@;
        server 127.0.0.1:@PORT26@;
    }
    server {
        listen 127.0.0.1:@PORT9@ udp;
        proxy_pass udead;
        proxy_responses 1;
        proxy_timeout 1s;
    }
    # a wildcard UDP listener: $server_addr is where the datagram was sent (IP_PKTINFO)
    log_format wild '$server_addr:$server_port';
    server {
        listen @PORT7@ udp;
        proxy_pass 127.0.0.1:@PORT26@;
        proxy_responses 1;
        access_log @T@/wild.log wild;
    }
}
EOF
backend_start udp_echo "$PORT21" -i A
backend_start udp_echo "$PORT22" -i B
backend_start udp_echo "$PORT23" -i C
backend_start udp_echo "$PORT24" -i D -n 2
backend_start udp_echo "$PORT25" -i E -n 0
backend_start udp_echo "$PORT26" -i F
FC_WAIT_PORTS= fc_start udp.conf
ok $? "fulcrum starts"
wait_udp "$PORT1" && wait_udp "$PORT5"
ok $? "UDP listeners bound"
ALOG=$T/access.log
workers0=$(fc_workers | sort | tr '\n' ' ')

# ---------------------------------------------------------------- replies
out=$("$UC" -p "$PORT1" -t 2000 ping)
ok $? "a datagram through the proxy gets its reply"
like "$out" '^[ABC]:ping$' "the reply is the backend's echo"

# ---------------------------------------------------------------- stickiness
out=$("$UC" -p "$PORT1" -t 2000 m1 m2 m3 m4 m5)
ok $? "5 datagrams from one client: 5 replies"
is "$(printf '%s\n' "$out" | grep -c '^[ABC]:m[1-5]$')" 5 "every reply is an echo"
sticky=$(first_ids "$out" | tr ' ' '\n' | sort -u | tr -d '\n')
is "$(printf '%s' "$sticky" | wc -c | tr -d ' ')" 1 "one client's datagrams stick to one upstream ($sticky)"

# big datagram passes intact
big=$(head -c 8000 /dev/zero | tr '\0' 'x')
out=$("$UC" -p "$PORT1" -t 2000 "$big")
ok $? "an 8000-byte datagram gets its reply"
is "${#out}" 8002 "8000 bytes relayed intact both ways (plus the id prefix)"

# ---------------------------------------------------------------- round robin
seq=
for i in 1 2 3 4 5 6; do
    out=$("$UC" -p "$PORT1" -t 2000 "rr$i")
    seq="$seq $(first_ids "$out")"
done
seq=${seq# }
set -- $seq
is "$#" 6 "6 clients (distinct source ports) all answered ($seq)"
is "$(printf '%s\n' "$1" "$2" "$3" | sort -u | wc -l | tr -d ' ')" 3 "round robin: 3 consecutive clients hit 3 backends ($seq)"
is "$4 $5 $6" "$1 $2 $3" "round robin: the rotation repeats"

# ---------------------------------------------------------------- proxy_timeout
# The 5-datagram session above ends after 1s of silence: 10 bytes in, 5
# replies of "X:mN" (4 bytes) out.
wait_for 5 _log_has "$ALOG" "^$PORT1 UDP 200 10 20 "
ok $? "proxy_timeout ended the idle session: logged with status 200, bytes 10 in / 20 out"
line=$(grep -E "^$PORT1 UDP 200 10 20 " "$ALOG" | head -n 1)
st=$(echo "$line" | awk '{ print $6 }')
ok "$(echo "$st" | awk '{ print ($1 >= 0.9 && $1 < 4) ? 0 : 1 }')" "the session lasted about proxy_timeout ($st s)"
like "$line" " 127\.0\.0\.1:($PORT21|$PORT22|$PORT23)\$" "\$upstream_addr is the backend"

# a session that stays busy is not cut: 3 rounds 600 ms apart (< 1s timeout)
# from one client would need one socket; udpclient sends all at once, so
# check instead that every one of the 6 rr sessions was logged separately
wait_for 5 _log_ge "$ALOG" 9
n=$(grep -cE "^$PORT1 UDP 200 3 5 " "$ALOG")
is "$n" 6 "each client is its own session (6 x 3 bytes in, 5 out)"

# ---------------------------------------------------------------- proxy_responses
# proxy_responses is "a hint for session termination" (nginx docs): the
# session ends once the expected reply came, long before the default 10m
# proxy_timeout.  (A second reply arriving in the same instant may still
# be relayed, as nginx does, so only the first one is asserted.)
n0=$(log_lines "$ALOG")
out=$("$UC" -p "$PORT2" -r 1 -t 2000 hi)
ok $? "proxy_responses 1: the reply arrives"
is "$(printf '%s\n' "$out" | head -n 1)" "D:hi" "proxy_responses 1: it is the backend's echo"
wait_for 3 _log_has "$ALOG" "^$PORT2 "
ok $? "proxy_responses 1: the session ended on the reply, not on proxy_timeout (10m)"
line=$(grep "^$PORT2 " "$ALOG" | tail -n 1)
like "$line" "^$PORT2 UDP 200 2 (4|8) " "proxy_responses 1: session logged 200, 2 bytes in, 4 (or 8) out"

# proxy_responses counts per client datagram: 2 datagrams expect 2 replies
n0=$(log_lines "$ALOG")
out=$("$UC" -p "$PORT6" -t 2000 one two)
ok $? "proxy_responses 1, 2 datagrams in one session: both replies relayed"
is "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" "F:one F:two " "both echoes"

n0=$(log_lines "$ALOG")
out=$("$UC" -p "$PORT3" -t 500 silent)
is "$?" 2 "silent backend: no reply"
is "$(backend_count "$PORT25" dgram)" 1 "silent backend got the datagram"
wait_for 5 _log_has "$ALOG" "^$PORT3 "
line=$(grep "^$PORT3 " "$ALOG" | tail -n 1)
like "$line" "^$PORT3 UDP 502 6 0 " "proxy_responses 1 unmet at proxy_timeout: status 502 (nginx)"
like "$(grep "server: 127.0.0.1:$PORT3" "$T/error.log")" '\[error\].*upstream timed out' \
    "proxy_responses 1 unmet: error.log says upstream timed out"
st=$(echo "$line" | awk '{ print $6 }')
ok "$(echo "$st" | awk '{ print ($1 >= 0.9 && $1 < 4) ? 0 : 1 }')" "...after proxy_timeout ($st s)"

n0=$(log_lines "$ALOG")
f0=$(backend_count "$PORT26" dgram)
out=$("$UC" -p "$PORT4" -t 500 fire)
is "$?" 2 "proxy_responses 0: no reply relayed"
backend_wait_count "$PORT26" $((f0 + 1)) dgram 3
ok $? "proxy_responses 0: the datagram reached the backend"
wait_for 3 _log_has "$ALOG" "^$PORT4 "
line=$(grep "^$PORT4 " "$ALOG" | tail -n 1)
like "$line" "^$PORT4 UDP 200 4 0 " "proxy_responses 0: session logged 200 at once, 4 bytes in, 0 out"
st=$(echo "$line" | awk '{ print $6 }')
ok "$(echo "$st" | awk '{ print ($1 < 0.5) ? 0 : 1 }')" "proxy_responses 0: no waiting ($st s)"

# without proxy_responses, replies keep flowing until the timeout
out=$("$UC" -p "$PORT5" -t 2000 a b c)
ok $? "no proxy_responses: every reply of a session relayed"
is "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" "F:a F:b F:c " "three replies"

out=$("$UC" -p "$PORT8" -t 2000 r1 r2 r3)
is "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" "F:r1 F:r2 F:r3 " "proxy_requests 1: every datagram answered"
wait_for 3 sh -c "[ \$(grep -c '^$PORT8 UDP 200 2 4 ' '$ALOG') -ge 3 ]"
is "$(grep -c "^$PORT8 UDP 200 2 4 " "$ALOG")" 3 "...each one a session of its own (3 logged, 2 bytes in, 4 out)"

out=$("$UC" -p "$PORT7" -t 2000 w)
like "$out" '^F:w$' "a wildcard UDP listener relays"
wait_for 3 _log_has "$T/wild.log" "^127"
is "$(tail -n 1 "$T/wild.log")" "127.0.0.1:$PORT7" "...and logs \$server_addr as the datagram's destination, not 0.0.0.0"
out=$("$UC" -a 127.0.0.2 -p "$PORT7" -t 2000 w2)
like "$out" '^F:w2$' "a client that wrote to 127.0.0.2 gets its reply from 127.0.0.2 (IP_PKTINFO), as nginx"
wait_for 3 _log_has "$T/wild.log" "^127\.0\.0\.2"
is "$(tail -n 1 "$T/wild.log")" "127.0.0.2:$PORT7" "...and \$server_addr is 127.0.0.2"

# ---------------------------------------------------------------- max_fails
# As nginx: a UDP session whose upstream refused (ICMP) or fell short of its
# replies counts against the peer, so max_fails=1 disables it and the next
# sessions go to the live peer instead of alternating with the dead one.
got=
for i in 1 2 3 4; do
    out=$("$UC" -p "$PORT9" -t 700 "d$i")
    got="$got ${out%%:*}"
done
is "$got" "  F F F" "a dead UDP peer fails once, then the sessions go to the live one (got '$got')"
like "$(cat "$T/error.log")" "upstream server temporarily disabled.*127\.0\.0\.1:$PORT27" \
    "...and it is logged as temporarily disabled"
like "$(cat "$T/error.log")" "recv\(\) failed \(111: Connection refused\).*, udp client: 127\.0\.0\.1, server: 127\.0\.0\.1:$PORT9" \
    "a UDP session's error names its \"udp client\", as nginx"

is "$(fc_workers | sort | tr '\n' ' ')" "$workers0" "worker pids unchanged"
unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing
