# 205-http-limits: client_header_buffer_size / large_client_header_buffers
# boundaries (414, 400 "Request Header Or Cookie Too Large"),
# client_max_body_size (413) at its boundary, bodies larger than
# client_body_buffer_size, client_header_timeout, client_body_timeout,
# keepalive_timeout, keepalive_requests and send_timeout.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

# PORT1: small header buffers, return only; PORT2: body limits, proxied;
# PORT3: timeouts; PORT4: keep-alive limits; PORT7: client_header_timeout
# shorter than keepalive_timeout.
fc_conf limits.conf <<'EOF'
@PRELUDE@
http {
    access_log @T@/access.log;
    server {
        listen 127.0.0.1:@PORT1@;
        client_header_buffer_size 256;
        large_client_header_buffers 2 1k;
        location / { return 200 "small\n"; }
    }
    server {
        listen 127.0.0.1:@PORT2@;
        client_max_body_size 100;
        client_body_buffer_size 1k;
        location / { proxy_pass http://127.0.0.1:@PORT9@; }
        location /big/ {
            client_max_body_size 10m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /unlimited/ {
            client_max_body_size 0;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /ep/ {
            error_page 413 /too-large;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location = /too-large { return 200 "custom 413 page, status $status\n"; }
    }
    server {
        listen 127.0.0.1:@PORT3@;
        client_header_timeout 1s;
        client_body_timeout 1s;
        keepalive_timeout 1s;
        location / { proxy_pass http://127.0.0.1:@PORT9@; }
    }
    server {
        listen 127.0.0.1:@PORT4@;
        keepalive_requests 3;
        location / { return 200 "ka\n"; }
    }
    server {
        listen 127.0.0.1:@PORT5@;
        keepalive_timeout 0;
        location / { return 200 "nka\n"; }
    }
    server {
        listen 127.0.0.1:@PORT7@;
        client_header_timeout 1s;
        keepalive_timeout 30s;
        location / { return 200 "kh\n"; }
    }
    server {
        listen 127.0.0.1:@PORT6@;
        send_timeout 1s;
        location / { proxy_pass http://127.0.0.1:@PORT9@; }
    }
}
EOF
backend_start reflect "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5 $PORT6" fc_start limits.conf
ok $? "fulcrum starts" || t_bail "the binary did not start"
reqs() { grep -c '^req ' "$(backend_log "$PORT9")"; }

# --- the request line must fit (with its CRLF) in one large buffer (1k)
line_req() { # LEN: a request whose request line is LEN bytes with CRLF
    printf '%s' "GET /$(t_str $(($1 - 16)) a) HTTP/1.1\\r\\nHost: h\\r\\nConnection: close\\r\\n\\r\\n"
}
hraw "$PORT1" "$(line_req 1024)"
is "$R_STATUS" 200 "a request line of 1024 bytes (= the large buffer) is accepted"
hraw "$PORT1" "$(line_req 1025)"
is "$R_STATUS" 414 "a request line of 1025 bytes: 414"
is "$R_RC" 0 "...and the connection is closed"
hraw "$PORT1" "$(line_req 200)"
is "$R_STATUS" 200 "a request line shorter than client_header_buffer_size"
hraw "$PORT1" "$(line_req 600)"
is "$R_STATUS" 200 "a request line longer than client_header_buffer_size moves to a large buffer"

# --- a header line must fit (with its CRLF) in one large buffer
hdr_req() { # LEN: a request with one header line of LEN bytes with CRLF
    printf '%s' "GET / HTTP/1.1\\r\\nHost: h\\r\\nX-Long: $(t_str $(($1 - 10)) b)\\r\\nConnection: close\\r\\n\\r\\n"
}
hraw "$PORT1" "$(hdr_req 1024)"
is "$R_STATUS" 200 "a header line of 1024 bytes is accepted"
hraw "$PORT1" "$(hdr_req 1025)"
is "$R_STATUS" 400 "a header line of 1025 bytes: 400"
like "$R_OUT" 'Request Header Or Cookie Too Large' "...with nginx's 494 page text"
is "$R_RC" 0 "...and the connection is closed"
# all the headers together must fit in the large buffers: 2 x 1k
v=$(t_str 890 c)
hraw "$PORT1" "GET / HTTP/1.1\\r\\nHost: h\\r\\nX-A: $v\\r\\nX-B: $v\\r\\nConnection: close\\r\\n\\r\\n"
is "$R_STATUS" 200 "two 900-byte header lines fit in two large buffers"
hraw "$PORT1" "GET / HTTP/1.1\\r\\nHost: h\\r\\nX-A: $v\\r\\nX-B: $v\\r\\nX-C: $v\\r\\nConnection: close\\r\\n\\r\\n"
is "$R_STATUS" 400 "three do not (256 + 2 x 1k): 400"
like "$R_OUT" 'Request Header Or Cookie Too Large' "...Request Header Or Cookie Too Large"
# lines that fit stay in the first buffer, as in nginx: 256 + 2 x 897 + 21 = 2071 bytes > 2 x 1k
hraw "$PORT1" "GET / HTTP/1.1\\r\\nHost: h\\r\\nX-S: $(t_str 224 s)\\r\\nX-A: $v\\r\\nX-B: $v\\r\\nConnection: close\\r\\n\\r\\n"
is "$R_STATUS" 200 "a head over N x SIZE that nginx's buffers hold (the first one too): 200"
# ...but a line never spans two buffers: 600 + 600 + 500 bytes need three 1k buffers
# (1725 bytes in all, under 256 + 2 x 1k), so nginx refuses them
hraw "$PORT1" "GET / HTTP/1.1\\r\\nHost: h\\r\\nX-A: $(t_str 594 a)\\r\\nX-B: $(t_str 594 b)\\r\\nX-C: $(t_str 494 c)\\r\\nConnection: close\\r\\n\\r\\n"
is "$R_STATUS" 400 "lines that need more large buffers than there are, though the total would fit: 400 (nginx)"
like "$R_OUT" 'Request Header Or Cookie Too Large' "...Request Header Or Cookie Too Large"
hraw "$PORT1" "GET / HTTP/1.1\\r\\nHost: h\\r\\nX-A: $(t_str 594 a)\\r\\nX-B: $(t_str 394 b)\\r\\nX-C: $(t_str 494 c)\\r\\nConnection: close\\r\\n\\r\\n"
is "$R_STATUS" 200 "...while 600 + 400 fit in one and 500 in the next: 200"
t_wait_lines "$T/access.log" 11
like "$(cat "$T/access.log")" '"GET / HTTP/1\.1" (400|494) ' "the too-large header request is logged as 494 or 400"
like "$(cat "$T/access.log")" '" 414 ' "the too-long URI is logged as 414"

# --- client_max_body_size 100: 100 bytes pass, 101 are 413
body_req() { # LEN PATH
    printf '%s' "POST ${2:-/} HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: $1\\r\\nConnection: close\\r\\n\\r\\n$(t_str "$1" d)"
}
n=$(reqs)
hraw "$PORT2" "$(body_req 100)"
is "$R_STATUS" 200 "Content-Length 100 = client_max_body_size: 200"
like "$R_OUT" "^$(t_str 100 d)\$" "...the body reached the backend"
hraw "$PORT2" "$(body_req 101)"
is "$R_STATUS" 413 "Content-Length 101 > client_max_body_size: 413"
is "$R_RC" 0 "...and the connection is closed"
hraw "$PORT2" "POST / HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: 101\\r\\n\\r\\n"
is "$R_STATUS" 413 "413 comes from the Content-Length, before any body byte"
# chunked: the decoded size counts
hraw "$PORT2" "POST / HTTP/1.1\\r\\nHost: h\\r\\nTransfer-Encoding: chunked\\r\\nConnection: close\\r\\n\\r\\n32\\r\\n$(t_str 50 e)\\r\\n32\\r\\n$(t_str 50 e)\\r\\n0\\r\\n\\r\\n"
is "$R_STATUS" 200 "chunked body of 100 bytes: 200"
hraw "$PORT2" "POST / HTTP/1.1\\r\\nHost: h\\r\\nTransfer-Encoding: chunked\\r\\nConnection: close\\r\\n\\r\\n32\\r\\n$(t_str 50 e)\\r\\n33\\r\\n$(t_str 51 e)\\r\\n0\\r\\n\\r\\n"
is "$R_STATUS" 413 "chunked body of 101 bytes: 413"
hraw "$PORT2" "POST / HTTP/1.1\\r\\nHost: h\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n1e8480\\r\\nsome"
is "$R_STATUS" 413 "a chunk announcing 2000000 bytes: 413 at its size line, before its data (nginx)"
like "$(cat "$T/error.log")" 'client intended to send too large chunked body: 0\+2000000 bytes' \
    "...logged as nginx logs it"
is "$(reqs)" $((n + 2)) "only the two accepted bodies reached the backend"
hraw "$PORT2" "$(body_req 101 /ep/)"
is "$R_STATUS" 413 "error_page 413: the status stays 413"
like "$R_OUT" '^custom 413 page, status 413$' \
    "...the page comes from error_page (its location's limit is not checked again, as nginx)"
is "$R_RC" 0 "...and the connection is closed once the body is read"
hraw "$PORT2" "$(body_req 5000 /big/)"
is "$R_STATUS" 200 "a location's own client_max_body_size (10m) applies"
hraw "$PORT2" "$(body_req 5000 /unlimited/)"
is "$R_STATUS" 200 "client_max_body_size 0: no limit"

# --- bodies larger than client_body_buffer_size (1k) pass intact
head -c 300000 /dev/urandom >"$T/body.bin"
hreq --data-binary @"$T/body.bin" -H 'Content-Type: application/octet-stream' \
    "http://127.0.0.1:$PORT2/big/spill"
is "$H_STATUS" 200 "a 300 kB body (> client_body_buffer_size) is proxied"
is "$(tail -c 300000 "$T/h.body" | cksum)" "$(cksum <"$T/body.bin")" "...intact"
like "$H_BODY" '^Content-Length: 300000$' "...with its Content-Length"
hreq --data-binary @"$T/body.bin" -H 'Transfer-Encoding: chunked' "http://127.0.0.1:$PORT2/big/spill-chunked"
is "$H_STATUS" 200 "a 300 kB chunked body is proxied"
is "$(tail -c 300000 "$T/h.body" | cksum)" "$(cksum <"$T/body.bin")" "...intact"

# --- client_header_timeout 1s: an unfinished header is dropped
t0=$(t_now_ms)
hraw "$PORT3" 'GET / HTTP/1.1\r\nHost: h\r\n' -t 5000
dt=$(($(t_now_ms) - t0))
is "$R_RC" 0 "client_header_timeout: the server closes an unfinished header"
[ "$dt" -ge 900 ] && [ "$dt" -lt 3500 ]
ok $? "...after about 1 s ($dt ms)"
unlike "$R_OUT" '^HTTP/1\.1 200' "...without a 200"
t0=$(t_now_ms)
hraw "$PORT3" '' -t 5000
dt=$(($(t_now_ms) - t0))
is "$R_RC" 0 "client_header_timeout: a silent connection is closed"
[ "$dt" -ge 900 ] && [ "$dt" -lt 3500 ]
ok $? "...after about 1 s ($dt ms)"
is "$R_OUT" "" "...without a response"

# A keep-alive connection's next head: client_header_timeout runs from its first
# byte, whether that byte came with the previous request or after an idle wait
# (keepalive_timeout 30s must not stand in for it).
for how in "pipelined:" "after 300 ms idle:-s 27 -d 300"; do
    t0=$(t_now_ms)
    # shellcheck disable=SC2086
    hraw "$PORT7" 'GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n' -t 5000 ${how#*:}
    dt=$(($(t_now_ms) - t0))
    is "$R_RC" 0 "client_header_timeout, second head ${how%%:*}: the server closes it"
    [ "$dt" -ge 900 ] && [ "$dt" -lt 3500 ]
    ok $? "...after about 1 s ($dt ms)"
    is "$R_NRESP" 1 "...having answered the first request"
done

# --- client_body_timeout 1s: a body that stops coming
n=$(reqs)
t0=$(t_now_ms)
hraw "$PORT3" 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc' -t 5000
dt=$(($(t_now_ms) - t0))
is "$R_RC" 0 "client_body_timeout: the connection is closed"
[ "$dt" -ge 900 ] && [ "$dt" -lt 3500 ]
ok $? "...after about 1 s ($dt ms)"
unlike "$R_OUT" '^HTTP/1\.1 200' "...without a 200"
is "$(reqs)" "$n" "...and nothing reached the backend"
# a body trickling in slower than the whole timeout but faster than it per read
hraw "$PORT3" 'POST /trickle HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd' \
    -s 63 -d 600 -t 5000
is "$R_STATUS" 200 "client_body_timeout is between two reads, not for the whole body"

# --- keepalive_timeout 1s closes an idle connection
t0=$(t_now_ms)
hraw "$PORT3" 'GET /ka HTTP/1.1\r\nHost: h\r\n\r\n' -t 5000
dt=$(($(t_now_ms) - t0))
is "$R_STATUS" 200 "keepalive_timeout: the request is answered"
is "$R_RC" 0 "keepalive_timeout 1s: the idle connection is closed"
[ "$dt" -ge 900 ] && [ "$dt" -lt 3500 ]
ok $? "...after about 1 s ($dt ms)"
like "$R_HEAD" '^Connection: keep-alive$' "...after a keep-alive response"
hraw "$PORT1" 'GET /ka HTTP/1.1\r\nHost: h\r\n\r\n' -t 1500
is "$R_RC" 2 "default keepalive_timeout (75s): still open after 1.5 s"
hraw "$PORT5" 'GET / HTTP/1.1\r\nHost: h\r\n\r\n' -t 3000
is "$R_RC" 0 "keepalive_timeout 0: closed after the response"
like "$R_HEAD" '^Connection: close$' "...with Connection: close"

# --- keepalive_requests 3: the third response closes
hraw "$PORT4" 'GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\nGET /4 HTTP/1.1\r\nHost: h\r\n\r\nGET /5 HTTP/1.1\r\nHost: h\r\n\r\n' -t 3000
is "$R_NRESP" 3 "keepalive_requests 3: three of five pipelined requests answered"
is "$R_RC" 0 "...then the connection is closed"
is "$(printf '%s\n' "$R_OUT" | grep '^Connection:' | tr '\n' ' ')" \
    "Connection: keep-alive Connection: keep-alive Connection: close " "...the first two keep-alive"

# --- send_timeout 1s: a client that reads nothing for 3 s loses a 32 MB
# response (more than the socket buffers hold); with the default 60 s it
# gets all of it
big='GET /big?size=33554432 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
hraw "$PORT6" "$big" -w 3000 -t 3000
n=$(t_size "$T/r.out")
[ "$n" -gt 0 ] && [ "$n" -lt 33554432 ]
ok $? "send_timeout 1s: the stalled response is cut ($n bytes came)"
like "$(cat "$T/error.log")" 'client timed out.*while sending' "...logged as a client timeout"
hraw "$PORT2" "$(printf '%s' "$big" | sed 's,/big,/big/,')" -w 3000 -t 3000
[ "$(t_size "$T/r.out")" -gt 33554432 ]
ok $? "default send_timeout: the same response comes whole after the pause"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing
