# 235-http-upstream: upstream groups through the proxy: round robin,
# weight, least_conn, ip_hash, hash [consistent], backup, down; the
# keep-alive pool (one backend connection for many requests,
# keepalive_requests, keepalive_timeout, no reuse after Connection: close,
# what a burst above `keepalive` leaves open);
# $upstream_* with a retry.
# Failover (proxy_next_upstream, timeouts) is 236-http-upstream-failover.t.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

# A B C: reflect backends (PORT21 22 23); DEAD (PORT24): nothing listens;
# E (PORT25): a reflect of its own for the burst test.
fc_conf ups.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    upstream rr { server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; }
    upstream weighted { server 127.0.0.1:@PORT21@ weight=3; server 127.0.0.1:@PORT22@; }
    upstream lc { least_conn; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; }
    upstream iph { ip_hash; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; server 127.0.0.1:@PORT23@; }
    upstream hsh { hash $arg_k; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; }
    upstream chash { hash $arg_k consistent; server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@; }
    upstream bk { server 127.0.0.1:@PORT21@; server 127.0.0.1:@PORT22@ backup; }
    upstream bkdead { server 127.0.0.1:@PORT24@; server 127.0.0.1:@PORT22@ backup; }
    upstream down { server 127.0.0.1:@PORT21@ down; server 127.0.0.1:@PORT22@; }
    upstream retry { server 127.0.0.1:@PORT24@; server 127.0.0.1:@PORT21@; }
    upstream pool { server 127.0.0.1:@PORT23@; keepalive 4; }
    upstream pool3 { server 127.0.0.1:@PORT23@; keepalive 4; keepalive_requests 3; }
    upstream poolto { server 127.0.0.1:@PORT23@; keepalive 4; keepalive_timeout 1s; }
    upstream poolidle { server 127.0.0.1:@PORT23@; keepalive 4; }
    upstream nopool { server 127.0.0.1:@PORT23@; }
    upstream pool10 { server 127.0.0.1:@PORT23@; keepalive 4; }
    upstream pool2 { server 127.0.0.1:@PORT25@; keepalive 2; }

    server {
        listen 127.0.0.1:@PORT1@;
        location / { proxy_pass http://$arg_g; }
        location /ka/ {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://$arg_g;
        }
        location /vars/ {
            add_header X-UA $upstream_addr always;
            add_header X-US $upstream_status always;
            add_header X-URT $upstream_response_time always;
            add_header X-UCT $upstream_connect_time always;
            proxy_pass http://retry;
        }
    }
}
EOF
A=$PORT21 B=$PORT22 C=$PORT23 DEAD=$PORT24 E=$PORT25
backend_start reflect "$A" -i A
backend_start reflect "$B" -i B
backend_start reflect "$C" -i C
backend_start reflect "$E" -i E
FC_WAIT_PORTS=$PORT1 fc_start ups.conf
ok $? "fulcrum starts" || t_bail "the binary did not start"
U=http://127.0.0.1:$PORT1

# ids GROUP N [QUERY]: the X-Backend of N sequential requests
ids() {
    _i=0
    _out=
    while [ "$_i" -lt "$2" ]; do
        _id=$(curl -q -s --max-time 10 -o /dev/null -w '%header{x-backend}' "$U/?g=$1$3" 2>/dev/null)
        _out="$_out ${_id:--}"
        _i=$((_i + 1))
    done
    echo "${_out# }"
}

# --- balancing methods
is "$(ids rr 6)" "A B A B A B" "round robin"
is "$(ids weighted 8)" "A A B A A A B A" "weight=3: smooth weighted round robin"
seq=$(ids iph 6)
like "$seq" '^(A A A A A A|B B B B B B|C C C C C C)$' "ip_hash: one client address, one server ($seq)"
k1=$(ids hsh 3 '&k=one')
like "$k1" '^(A A A|B B B)$' "hash \$arg_k: one key, one server"
all=
for k in 1 2 3 4 5 6 7 8 9 10 11 12; do all="$all $(ids hsh 1 "&k=$k")"; done
like "$all" 'A' "hash: some keys go to A ($all)"
like "$all" 'B' "hash: some keys go to B"
is "$(ids hsh 1 '&k=one')" "${k1%% *}" "hash: the same key again, the same server"
all=
# 40 keys: the ring's split between the two servers depends on their (random)
# ports, and with 12 keys a lopsided split sent all of them to one server.
k=1
while [ "$k" -le 40 ]; do
    all="$all $(ids chash 1 "&k=$k")"
    k=$((k + 1))
done
like "$all" 'A' "hash consistent: some keys go to A ($all)"
like "$all" 'B' "hash consistent: some keys go to B"
c1=$(ids chash 3 '&k=stable')
like "$c1" '^(A A A|B B B)$' "hash consistent: one key, one server"

# least_conn: while A holds a slow request, the others go to B
curl -q -s --max-time 10 -o "$T/slow.out" "$U/?g=lc&delay_ms=2000" &
t_track $!
wait_for 5 grep -q 'delay_ms=2000' "$(backend_log "$A")"
ok $? "least_conn: the first request went to A"
is "$(ids lc 4)" "B B B B" "least_conn: A is busy, so B gets the next ones"

# --- backup and down
is "$(ids bk 4)" "A A A A" "backup: unused while the primary works"
is "$(ids bkdead 3)" "B B B" "backup: used when the primary is dead"
is "$(ids down 4)" "B B B B" "down: never used"

# --- $upstream_* with a retry (DEAD refuses, then A)
hreq "$U/vars/x"
is "$H_STATUS" 200 "retry: 200 from the second server"
is "$(hhdr X-UA)" "127.0.0.1:$DEAD, 127.0.0.1:$A" "\$upstream_addr: both attempts"
is "$(hhdr X-US)" "502, 200" "\$upstream_status: both attempts"
# the last attempt's time is not known yet when the header is sent ("-")
like "$(hhdr X-URT)" '^[0-9]+\.[0-9]{3}, (-|[0-9]+\.[0-9]{3})$' "\$upstream_response_time: both attempts"
like "$(hhdr X-UCT)" '^(-|[0-9]+\.[0-9]{3}), [0-9]+\.[0-9]{3}$' "\$upstream_connect_time: both attempts"

# --- the keep-alive pool
backend_stop "$C"
backend_start reflect "$C" -i C
hreq -w '%header{x-conn}\n' -o /dev/null "$U/ka/1?g=pool" -o /dev/null "$U/ka/2?g=pool" \
    -o /dev/null "$U/ka/3?g=pool" -o /dev/null "$U/ka/4?g=pool" -o /dev/null "$U/ka/5?g=pool"
is "$(printf '%s\n' "$H_STATUS" | sort -u | wc -l | tr -d ' ')" 1 "keepalive 4: five requests on one backend connection"
i=0
while [ "$i" -lt 5 ]; do
    curl -q -s --max-time 10 -o /dev/null "$U/ka/sep$i?g=pool"
    i=$((i + 1))
done
is "$(backend_count "$C")" 1 "keepalive: ten requests from separate clients, one backend accept"
is "$(backend_count "$C" req)" 10 "...and ten requests"
like "$(tail -n 1 "$(backend_log "$C")")" '^req 1 10 ' "...all on connection 1"
curl -q -s --max-time 10 -o /dev/null "$U/ka/close?g=pool&close=1"
curl -q -s --max-time 10 -o /dev/null "$U/ka/after?g=pool"
is "$(backend_count "$C")" 2 "a response with Connection: close is not pooled"
curl -q -s --max-time 10 -o /dev/null "$U/ka/eof?g=pool&eof=1"
curl -q -s --max-time 10 -o /dev/null "$U/ka/after2?g=pool"
is "$(backend_count "$C")" 3 "a response delimited by close is not pooled"
n=$(backend_count "$C")
for i in 1 2 3 4 5 6 7 8 9; do curl -q -s --max-time 10 -o /dev/null "$U/ka/k3-$i?g=pool3"; done
is "$(($(backend_count "$C") - n))" 3 "keepalive_requests 3: nine requests, three connections"
n=$(backend_count "$C")
for i in 1 2 3 4; do curl -q -s --max-time 10 -o /dev/null "$U/$i?g=nopool"; done
is "$(($(backend_count "$C") - n))" 4 "without keepalive: a connection per request"
n=$(backend_count "$C")
for i in 1 2 3; do curl -q -s --max-time 10 -o /dev/null "$U/nov11/$i?g=pool10"; done
is "$(($(backend_count "$C") - n))" 3 "keepalive with HTTP/1.0 and Connection: close: nothing is kept"

# A burst of 5 concurrent requests through keepalive 2: once it is over,
# the pool keeps the 2 most recently used connections and closes the rest.
_ka_burst_conns() { [ "$(t_conns_to "$E")" -eq "$1" ]; }
n=$(backend_count "$E")
pids=
for i in 1 2 3 4 5; do
    curl -q -s --max-time 10 -o "$T/burst$i" "$U/ka/burst$i?g=pool2&delay_ms=300" &
    pids="$pids $!"
done
wait_for 5 _ka_burst_conns 5
is "$(t_conns_to "$E")" 5 "keepalive 2, a burst of 5: 5 backend connections while it lasts"
wait $pids
is "$(cat "$T"/burst[1-5] | grep -c '^GET /ka/burst')" 5 "...all 5 answered"
wait_for 2 _ka_burst_conns 2
is "$(t_conns_to "$E")" 2 "...then the pool keeps 2 open"
curl -q -s --max-time 10 -o /dev/null "$U/ka/after-burst1?g=pool2"
curl -q -s --max-time 10 -o /dev/null "$U/ka/after-burst2?g=pool2"
is "$(($(backend_count "$E") - n))" 5 "...and the next requests reuse them"

# keepalive_timeout 1s: a pooled connection idle for 2 s is not reused
xconn() { curl -q -s --max-time 10 -o /dev/null -w '%header{x-conn}' "$U/ka/$1"; }
to1=$(xconn 'to1?g=poolto')
id1=$(xconn 'id1?g=poolidle')
sleep 2 # the idle time under test
to2=$(xconn 'to2?g=poolto')
id2=$(xconn 'id2?g=poolidle')
isnt "$to2" "$to1" "upstream keepalive_timeout 1s: a new connection after 2 s idle"
is "$id2" "$id1" "default upstream keepalive_timeout (60s): the same connection"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing
