# 100-stream-relay: TCP relay integrity through the L4 proxy: bulk both ways,
# parallel clients, half-close (on by default here, nginx's behaviour with
# proxy_half_close off), upstreams and clients that go away early,
# proxy_timeout and proxy_connect_timeout with failover.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

TC=$(helper tcpclient)
RAW=$(helper rawhttp)

# sum_ok OUT: every tcpclient line has sent_sum == recv_sum and sent == recv
sums_bad() {
    printf '%s\n' "$1" | awk '{
        s = ""; r = ""; n = ""; m = ""
        for (i = 1; i <= NF; i++) {
            split($i, kv, "=")
            if (kv[1] == "sent_sum") s = kv[2]
            if (kv[1] == "recv_sum") r = kv[2]
            if (kv[1] == "sent") n = kv[2]
            if (kv[1] == "recv") m = kv[2]
        }
        if (s == "" || s != r || n != m) print
    }'
}

# access-log line count for a file
log_lines() {
    if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}
_log_ge() { [ "$(log_lines "$1")" -ge "$2" ]; }
log_wait() { # FILE N [SECS]
    wait_for "${3:-10}" _log_ge "$1" "$2"
}

# ---------------------------------------------------------------- config
# PORT1: default (half-close on) -> echo PORT10
# PORT2: proxy_half_close off -> echo PORT10
# PORT3: -> upstream closing right after accept (fail -m close)
# PORT4: -> upstream reading a little then closing (fail -m read -a)
# PORT5: proxy_timeout 1s -> echo PORT10
# PORT6: proxy_connect_timeout 500ms, [slow -N PORT12, echo PORT11]
# PORT7: -> upstream answering after 200 ms then closing (slow -d)
# PORT8 (half_close off) / PORT9 (default): -> upstream answering only after 1.5 s
fc_conf relay.conf <<'EOF'
@PRELUDE@
stream {
    log_format relay '$server_port $status $bytes_received $bytes_sent $session_time $upstream_addr';
    access_log @T@/access.log relay;

    upstream blackhole {
        server 127.0.0.1:@PORT12@;
        server 127.0.0.1:@PORT11@;
    }
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT10@; }
    server { listen 127.0.0.1:@PORT2@; proxy_pass 127.0.0.1:@PORT10@; proxy_half_close off; }
    server { listen 127.0.0.1:@PORT3@; proxy_pass 127.0.0.1:@PORT13@; }
    server { listen 127.0.0.1:@PORT4@; proxy_pass 127.0.0.1:@PORT14@; }
    server { listen 127.0.0.1:@PORT5@; proxy_pass 127.0.0.1:@PORT10@; proxy_timeout 1s; }
    server {
        listen 127.0.0.1:@PORT6@;
        proxy_pass blackhole;
        proxy_connect_timeout 500ms;
    }
    server { listen 127.0.0.1:@PORT7@; proxy_pass 127.0.0.1:@PORT15@; proxy_half_close off; }
    server { listen 127.0.0.1:@PORT8@; proxy_pass 127.0.0.1:@PORT16@; proxy_half_close off; }
    server { listen 127.0.0.1:@PORT9@; proxy_pass 127.0.0.1:@PORT16@; }
    server { listen 127.0.0.1:@PORT17@; proxy_pass 127.0.0.1:@PORT18@; proxy_bind 127.0.0.2; }
}
EOF
backend_start echo "$PORT10" -i e10
backend_start echo "$PORT11" -i e11
backend_start slow "$PORT12" -N
backend_start fail "$PORT13" -m close
backend_start fail "$PORT14" -m read -a
backend_start slow "$PORT15" -d 200 -b 'bye\n'
backend_start slow "$PORT16" -d 1500 -b 'late\n'
backend_start echo "$PORT18" -i e18
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5 $PORT6 $PORT7 $PORT8 $PORT9 $PORT17" fc_start relay.conf
ok $? "fulcrum starts"
workers0=$(fc_workers | sort | tr '\n' ' ')
isnt "$workers0" "" "a worker is running"
ALOG=$T/access.log

# ---------------------------------------------------------------- bulk
out=$("$TC" -p "$PORT1" -n 4194304 -s 7 -k)
ok $? "4 MB relay ends cleanly"
like "$out" '^id=e10 sent=4194304 recv=4194304 ' "4 MB sent and 4 MB echoed back"
is "$(sums_bad "$out")" "" "4 MB checksum equal both ways"

out=$("$TC" -p "$PORT1" -n 4194304 -s 9 -E -k)
ok $? "4 MB without half-close (client closes once all came back)"
is "$(sums_bad "$out")" "" "4 MB checksum equal (no half-close)"

out=$("$TC" -p "$PORT1" -n 1048576 -P 8 -s 100 -k)
ok $? "8 parallel 1 MB relays end cleanly"
is "$(printf '%s\n' "$out" | grep -c 'sent=1048576 recv=1048576 ')" 8 "8 parallel clients each got 1 MB back"
is "$(sums_bad "$out")" "" "8 parallel checksums equal"

out=$("$TC" -p "$PORT1" -n 1 -k)
is "$(sums_bad "$out")" "" "a 1-byte session relays"
like "$out" 'sent=1 recv=1 ' "1 byte in, 1 byte out"

# ---------------------------------------------------------------- half-close
# The client shuts down its write side at once (no bytes): the echo backend
# must see that FIN through the proxy, send its greeting and close.
out=$("$TC" -p "$PORT1" -n 0 -k -T 3000)
ok $? "client half-close with no data: backend's FIN comes back (no timeout)"
like "$out" '^id=e10 sent=0 recv=0 ' "greeting arrives after the client's FIN"

# A 2 MB stream: when the client's FIN reaches the proxy most of the echo is
# still in flight; with half-close passed on, all of it must still arrive.
out=$("$TC" -p "$PORT1" -n 2097152 -s 3 -k -T 5000)
ok $? "half-close: session stays open until the backend finished echoing"
like "$out" 'sent=2097152 recv=2097152 ' "half-close: every echoed byte reaches the client"
n0=$(log_lines "$ALOG")

# proxy_half_close off (nginx): the client's FIN ends the session once its
# bytes are delivered; the echo still in flight is lost, the client sees EOF.
out=$("$TC" -p "$PORT2" -n 1048576 -s 4 -k -T 5000)
like "$out" 'sent=1048576 ' "half_close off: the client sent everything"
unlike "$out" 'error=timeout' "half_close off: the client got EOF promptly, not a timeout"
log_wait "$ALOG" $((n0 + 1))
like "$(tail -n 1 "$ALOG")" "^$PORT2 200 1048576 " "half_close off: logged 200 with all client bytes received"

# Deterministic contrast: an upstream that answers only 1.5 s after the
# client's FIN. With half_close off the session ends at that FIN, so the
# answer is lost; with it on, the answer still arrives.
out=$("$TC" -p "$PORT8" -n 1000 -T 5000)
like "$out" 'sent=1000 recv=0 ' "half_close off: session ends at the client's FIN, late answer lost"
out=$("$TC" -p "$PORT9" -n 1000 -T 5000)
like "$out" 'sent=1000 recv=5 ' "half_close on: the late answer still reaches the client"

# ...and without a client FIN it relays like before.
out=$("$TC" -p "$PORT2" -n 1048576 -s 5 -E -k)
ok $? "half_close off: full echo when the client does not half-close"
is "$(sums_bad "$out")" "" "half_close off: checksum equal"

# half_close off: the upstream's EOF ends the session; the client gets the
# upstream's bytes, then EOF, while its own side is still open.
out=$(printf 'hello' | "$RAW" -p "$PORT7" -t 3000)
is "$?" 0 "half_close off: upstream's close closes the client"
is "$out" "bye" "half_close off: client got the upstream's answer first"

# ---------------------------------------------------------------- early ends
# An upstream that closes right after accept: the client sees EOF promptly.
out=$(printf 'x' | "$RAW" -p "$PORT3" -t 3000)
is "$?" 0 "upstream closing at once: client connection closed (no hang)"
is "$out" "" "upstream closing at once: nothing relayed"
backend_wait_count "$PORT13" 1

# An upstream that closes while the client is streaming 4 MB at it.
out=$("$TC" -p "$PORT4" -n 4194304 -T 5000)
unlike "$out" 'error=timeout' "upstream closing mid-stream: client ends without a timeout"
unlike "$out" 'recv=4194304' "upstream closing mid-stream: no echo invented"
backend_wait_count "$PORT14" 1

# A client that disappears (SIGKILL, so its socket is reset) mid-stream.
n0=$(backend_count "$PORT10")
"$TC" -p "$PORT1" -n 1073741824 -k -T 20000 >/dev/null 2>&1 &
kpid=$!
t_track "$kpid"
backend_wait_count "$PORT10" $((n0 + 1))
la=$(log_lines "$ALOG")
# let bytes move before the kill: the backend has logged the connection
kill -KILL "$kpid"
wait "$kpid" 2>/dev/null
log_wait "$ALOG" $((la + 1)) 5
ok $? "client killed mid-stream: the session ends and is logged"
out=$("$TC" -p "$PORT1" -n 100000 -k)
ok $? "a new session works after the client vanished"

# Many clients that connect, send a little and close at once.
out=$("$TC" -p "$PORT1" -n 10 -P 50 -k)
ok $? "50 short sessions at once"
is "$(fc_workers | sort | tr '\n' ' ')" "$workers0" "worker pids unchanged (no crash)"

# ---------------------------------------------------------------- proxy_timeout
# An idle session on a proxy_timeout 1s server is closed by the proxy.
la=$(log_lines "$ALOG")
mkfifo "$T/hold.in"
"$TC" -p "$PORT5" -H 1 -S <"$T/hold.in" >"$T/hold.out" 2>&1 &
hpid=$!
t_track "$hpid"
exec 3>"$T/hold.in"
log_wait "$ALOG" $((la + 1)) 6
ok $? "idle session closed by proxy_timeout (logged)"
exec 3>&-
wait "$hpid"
like "$(cat "$T/hold.out")" '^held=1 failed=0' "holder connected"
like "$(cat "$T/hold.out")" '^closed=1' "holder saw the proxy close it"
line=$(tail -n 1 "$ALOG")
like "$line" "^$PORT5 200 " "proxy_timeout session logged with status 200"
st=$(echo "$line" | awk '{ print $5 }')
ok "$(echo "$st" | awk '{ print ($1 >= 0.9 && $1 < 5) ? 0 : 1 }')" "closed after about 1s of silence ($st s)"
like "$(grep 'timed out' "$T/error.log")" 'timed out' "error.log says the session timed out"

# An active session is not cut by proxy_timeout as long as bytes keep moving.
out=$("$TC" -p "$PORT5" -n 2097152 -k)
ok $? "proxy_timeout does not cut a busy session"

# ---------------------------------------------------------------- connect timeout
# slow -N never accepts: fill its tiny accept queue so later connects hang.
"$TC" -p "$PORT12" -H 4 -T 300 >"$T/fill.out" 2>&1 &
fpid=$!
t_track "$fpid"
wait_for 5 grep -q '^held=' "$T/fill.out"
like "$(cat "$T/fill.out")" 'failed=[1-9]' "blackhole backend: its accept queue is full"
la=$(log_lines "$ALOG")
t0=$(date +%s%N)
out=$("$TC" -p "$PORT6" -n 1000 -k)
rc=$?
t1=$(date +%s%N)
ok $rc "connect timeout: the client is served by the next server"
like "$out" '^id=e11 sent=1000 recv=1000 ' "connect timeout: failover reached the live backend"
ms=$(((t1 - t0) / 1000000))
ok "$([ "$ms" -ge 450 ] && [ "$ms" -lt 5000 ] && echo 0 || echo 1)" "failover came after proxy_connect_timeout (${ms} ms)"
like "$(cat "$T/error.log")" 'upstream timed out \(110: Connection timed out\) while connecting to upstream' \
    "error.log: upstream timed out while connecting"
log_wait "$ALOG" $((la + 1))
# bytes_sent = 1000 echoed + the 4-byte greeting "e11\n"
like "$(tail -n 1 "$ALOG")" "^$PORT6 200 1000 1004 .* 127\.0\.0\.1:$PORT12, 127\.0\.0\.1:$PORT11\$" \
    "access log: both upstreams tried, status 200"

is "$(fc_workers | sort | tr '\n' ' ')" "$workers0" "worker pids still unchanged"
unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]|signal [0-9]+|exited on' "no alert/crit/crash in error.log"
# proxy_bind: the upstream connection comes from the given local address
out=$("$(helper tcpclient)" -p "$PORT17" -n 1000 -k)
like "$out" '^id=e18 sent=1000 recv=1000 ' "proxy_bind 127.0.0.2: relayed"
like "$(grep '^accept ' "$(backend_log "$PORT18")" | tail -n 1)" ' 127\.0\.0\.2:[0-9]+$' \
    "...and the backend sees 127.0.0.2"
like "$(cat "$T/error.log")" "\\*[0-9]+ client 127\\.0\\.0\\.1:[0-9]+ connected to 127\\.0\\.0\\.1:$PORT17" \
    "info: nginx's 'client ADDR:PORT connected to LISTEN' line"

fc_stop
is $? 0 "graceful stop"
done_testing
