# 245-http-websocket: WebSocket through the proxy with nginx's idiom
# (map $http_upgrade $connection_upgrade; proxy_set_header Upgrade /
# Connection): the 101 handshake, frames echoed both ways (sizes at the
# length-encoding boundaries, fragments, 20 MB, ping/pong, close), several
# tunnels at once, round robin over an upstream group, no upgrade without
# the headers, proxy_read_timeout on an idle tunnel, any other Upgrade.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf ws.conf <<'EOF'
@PRELUDE@
http {
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    log_format ws '$uri $status $upstream_addr';
    access_log @T@/access.log ws;
    upstream pair { server 127.0.0.1:@PORT8@; server 127.0.0.1:@PORT7@; }
    server {
        listen 127.0.0.1:@PORT1@;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        location /ws/ { proxy_pass http://127.0.0.1:@PORT9@; }
        location /pair/ { proxy_pass http://pair; }
        location /idle/ {
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /any/ { proxy_pass http://127.0.0.1:@PORT6@; }
        location /plain/ {
            proxy_http_version 1.0;
            proxy_set_header Upgrade "";
            proxy_set_header Connection close;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF
backend_start wsecho "$PORT9" -i W -g
backend_start wsecho "$PORT8" -i W1 -g
backend_start wsecho "$PORT7" -i W2 -g
# PORT6: any protocol: a 101 then its own bytes
backend_start slow "$PORT6" -d 200 -b 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/2\r\nConnection: Upgrade\r\n\r\nafter-101\n'
FC_WAIT_PORTS=$PORT1 fc_start ws.conf
ok $? "fulcrum starts" || t_bail "the binary did not start"
WSC=$(helper wsclient)
WLOG=$(backend_log "$PORT9")

out=$("$WSC" -p "$PORT9" -g -n 2 2>&1)
like "$out" '^messages=2 bytes=[0-9]+ ok$' "sanity: wsclient and wsecho talk directly"

# --- the handshake and frames both ways
out=$("$WSC" -p "$PORT1" -u /ws/a -h ws.test -g -s 0,1,125,126,65535,65536,1000000 -n 7 2>&1)
ok $? "through the proxy: the session ends cleanly"
like "$out" '^status=101$' "101 Switching Protocols"
like "$out" '^< Upgrade: websocket$' "...with Upgrade: websocket"
like "$out" '^< Connection: [Uu]pgrade$' "...and Connection: upgrade"
like "$out" '^accept=ok$' "Sec-WebSocket-Accept passes unchanged"
like "$out" '^greeting=hello from W$' "a frame the backend sends first reaches the client"
like "$out" '^pong=ok$' "ping / pong"
like "$out" '^messages=7 bytes=1131323 ok$' "messages of 0..1000000 bytes echoed intact"
like "$out" '^close=ok$' "close handshake"
like "$out" '^eof=ok$' "then both sides close"
like "$(cat "$WLOG")" '^req [0-9]+ GET /ws/a upgrade=websocket connection=upgrade$' \
    "the backend got Upgrade: websocket and Connection: upgrade"
out=$("$WSC" -p "$PORT1" -u /ws/frag -g -s 5000,70000,1 -n 3 -f 1000 2>&1)
like "$out" '^messages=3 bytes=75001 ok$' "fragmented messages pass frame by frame"
out=$("$WSC" -p "$PORT1" -u /ws/big -g -s 20000000 -n 1 -t 20000 2>&1)
like "$out" '^messages=1 bytes=20000000 ok$' "a 20 MB message both ways"

# --- several tunnels at once
i=0
pids=
while [ "$i" -lt 8 ]; do
    "$WSC" -p "$PORT1" -u "/ws/par$i" -g -s 100,70000 -n 20 >"$T/par$i.out" 2>&1 &
    pids="$pids $!"
    t_track $!
    i=$((i + 1))
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "8 tunnels at once: all clean"
is "$(cat "$T"/par*.out | grep -c '^messages=20 bytes=701000 ok$')" 8 "...every message echoed"

# --- round robin over a group
g=
for i in 1 2 3 4; do
    g="$g $("$WSC" -p "$PORT1" -u /pair/ -g -n 0 2>&1 | sed -n 's/^greeting=hello from //p')"
done
is "$g" " W1 W2 W1 W2" "upgrades are balanced like requests"

# --- without the Upgrade headers there is no upgrade
"$WSC" -p "$PORT1" -u /plain/x -g -n 1 >"$T/plain.out" 2>&1
is $? 2 "without proxy_set_header Upgrade: no 101"
like "$(cat "$T/plain.out")" '^status=426$' "...the backend answered a plain request"
like "$(cat "$WLOG")" '^req [0-9]+ GET /plain/x upgrade=- connection=close$' "...it saw no Upgrade"

# --- proxy_read_timeout closes an idle tunnel
t0=$(t_now_ms)
"$WSC" -p "$PORT1" -u /idle/ -g -w 4000 >"$T/idle.out" 2>&1
rc=$?
dt=$(($(t_now_ms) - t0))
is "$rc" 3 "proxy_read_timeout 1s: an idle tunnel is closed"
[ "$dt" -ge 900 ] && [ "$dt" -lt 3500 ]
ok $? "...after about 1 s ($dt ms)"
out=$("$WSC" -p "$PORT1" -u /idle/ -g -w 500 -n 2 2>&1)
like "$out" '^messages=2 ' "...not one that is used within the timeout"

# --- any Upgrade: after the 101 the bytes are relayed as they are
hraw "$PORT1" 'GET /any/ HTTP/1.1\r\nHost: h\r\nUpgrade: foo/2\r\nConnection: upgrade\r\n\r\n' -t 3000
is "$R_STATUS" 101 "Upgrade: foo/2 -> 101"
like "$R_OUT" '^Upgrade: foo/2$' "...the backend's Upgrade"
like "$R_OUT" '^after-101$' "...and the bytes it sent after the 101"

t_wait_lines "$T/access.log" 10
like "$(cat "$T/access.log")" "^/ws/a 101 127\\.0\\.0\\.1:$PORT9\$" "the tunnel is logged with status 101"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing
