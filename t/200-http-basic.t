# 200-http-basic: GET/HEAD/POST through proxy_pass to the reflect backend;
# status, headers and body both ways; HTTP/1.0 and 1.1; keep-alive on the
# client side; pipelining; Expect: 100-continue; server_tokens; Date; a few
# request-line basics (no Host, HTTP/2.0).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf basic.conf <<'EOF'
@PRELUDE@
http {
    access_log @T@/access.log;
    upstream back { server 127.0.0.1:@PORT9@; }
    server {
        listen 127.0.0.1:@PORT1@;
        location / { proxy_pass http://back; }
        location /exp3 { return 200 "ok"; }
    }
    server {
        listen 127.0.0.1:@PORT2@;
        server_tokens off;
        ignore_invalid_headers off;
        location / { proxy_pass http://127.0.0.1:@PORT9@; }
    }
}
EOF
backend_start reflect "$PORT9" -i R
FC_WAIT_PORTS="$PORT1 $PORT2" fc_start basic.conf
ok $? "fulcrum starts with an http{} block" || t_bail "the binary did not start"
U=http://127.0.0.1:$PORT1

# --- GET
hreq "$U/get/path?a=1&b=two"
is "$H_STATUS" 200 "GET: 200"
is "$(hhdr X-Backend)" R "GET: the backend's own header is passed to the client"
like "$H_BODY" '^GET /get/path\?a=1&b=two HTTP/1\.[01]$' "GET: the backend saw the request line with the args"
# nginx defaults: Host $proxy_host (the upstream's name), Connection: close
like "$H_BODY" '^Host: back$' "GET: Host is \$proxy_host (the upstream group's name)"
like "$H_BODY" '^Connection: close$' "GET: Connection: close to the backend"
is "$(grep -c '^req ' "$(backend_log "$PORT9")")" 1 "GET: exactly one request reached the backend"
like "$(hhdr Content-Length)" '^[0-9]+$' "GET: Content-Length is passed"
is "$(hhdr Content-Length)" "$(wc -c <"$T/h.body" | tr -d ' ')" "GET: ...and matches the body"

# --- status and body of other statuses pass through
hreq "$U/x?status=404"
is "$H_STATUS" 404 "a backend 404 is passed through"
like "$H_BODY" '^GET /x\?status=404 ' "...with the backend's body"
hreq "$U/x?status=201&hdr=X-Custom:%20v1&hdr=X-Custom:%20v2"
is "$H_STATUS" 201 "a backend 201 is passed through"
is "$(hhdr X-Custom | tr '\n' ,)" "v1,v2," "repeated response headers both pass, in order"

# --- HEAD
hraw "$PORT1" 'HEAD /head HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
is "$R_STATUS" 200 "HEAD: 200"
is "$R_RC" 0 "HEAD: the server closes after Connection: close"
is "$(sed -n '/^$/,$p' "$T/r.out" | tr -d '\r\n')" "" "HEAD: no body after the header"
like "$(tail -c 4 "$T/r.out" | od -An -c | tr -d ' ')" '\\r\\n\\r\\n$' "HEAD: the answer ends with the header's blank line"
like "$(tail -n 1 "$(backend_log "$PORT9")")" '^req [0-9]+ 1 HEAD /head$' "HEAD: the backend got a HEAD"

# --- POST
hreq --data-binary 'hello=world&x=1' "$U/post"
is "$H_STATUS" 200 "POST: 200"
like "$H_BODY" '^POST /post HTTP/1\.[01]$' "POST: request line"
like "$H_BODY" '^Content-Length: 15$' "POST: Content-Length reaches the backend"
like "$H_BODY" 'hello=world&x=1$' "POST: the body reaches the backend intact"
is "$(hhdr X-Framing)" length "POST: the backend saw a length-delimited body"
hreq -X POST "$U/post-empty"
like "$H_BODY" '^POST /post-empty ' "POST without a body is proxied"

# --- HTTP/1.0
hraw "$PORT1" 'GET /ten HTTP/1.0\r\n\r\n' -t 3000
is "$R_STATUS" 200 "HTTP/1.0: 200"
like "$R_OUT" '^HTTP/1\.1 200 ' "HTTP/1.0: answered with an HTTP/1.1 status line"
is "$R_RC" 0 "HTTP/1.0 without keep-alive: the server closes"
unlike "$R_OUT" '^Transfer-Encoding:' "HTTP/1.0: never chunked"
hraw "$PORT1" 'GET /ten-ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' -t 700
is "$R_STATUS" 200 "HTTP/1.0 keep-alive: 200"
like "$R_OUT" '^Connection: keep-alive$' "HTTP/1.0 keep-alive: Connection: keep-alive in the answer"
is "$R_RC" 2 "HTTP/1.0 keep-alive: the connection stays open"
hraw "$PORT1" 'GET /eof-ten?eof=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' -t 3000
is "$R_RC" 0 "HTTP/1.0 keep-alive, body of unknown length: closed to end the body"
like "$R_OUT" '^GET /eof-ten\?eof=1 HTTP' "...and the body came whole"

# --- HTTP/1.1 keep-alive on the client side
hreq -w '%{num_connects} ' -o /dev/null "$U/k1" -o /dev/null "$U/k2" -o /dev/null "$U/k3"
is "$H_STATUS" "1 0 0 " "HTTP/1.1: three requests on one client connection"
hraw "$PORT1" 'GET /idle HTTP/1.1\r\nHost: h\r\n\r\n' -t 700
is "$R_RC" 2 "HTTP/1.1: the connection stays open after a response"
unlike "$R_HEAD" '^Connection: close' "HTTP/1.1: no Connection: close"

# --- pipelining: three requests in one write, answered in order
hraw "$PORT1" 'GET /p1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcd\nGET /p3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' -t 3000
is "$R_NRESP" 3 "pipelining: three responses"
is "$(grep -E '^(GET|POST) /p[0-9] ' "$T/r.out" | cut -d' ' -f2 | tr '\n' ' ')" "/p1 /p2 /p3 " \
    "pipelining: in request order"
like "$R_OUT" '^abcd$' "pipelining: the middle request's body went to its backend request"
is "$R_RC" 0 "pipelining: closed after the request with Connection: close"

# --- Expect: 100-continue
# $body_bytes_sent counts the interim "HTTP/1.1 100 Continue\r\n\r\n" (25 bytes), as nginx's c->sent
hraw "$PORT1" 'POST /exp3 HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello' -w 300
t_wait_lines "$T/access.log" 1
like "$(grep 'POST /exp3' "$T/access.log")" '"POST /exp3 HTTP/1\.1" 200 27 ' \
    "\$body_bytes_sent after a 100 Continue: the 2-byte body + 25 (nginx)"
hraw "$PORT1" 'POST /exp HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n' -t 1000
is "$R_RC" 2 "Expect: the server waits for the body"
is "$(printf '%s\n' "$R_OUT" | sed -n 1p)" "HTTP/1.1 100 Continue" "Expect: 100 Continue comes before the body is sent"
is "$R_NRESP" 1 "Expect: nothing but the 100 before the body"
# header, then the body 500 ms later
hraw "$PORT1" 'POST /exp2 HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello' \
    -s 87 -d 500 -t 3000
like "$(printf '%s\n' "$R_OUT" | sed -n 1p)" '^HTTP/1\.1 100 Continue$' "Expect: 100 Continue first"
like "$R_OUT" '^HTTP/1\.1 200 ' "Expect: then the final 200"
like "$R_OUT" 'hello$' "Expect: the body reached the backend"
unlike "$R_OUT" '^Expect:' "Expect is not passed to the backend"
hraw "$PORT1" 'POST /exp3 HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello' -t 3000
unlike "$R_OUT" '100 Continue' "Expect from an HTTP/1.0 client gets no 100"

# --- server_tokens, Date
hreq "$U/tokens"
like "$(hhdr Server)" '^[A-Za-z]+/[0-9]+\.[0-9]+' "server_tokens on (default): Server with a version"
is "$(hhdr Server | wc -l | tr -d ' ')" 1 "one Server header (the backend's is not passed)"
like "$(hhdr Date)" '^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$' \
    "Date header in RFC 7231 form"
hreq "http://127.0.0.1:$PORT2/tokens"
is "$H_STATUS" 200 "server_tokens off: 200"
like "$(hhdr Server)" '^[A-Za-z]+$' "server_tokens off: Server without a version"
hraw "$PORT2" 'GET /nosuch HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n' -t 2000
is "$R_STATUS" 400 "an error page: 400"
unlike "$R_OUT" '[0-9]\.[0-9]+\.[0-9]' "server_tokens off: no version in an error page"

# --- request-line basics
hraw "$PORT1" 'GET / HTTP/1.1\r\n\r\n' -t 2000
is "$R_STATUS" 400 "HTTP/1.1 without Host: 400"
hraw "$PORT1" 'GET / HTTP/2.0\r\nHost: h\r\n\r\n' -t 2000
is "$R_STATUS" 505 "HTTP/2.0 request line: 505"
hraw "$PORT1" 'GET /a b HTTP/1.1\r\nHost: h\r\n\r\n' -t 2000
is "$R_STATUS" 400 "a space inside the target: 400"

n=$(grep -c '^req ' "$(backend_log "$PORT9")")
hraw "$PORT1" 'GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n' -t 2000
is "$R_STATUS" 400 "two Host headers: 400"
hraw "$PORT1" 'GET / HTTP/0.9\r\nHost: h\r\n\r\n' -t 2000
is "$R_STATUS" 400 "HTTP/0.9 in a request line: 400 (as nginx)"
hraw "$PORT1" 'get / HTTP/1.1\r\nHost: h\r\n\r\n' -t 2000
is "$R_STATUS" 400 "a lower-case method: 400 (as nginx; never sent on as 'get')"
hraw "$PORT1" 'G1T / HTTP/1.1\r\nHost: h\r\n\r\n' -t 2000
is "$R_STATUS" 400 "a digit in the method: 400"
hraw "$PORT1" 'TRACE / HTTP/1.1\r\nHost: h\r\n\r\n' -t 2000
is "$R_STATUS" 405 "TRACE: 405, as nginx (never proxied)"
is "$R_RC" 0 "...and the connection is closed"
is "$(grep -c '^req ' "$(backend_log "$PORT9")")" "$n" "none of the bad requests reached the backend"

# --- ignore_invalid_headers: names other than letters, digits, "-" (and "_"
# with underscores_in_headers) are dropped by default, kept when off
hraw "$PORT1" 'GET /inv HTTP/1.1\r\nHost: h\r\nX.Dot: 1\r\nX_Under: 2\r\nX-Ok: 3\r\nConnection: close\r\n\r\n'
is "$R_STATUS" 200 "fields with invalid names: the request is served"
like "$R_OUT" '^X-Ok: 3$' "...a valid field reaches the backend"
unlike "$R_OUT" '^X(\.Dot|_Under):' "...X.Dot and X_Under are ignored (ignore_invalid_headers on)"
hraw "$PORT2" 'GET /inv HTTP/1.1\r\nHost: h\r\nX.Dot: 1\r\nX_Under: 2\r\nConnection: close\r\n\r\n'
like "$R_OUT" '^X\.Dot: 1$' "ignore_invalid_headers off: X.Dot is passed"
like "$R_OUT" '^X_Under: 2$' "...and X_Under"

t_wait_lines "$T/access.log" 10
like "$(cat "$T/access.log")" '"GET /get/path\?a=1&b=two HTTP/1\.1" 200 ' "the default access log (combined) saw the GET"

like "$(grep 'closed keepalive connection' "$T/error.log" | head -n 1)" \
    'client 127\.0\.0\.1 closed keepalive connection$' "a client closing a keep-alive connection: nginx's line, alone"
unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"

# --- the http{} lines of Debian's stock nginx.conf and default site load
# unchanged: static-file I/O knobs are checked as nginx checks them and have
# no effect (fulcrum serves no files)
printf 'types { text/html html; }\n' >"$T/mime.types"
fc_conf stock.conf <<'EOF'
@PRELUDE@
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    types_hash_bucket_size 64;
    include mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log @T@/access.log;
    gzip on;
    gzip_static on;
    server {
        listen 127.0.0.1:@PORT1@ default_server;
        root /var/www/html;
        index index.html index.htm index.nginx-debian.html;
        server_name _;
        etag off;
        sendfile_max_chunk 1m;
        location / { sendfile off; proxy_pass http://127.0.0.1:@PORT9@; }
    }
}
EOF
FC_WAIT_PORTS=$PORT1 fc_start stock.conf
ok $? "stock nginx.conf lines (sendfile, tcp_nopush, types_hash_*, index, gzip_static, etag) load"
hraw "$PORT1" 'GET /stock HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
is "$R_STATUS" 200 "...and the server proxies"
fc_stop
for bad in "sendfile maybe" "tcp_nopush 1" "types_hash_max_size 0" "index \"\"" \
    "gzip_static sometimes" "sendfile_max_chunk 1q"; do
    http_check "$bad"
    is $? 1 "\"$bad;\" is refused, as nginx refuses it"
done
http_check "sendfile on; sendfile off"
like "$(cat "$T/fc_run.out")" '"sendfile" directive is duplicate' "sendfile twice: is duplicate"
http_check "index /abs.html last.html"
is $? 0 "an absolute index before the last one passes -t..."
like "$(cat "$T/fc_run.out")" '\[warn\] (.*: )?only the last index in "index" directive should be absolute' \
    "...with nginx's warning"
done_testing
