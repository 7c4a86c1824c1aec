# 236-http-upstream-failover: proxy_next_upstream (error, timeout,
# invalid_header, http_502, http_429, non_idempotent, off),
# proxy_next_upstream_tries / _timeout, all peers down (502),
# proxy_read_timeout (504), proxy_connect_timeout, proxy_send_timeout, a
# backend dying in the middle of its response (truncated, logged, never
# retried), and malformed response heads (502).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

# PORT21 A: reflect.  PORT24, PORT32: nothing listens.  PORT25: answers 502,
# PORT33: answers 429.  PORT26: reads the request, closes.  PORT27, PORT31:
# never answer.  PORT28: never accepts (connect timeout).  PORT29: sends
# part of a response, closes.  PORT30: a response with a NUL in a header.
# PORT34: never reads.  PORT35-38: malformed response heads.
fc_conf failover.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    upstream e_dead { server 127.0.0.1:@PORT24@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream e_off { server 127.0.0.1:@PORT24@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream s502 { server 127.0.0.1:@PORT25@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream s502on { server 127.0.0.1:@PORT25@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream s429 { server 127.0.0.1:@PORT33@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream s429on { server 127.0.0.1:@PORT33@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream fr1 { server 127.0.0.1:@PORT26@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream fr2 { server 127.0.0.1:@PORT26@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream fr3 { server 127.0.0.1:@PORT26@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream tries2 {
        server 127.0.0.1:@PORT24@ max_fails=0;
        server 127.0.0.1:@PORT32@ max_fails=0;
        server 127.0.0.1:@PORT21@;
    }
    upstream tries0 {
        server 127.0.0.1:@PORT24@ max_fails=0;
        server 127.0.0.1:@PORT32@ max_fails=0;
        server 127.0.0.1:@PORT21@;
    }
    upstream alldown { server 127.0.0.1:@PORT24@; server 127.0.0.1:@PORT32@; }
    upstream slow { server 127.0.0.1:@PORT27@; }
    upstream slow_a { server 127.0.0.1:@PORT27@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream slow_w { server 127.0.0.1:@PORT27@; server 127.0.0.1:@PORT21@; }
    upstream slow2_a {
        server 127.0.0.1:@PORT27@ max_fails=0;
        server 127.0.0.1:@PORT31@ max_fails=0;
        server 127.0.0.1:@PORT21@;
    }
    upstream bh { server 127.0.0.1:@PORT28@; }
    upstream partial { server 127.0.0.1:@PORT29@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream partonly { server 127.0.0.1:@PORT29@; }
    upstream noread { server 127.0.0.1:@PORT34@; }
    upstream garbage { server 127.0.0.1:@PORT35@; }
    upstream clte { server 127.0.0.1:@PORT36@; }
    upstream dupcl { server 127.0.0.1:@PORT37@; }
    upstream spcolon { server 127.0.0.1:@PORT38@; }
    upstream inv { server 127.0.0.1:@PORT30@ max_fails=0; server 127.0.0.1:@PORT21@; }
    upstream invon { server 127.0.0.1:@PORT30@ max_fails=0; server 127.0.0.1:@PORT21@; }

    server {
        listen 127.0.0.1:@PORT1@;
        add_header X-US $upstream_status always;
        add_header X-UA $upstream_addr always;
        add_header X-URL $upstream_response_length always;
        proxy_read_timeout 1s;
        location / { proxy_pass http://$arg_g; }
        location /off { proxy_next_upstream off; proxy_pass http://$arg_g; }
        location /on502 { proxy_next_upstream error timeout http_502; proxy_pass http://$arg_g; }
        location /on429 { proxy_next_upstream error http_429; proxy_pass http://$arg_g; }
        location /ni { proxy_next_upstream error timeout non_idempotent; proxy_pass http://$arg_g; }
        location /tries2 { proxy_next_upstream_tries 2; proxy_pass http://$arg_g; }
        location /nut {
            proxy_next_upstream_timeout 1500ms;
            proxy_pass http://$arg_g;
        }
        location /cto { proxy_connect_timeout 500ms; proxy_pass http://$arg_g; }
        location /invon { proxy_next_upstream error invalid_header; proxy_pass http://$arg_g; }
        location /sto {
            client_max_body_size 100m;
            proxy_send_timeout 1s;
            proxy_pass http://$arg_g;
        }
    }
}
EOF
A=$PORT21
backend_start reflect "$A" -i A
backend_start reflect "$PORT25" -i E502 -s 502
backend_start reflect "$PORT33" -i E429 -s 429
backend_start fail "$PORT26" -m read
backend_start slow "$PORT27"
backend_start slow "$PORT31"
backend_start slow "$PORT28" -N
backend_start fail "$PORT29" -m partial
backend_start slow "$PORT30" -d 100 -b 'HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 2\r\n\r\nok'
backend_start slow "$PORT34" -R
for p in 35:'garbage\r\n\r\nbody' \
    36:'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n' \
    37:'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok' \
    38:'HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 2\r\n\r\nok'; do
    eval "backend_start slow \"\$PORT${p%%:*}\" -d 100 -b \"\${p#*:}\""
done
FC_WAIT_PORTS=$PORT1 fc_start failover.conf
ok $? "fulcrum starts" || t_bail "the binary did not start"
U=http://127.0.0.1:$PORT1
areqs() { grep -c '^req ' "$(backend_log "$A")"; }

# --- error (connection refused)
hreq "$U/?g=e_dead"
is "$H_STATUS" 200 "error: the next server answers"
is "$(hhdr X-US)" "502, 200" "...after a 502 attempt on the refusing one"
hreq "$U/off?g=e_off"
is "$H_STATUS" 502 "proxy_next_upstream off: 502"
is "$(hhdr X-US)" 502 "...one attempt only"

# --- http_502 / http_429
hreq "$U/?g=s502"
is "$H_STATUS" 502 "default: a backend's 502 is passed to the client"
is "$(hhdr X-Backend)" E502 "...from that backend"
hreq "$U/on502?g=s502on"
is "$H_STATUS" 200 "http_502: the next server answers"
is "$(hhdr X-US)" "502, 200" "...after the 502"
like "$(hhdr X-URL)" '^0, [0-9]+$' "...and the 502 passed over counts no body in \$upstream_response_length (nginx)"
hreq "$U/?g=s429"
is "$H_STATUS" 429 "default: a backend's 429 is passed"
hreq "$U/on429?g=s429on"
is "$H_STATUS" 200 "http_429: the next server answers"

# --- non_idempotent (PORT26 reads the request and closes)
hreq "$U/get?g=fr1"
is "$H_STATUS" 200 "a GET whose backend closed without answer is retried"
n=$(areqs)
hreq --data 'x=1' "$U/post?g=fr2"
is "$H_STATUS" 502 "a POST is not retried after it was sent"
is "$(areqs)" "$n" "...the next server never saw it"
hreq --data 'x=1' "$U/ni?g=fr3"
is "$H_STATUS" 200 "non_idempotent: the POST is retried"
like "$H_BODY" 'x=1$' "...with its body"

# --- proxy_next_upstream_tries
hreq "$U/tries2?g=tries2"
is "$H_STATUS" 502 "proxy_next_upstream_tries 2: gives up after two refusals"
is "$(hhdr X-US)" "502, 502" "...two attempts"
hreq "$U/?g=tries0"
is "$H_STATUS" 200 "unlimited tries: the third server answers"
is "$(hhdr X-US)" "502, 502, 200" "...three attempts"

# --- every peer down
hreq "$U/?g=alldown"
is "$H_STATUS" 502 "all servers refuse: 502"
hreq "$U/?g=alldown"
is "$H_STATUS" 502 "...again (both marked failed)"
like "$(cat "$T/error.log")" 'no live upstreams' "...logged as no live upstreams"
like "$(grep 'connect() failed.*g=alldown' "$T/error.log" | head -n 1)" 'client: 127\.0\.0\.1, server: .*request: "GET /\?g=alldown HTTP/1\.1", upstream: "http://127\.0\.0\.1:' \
    "connect errors are logged with client, server, request and upstream"

# --- proxy_read_timeout 1s
t0=$(t_now_ms)
hreq "$U/?g=slow"
dt=$(($(t_now_ms) - t0))
is "$H_STATUS" 504 "proxy_read_timeout: 504"
[ "$dt" -ge 900 ] && [ "$dt" -lt 4000 ]
ok $? "...after about 1 s ($dt ms)"
like "$(cat "$T/error.log")" 'upstream timed out' "...logged as upstream timed out"
like "$(grep 'upstream timed out.*g=slow ' "$T/error.log" | head -n 1)" \
    "upstream timed out \\(110: Connection timed out\\) while reading response header from upstream, client: 127\\.0\\.0\\.1, .*upstream: \"http://127\\.0\\.0\\.1:$PORT27/" \
    "...with nginx's text, action and upstream"
hreq "$U/?g=slow_w"
is "$H_STATUS" 200 "a timeout that disables the peer (max_fails=1): the next server answers"
is "$(grep -E 'g=slow_w HTTP' "$T/error.log" | sed -n 's/.*\[\(warn\|error\)\] [^*]*\*[0-9]* \([a-z ]*\).*/\1 \2/p' | tr '\n' '|')" \
    "warn upstream server temporarily disabled while reading response header from upstream|error upstream timed out |" \
    "...the peer's warning comes before the timeout error, in nginx's order"
hreq "$U/?g=slow_a"
is "$H_STATUS" 200 "timeout: the next server answers"
is "$(hhdr X-US)" "504, 200" "...after a 504 attempt"

# --- proxy_next_upstream_timeout 1500ms: no third attempt after 2 s
hreq "$U/nut?g=slow2_a"
is "$H_STATUS" 504 "proxy_next_upstream_timeout: no retry once it is spent"
is "$(hhdr X-US)" "504, 504" "...two attempts, not three"

# --- proxy_connect_timeout 500ms (PORT28 never accepts: fill its queue)
"$(helper tcpclient)" -p "$PORT28" -H 4 -T 300 >"$T/fill.out" 2>&1 &
t_track $!
wait_for 5 grep -q '^held=' "$T/fill.out"
t0=$(t_now_ms)
hreq "$U/cto?g=bh"
dt=$(($(t_now_ms) - t0))
is "$H_STATUS" 504 "proxy_connect_timeout: 504"
[ "$dt" -ge 400 ] && [ "$dt" -lt 3000 ]
ok $? "...after about 500 ms ($dt ms)"

# --- a backend dying after its header (PORT29: Content-Length 100, 7 bytes)
n=$(areqs)
hreq "$U/partial?g=partial"
is "$H_STATUS" 200 "mid-response death: the client got the header"
is "$H_BODY" partial "...and the bytes that came"
is "$H_RC" 18 "...then a truncated body (curl: partial file)"
is "$(areqs)" "$n" "...no retry after the header went out"
like "$(cat "$T/error.log")" 'upstream prematurely closed connection.*request: "GET /partial' "...logged"
hraw "$PORT1" 'GET /partial?g=partonly HTTP/1.1\r\nHost: h\r\n\r\n' -t 5000
is "$R_RC" 0 "...and the keep-alive client connection is closed"

# --- invalid_header (PORT30 sends a NUL in a header)
hreq "$U/?g=inv"
is "$H_STATUS" 502 "an invalid response header: 502"
like "$(cat "$T/error.log")" 'upstream sent invalid header' "...logged"
hreq "$U/invon?g=invon"
is "$H_STATUS" 200 "invalid_header: the next server answers"

# --- proxy_send_timeout 1s: a backend that reads nothing of a 32 MB body
head -c 33554432 /dev/zero >"$T/big.bin"
t0=$(t_now_ms)
hreq --data-binary @"$T/big.bin" "$U/sto?g=noread"
dt=$(($(t_now_ms) - t0))
rm -f "$T/big.bin"
is "$H_STATUS" 504 "proxy_send_timeout: 504"
[ "$dt" -lt 8000 ]
ok $? "...soon after the backend stopped reading ($dt ms)"
like "$(cat "$T/error.log")" 'upstream timed out.*while sending request to upstream' "...logged"

# --- response heads are parsed as strictly as requests: 502
# (nginx passes the first as an HTTP/0.9 body, and takes the second and
# third: issue #3 wants them refused)
hreq "$U/?g=garbage"
is "$H_STATUS" 502 "a response without a status line: 502"
hreq "$U/?g=clte"
is "$H_STATUS" 502 "a response with Content-Length and Transfer-Encoding: 502"
hreq "$U/?g=dupcl"
is "$H_STATUS" 502 "a response with two Content-Lengths: 502"
hreq "$U/?g=spcolon"
is "$H_STATUS" 502 "a response header with a space before the colon: 502"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing
