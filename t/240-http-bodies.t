# 240-http-bodies: request and response bodies through the proxy: chunked
# requests (de-chunked, or passed chunked without request buffering),
# chunked responses kept chunked, close-delimited ones re-framed, 50 MB up
# and down with sha256 checksums, HEAD/204/304 without a body,
# proxy_buffering on/off, proxy_request_buffering off.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf bodies.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    client_max_body_size 100m;
    server {
        listen 127.0.0.1:@PORT1@;
        location / { proxy_pass http://127.0.0.1:@PORT9@; }
        # an error raised before the body is read, served by a proxying page
        location /ep403 { error_page 403 = /eppage; deny all; }
        location /ep413 {
            error_page 413 = /eppage;
            client_max_body_size 2;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /eppage { proxy_pass http://127.0.0.1:@PORT9@; }
        location /v11/ {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /nrb/ {
            proxy_http_version 1.1;
            proxy_request_buffering off;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /trickle/on { proxy_pass http://127.0.0.1:@PORT8@; }
        location /trickle/chunked { proxy_pass http://127.0.0.1:@PORT7@; }
        location /trickle/off {
            proxy_buffering off;
            proxy_pass http://127.0.0.1:@PORT8@;
        }
    }
}
EOF
backend_start reflect "$PORT9"
# PORT8 sends a 100-byte body one byte per 20 ms (the header takes ~0.8 s)
backend_start slow "$PORT7" -t 10 \
    -b "HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nfirst\\r\\nc8\\r\\n$(t_str 200 y)\\r\\n0\\r\\n\\r\\n"
backend_start slow "$PORT8" -t 20 \
    -b "HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\n\\r\\n$(t_str 100 x)"
FC_WAIT_PORTS=$PORT1 fc_start bodies.conf

# As nginx: an error_page that proxies gets the body the error left unread
# (403, 404 from return), or none when it was being discarded (413).
hreq -d hello "http://127.0.0.1:$PORT1/ep403"
is "$H_STATUS" 200 "deny + error_page = /page that proxies: answered (it hung)"
like "$H_BODY" '^GET /eppage HTTP/1\.0' "...the page is asked for with GET"
like "$H_BODY" '^Content-Length: 5' "...with the unread body's length"
like "$H_BODY" '^hello$' "...and the body"
# As nginx: a client that closes (half-closes) before its whole body came
# gets no answer, and the log says 400
hraw "$PORT1" 'POST /gone HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nabc' -c -t 3000
is "$R_OUT" "" "a client gone mid-body: nothing is sent back"
is "$R_RC" 0 "...the connection is closed"
like "$(cat "$T/error.log")" 'client prematurely closed connection' "...logged"
hreq -d hello "http://127.0.0.1:$PORT1/ep413"
is "$H_STATUS" 200 "413 + error_page = /page that proxies: answered"
like "$H_BODY" '^Content-Length: 0' "...with no body (it was discarded)"
ok $? "fulcrum starts" || t_bail "the binary did not start"
U=http://127.0.0.1:$PORT1
sha() { sha256sum | cut -d' ' -f1; }

# --- chunked request bodies
hraw "$PORT1" 'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n'
is "$R_STATUS" 200 "chunked request: 200"
like "$R_HEAD" '^X-Framing: length$' "request buffering on: the backend gets a Content-Length"
like "$R_OUT" '^Content-Length: 12$' "...of the decoded size"
like "$R_OUT" '^hello, world$' "...and the decoded body"
unlike "$R_OUT" '^Transfer-Encoding:' "...no Transfer-Encoding to the backend"
# the rest of the body comes 500 ms after the header and first chunk
first='POST /nrb/c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n'
# shellcheck disable=SC2059 # printf interprets the escapes to count bytes
hraw "$PORT1" "$first"'7\r\n, world\r\n0\r\n\r\n' -s "$(printf "$first" | wc -c)" -d 500
like "$R_HEAD" '^X-Framing: chunked$' "proxy_request_buffering off + HTTP/1.1: passed chunked"
like "$R_OUT" '^hello$' "...with the data"
like "$R_OUT" '^, world$' "...all of it"

# --- chunked and close-delimited responses
hraw "$PORT1" 'GET /v11/r?chunked=1&size=100000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' -t 3000
like "$R_HEAD" '^Transfer-Encoding: chunked$' "a chunked response stays chunked for an HTTP/1.1 client"
unlike "$R_HEAD" '^Content-Length:' "...without Content-Length"
hreq "$U/v11/r?chunked=1&size=100000"
is "$(wc -c <"$T/h.body" | tr -d ' ')" 100000 "...and decodes to the whole body"
hraw "$PORT1" 'GET /v11/r?chunked=1&size=1000 HTTP/1.0\r\n\r\n' -t 3000
unlike "$R_HEAD" '^Transfer-Encoding:' "a chunked response to an HTTP/1.0 client: not chunked"
is "$(sed '1,/^\r$/d' "$T/r.out" | wc -c | tr -d ' ')" 1000 "...the plain body, ended by close"
hraw "$PORT1" 'GET /r?eof=1&size=5000 HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' -t 3000
like "$R_HEAD" '^Transfer-Encoding: chunked$' "a close-delimited response is re-framed chunked for HTTP/1.1"
is "$R_NRESP" 2 "...so the client connection is kept for the next request"
like "$R_OUT" '^GET /after HTTP' "...which is answered"
hreq "$U/r?eof=1&size=5000"
is "$(wc -c <"$T/h.body" | tr -d ' ')" 5000 "...and the body is whole"
hreq "$U/r?size=0"
is "$H_STATUS:$(wc -c <"$T/h.body" | tr -d ' ')" 200:0 "an empty body"

# --- 50 MB down and up
N=52428800
direct=$(curl -q -s --max-time 60 "http://127.0.0.1:$PORT9/d?size=$N" | sha)
got=$(curl -q -s --max-time 60 "$U/d?size=$N" | sha)
is "$got" "$direct" "50 MB down (Content-Length): same sha256 as from the backend directly"
got=$(curl -q -s --max-time 60 "$U/v11/d?size=$N&chunked=1" | sha)
is "$got" "$direct" "50 MB down (chunked): same sha256"
got=$(curl -q -s --max-time 60 "$U/d?size=$N&eof=1" | sha)
is "$got" "$direct" "50 MB down (close-delimited): same sha256"
head -c "$N" /dev/urandom >"$T/up.bin"
up=$(sha <"$T/up.bin")
hreq --max-time 60 --data-binary @"$T/up.bin" -H 'Content-Type: application/octet-stream' "$U/up"
is "$H_STATUS" 200 "50 MB up (Content-Length): 200"
is "$(tail -c "$N" "$T/h.body" | sha)" "$up" "...the backend got it intact (sha256)"
like "$(cat "$T/error.log")" '\[warn\] .*a client request body is buffered to a temporary file /' \
    "...spilled to a temp file: a warning naming it, as nginx"
hreq --max-time 60 --data-binary @"$T/up.bin" -H 'Transfer-Encoding: chunked' "$U/up-chunked"
is "$H_STATUS" 200 "50 MB up (chunked): 200"
is "$(tail -c "$N" "$T/h.body" | sha)" "$up" "...intact (sha256)"
hreq --max-time 60 --data-binary @"$T/up.bin" -H 'Content-Type: application/octet-stream' "$U/nrb/up"
is "$H_STATUS" 200 "50 MB up without request buffering: 200"
is "$(tail -c "$N" "$T/h.body" | sha)" "$up" "...intact (sha256)"
rm -f "$T/up.bin" "$T/h.body"

# --- HEAD, 204 and 304 carry no body: a pipelined request after each
# must come back as the next response, not as garbage
nobody() { # DESC REQUEST-LINE
    hraw "$PORT1" "$2\\r\\nHost: h\\r\\n\\r\\nGET /next HTTP/1.1\\r\\nHost: h\\r\\nConnection: close\\r\\n\\r\\n" -t 3000
    is "$R_NRESP" 2 "$1: the next pipelined request is answered"
    is "$(sed -n '/^\r$/{n;p;q}' "$T/r.out" | cut -c1-9)" "HTTP/1.1 " "$1: the next response starts right after the header"
    unlike "$R_HEAD" '^Transfer-Encoding:' "$1: no chunked framing"
}
nobody HEAD 'HEAD /head HTTP/1.1'
like "$R_HEAD" '^Content-Length: [1-9]' "HEAD: the backend's Content-Length is kept"
nobody 204 'GET /r?status=204 HTTP/1.1'
like "$R_OUT" '^HTTP/1\.1 204 ' "204 passed"
unlike "$R_HEAD" '^Content-Length:' "204: no Content-Length"
nobody 304 'GET /r?status=304 HTTP/1.1'
like "$R_OUT" '^HTTP/1\.1 304 ' "304 passed"
nobody "HEAD of a chunked response" 'HEAD /v11/r?chunked=1 HTTP/1.1'

# --- proxy_buffering: PORT8 trickles its 100-byte body over 2 s
curl -q -s -N --max-time 1.8 -o "$T/off.out" "$U/trickle/off"
n=$(t_size "$T/off.out")
[ "$n" -ge 10 ] && [ "$n" -lt 100 ]
ok $? "proxy_buffering off: bytes reach the client as they come ($n of 100 after 1.8 s)"
curl -q -s -N --max-time 1.8 -o "$T/on.out" "$U/trickle/on"
is "$(t_size "$T/on.out")" 0 "proxy_buffering on: a small body is held until complete (nginx)"
hreq "$U/trickle/on"
is "$H_BODY" "$(t_str 100 x)" "proxy_buffering on: then it comes whole"
# PORT7 trickles a chunked body (10 ms a byte): a 5-byte chunk at ~0.6 s, then
# a 200-byte one until ~2.7 s. As nginx's event pipe, each complete chunk goes
# on at once even with proxy_buffering on.
curl -q -s -N --max-time 1.6 -o "$T/ch.out" "$U/trickle/chunked"
is "$(cat "$T/ch.out")" "first" "proxy_buffering on, chunked: a complete chunk is passed on as it comes (nginx)"
hreq "$U/trickle/chunked"
is "$H_BODY" "first$(t_str 200 y)" "...and the whole body after it"

# --- proxy_request_buffering off: the backend gets the request before the
# body is complete (the client sends the last bytes 2 s later)
req='POST /nrb/late HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabcde'
printf '%s' "${req}fghij" >"$T/late.in"
n=$(backend_count "$PORT9")
"$(helper rawhttp)" -p "$PORT1" -e -s $((${#req} - 14)) -d 2000 -t 5000 "$T/late.in" >"$T/late.out" 2>&1 &
t_track $!
backend_wait_count "$PORT9" $((n + 1)) accept 1
ok $? "proxy_request_buffering off: the backend is connected while the body is still coming"
wait_for 5 grep -q 'abcdefghij' "$T/late.out"
ok $? "...and gets the whole body"
# as nginx: with no body byte yet, the upstream is connected at once all the same
printf 'POST /nrb/none HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello' >"$T/none.in"
hl=$(($(wc -c <"$T/none.in") - 5))
n=$(backend_count "$PORT9")
"$(helper rawhttp)" -p "$PORT1" -s "$hl" -d 2000 -t 5000 "$T/none.in" >"$T/none.out" 2>&1 &
t_track $!
backend_wait_count "$PORT9" $((n + 1)) accept 1
ok $? "proxy_request_buffering off, the head alone so far: the backend is connected at once (nginx)"
wait_for 5 grep -q 'hello' "$T/none.out"
ok $? "...and gets the body when it comes"
sed -i 's,/nrb/late,/late,' "$T/late.in"
n=$(backend_count "$PORT9")
"$(helper rawhttp)" -p "$PORT1" -e -s $((${#req} - 18)) -d 2000 -t 5000 "$T/late.in" >"$T/late2.out" 2>&1 &
t_track $!
backend_wait_count "$PORT9" $((n + 1)) accept 1
isnt $? 0 "proxy_request_buffering on: no backend connection before the body is complete"
wait_for 5 grep -q 'abcdefghij' "$T/late2.out"
ok $? "...then the whole body"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing
